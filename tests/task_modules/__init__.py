"""
Task modules the conformance suite imports in tests, as a starting worker imports its own.

Each registers its tasks on :data:`tests.task_modules.worker.app`, as a worker's
``tasks.py`` registers them on the app it imports (``from app.celery import app``); the
``task_modules`` fixture points it at the test's app and forgets the modules afterwards.
Some fail to import, each in its own way.
"""

#: The password in the error :mod:`.leaks_password` raises while it is imported.
SECRET = "Sup3r-s3cret-pw"

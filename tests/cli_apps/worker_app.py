"""
A worker's app whose tasks are in a module of its own, named in ``imports``.

``check`` imports ``tests.cli_apps.worker_tasks`` as a starting worker does, and checks
its task; ``check --module`` imports the modules named instead.
"""

from __future__ import annotations

from celery import Celery

from cadasta.workertoolbox.conf import Config

app = Celery("worker", set_as_current=False)
app.config_from_object(Config(imports=("tests.cli_apps.worker_tasks",)))

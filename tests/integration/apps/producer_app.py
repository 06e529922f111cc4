"""
A producer-only process: a Celery app configured from ``CELERY_*`` variables alone.

It never calls :func:`~cadasta.workertoolbox.setup.setup_app` and runs no worker, like a
web process that only sends tasks. Run as a module, it sends one task and prints a JSON
line with the task id and whether the app was set up::

    python -m tests.integration.apps.producer_app export.build
"""

from __future__ import annotations

import json
import sys

from celery import Celery

from cadasta.workertoolbox.conf import Config

app = Celery("producer")
app.config_from_object(Config())


def main(task_name: str) -> None:
    """Send the task *task_name* and report its id on standard output."""
    result = app.send_task(task_name)
    print(json.dumps({"id": result.id, "set_up": hasattr(app, "is_set_up")}))


if __name__ == "__main__":
    main(sys.argv[1])

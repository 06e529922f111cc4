"""
A worker's Celery app configured from ``CELERY_*`` variables alone.

``celery -A tests.integration.apps.startup_app worker`` starts a worker of it; the
``worker_init`` handler connected by :mod:`cadasta.workertoolbox.conf` sets it up.
"""

from __future__ import annotations

from celery import Celery

from cadasta.workertoolbox.conf import Config

app = Celery("startup")
app.config_from_object(Config())


@app.task(name="export.build", shared=False)
def build(value: int) -> int:
    """Return twice *value*: a result the worker stores in the result backend."""
    return 2 * value

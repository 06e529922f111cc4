"""
A worker's Celery app configured from ``CELERY_*`` variables alone.

``celery -A tests.integration.apps.startup_app worker`` starts a worker of it; the
``worker_init`` handler connected by :mod:`cadasta.workertoolbox.conf` sets it up. Two of
its tasks fail, for the tests of what reaches Sentry.
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


class ExportRefused(Exception):
    """The failure of ``export.refuse``."""


@app.task(name="export.refuse", shared=False)
def refuse(*args: object, **kwargs: object) -> None:
    """Fail whatever the arguments, without naming them: they may be secrets."""
    raise ExportRefused("the export was refused")


@app.task(name="export.reach_broker", shared=False)
def reach_broker() -> None:
    """Read the broker's URL, as a task may, and fail: the URL is one of its variables."""
    url = app.conf.broker_url
    raise ConnectionError(f"cannot reach the broker ({len(url)} characters)")

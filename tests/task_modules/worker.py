"""The app the task modules of this package register their tasks on: set by the test."""

from __future__ import annotations

from celery import Celery

#: The app under test; ``None`` outside the ``task_modules`` fixture.
app: Celery | None = None


def current() -> Celery:
    """Return the app under test, which a test must have set."""
    assert app is not None, "use the task_modules fixture to set the app under test"
    return app

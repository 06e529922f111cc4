"""
Apps shaped as the library's users build them: each sets itself up before its first send.

The platform overrides ``AMQP.send_task_message``; others override ``Celery.send_task``
or ``Task.apply_async``. Each runs ``setup_app(app, throw=True)`` when the app is not set
up yet, then calls ``super()``. The library's send path must work under each of them.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from celery.app.amqp import AMQP

from cadasta.workertoolbox.setup import setup_app

__all__ = ["APP_SHAPES", "CircuitBreakerAMQP", "SetUpCelery", "SetUpTask", "build", "send"]


class CircuitBreakerAMQP(AMQP):  # type: ignore[misc]
    """The platform's AMQP class: set the app up before its first send, then send."""

    def send_task_message(self, *args: Any, **kwargs: Any) -> Any:
        """Run setup_app once, then Celery's own sender."""
        if not getattr(self.app, "is_set_up", False):
            setup_app(self.app, throw=True)
        return super().send_task_message(*args, **kwargs)


class SetUpCelery(Celery):  # type: ignore[misc]
    """A Celery subclass that sets the app up in send_task, then sends."""

    def send_task(self, *args: Any, **kwargs: Any) -> Any:
        """Run setup_app once, then Celery's send_task."""
        if not getattr(self, "is_set_up", False):
            setup_app(self, throw=True)
        return super().send_task(*args, **kwargs)


class SetUpTask(Task):  # type: ignore[misc]
    """A task class that sets its app up in apply_async, then sends."""

    def apply_async(self, *args: Any, **kwargs: Any) -> Any:
        """Run setup_app once, then Celery's apply_async."""
        if not getattr(self.app, "is_set_up", False):
            setup_app(self.app, throw=True)
        return super().apply_async(*args, **kwargs)


#: Where each shape of app runs setup_app.
APP_SHAPES = ("amqp-class", "celery-subclass", "task-subclass")


def render(value: int = 0) -> int:
    """The body of the task the apps register."""
    return value


def build(shape: str, main: str = "platform") -> Celery:
    """An app of *shape* (one of APP_SHAPES), with the task export.render registered."""
    if shape == "amqp-class":
        app = Celery(main, set_as_current=False, amqp=CircuitBreakerAMQP)
    elif shape == "celery-subclass":
        app = SetUpCelery(main, set_as_current=False)
    else:
        app = Celery(main, set_as_current=False, task_cls=SetUpTask)
    app.task(name="export.render", shared=False)(render)
    return app


def send(app: Celery, shape: str, value: int = 0, **options: Any) -> Any:
    """Send export.render the way *shape* sends: apply_async for the task class, else send_task."""
    if shape == "task-subclass":
        return app.tasks["export.render"].apply_async((value,), **options)
    return app.send_task("export.render", args=(value,), **options)

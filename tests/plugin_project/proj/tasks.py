"""The worker project's tasks: named after their work queue (export.*, msg.*)."""

import time
from typing import Any

from celery import chain, chord, group

from cadasta.workertoolbox.utils import extract_followups
from proj.celery import app


@app.task(name="export.render")
def render(project_id: int) -> str:
    return f"project {project_id} rendered"


@app.task(name="export.now")
def now() -> float:
    """When a worker ran it: the latency tests compare it with when it was sent."""
    return time.time()


@app.task(name="export.add")
def add(x: int, y: int) -> int:
    return x + y


@app.task(name="export.square")
def square(number: int) -> int:
    return number * number


@app.task(name="export.bundle", bind=True)
def bundle(self: Any, squares: list[int]) -> int:
    """A chord's callback: schedules the upload and hands it this task's callbacks."""
    total = sum(squares)
    upload.s(total).apply_async(**extract_followups(self))
    return total


@app.task(name="export.upload")
def upload(total: int) -> str:
    return f"uploaded {total}"


@app.task(name="msg.notify")
def notify(value: Any) -> str:
    return f"notified: {value}"


@app.task(name="stray.job")
def stray() -> None:
    """Named after no queue of QUEUES: no worker would ever run it."""


def render_then_notify(project_id: int) -> Any:
    """A chain: render, then notify."""
    return chain(render.s(project_id), notify.s()).apply_async()


def squares(numbers: list[int]) -> Any:
    """A group: one square per number."""
    return group(square.s(n) for n in numbers).apply_async()


def export_all(numbers: list[int]) -> Any:
    """A chord whose callback (bundle) hands its own callback (notify) to the upload."""
    return chord((square.s(n) for n in numbers), bundle.s()).apply_async(link=notify.s())

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery import Celery, chain, chord
from celery.contrib.testing.worker import start_worker

from cadasta.workertoolbox.utils import ColorFormatter, extract_followups

RED, RESET = "\x1b[1;31m", "\x1b[0m"


class Recorder:
    """What the callbacks of a test received, waited for across the worker's thread."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self._changed = threading.Condition()

    def add(self, name: str, value: Any) -> None:
        """Record that the callback *name* received *value*."""
        with self._changed:
            self.calls.append((name, value))
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 10) -> list[tuple[str, Any]]:
        """Return the calls once there are *count* of them, or when *timeout* has passed."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.calls) >= count, timeout)
            return list(self.calls)


class ExportFailed(Exception):
    """The failure of a test task."""


@pytest.fixture
def recorder() -> Recorder:
    """A fresh record of callback calls."""
    return Recorder()


@pytest.fixture
def app(make_app: Callable[..., Celery], recorder: Recorder) -> Celery:
    """An app configured with Config whose tasks hand their callbacks on, or not."""
    app = make_app(
        result_backend="cache+memory://",
        queues=["export"],
        imports=(),
        broker_transport_options={"polling_interval": 0.05},
    )

    @app.task(shared=False, name="export.add")
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(shared=False, name="export.fail")
    def fail(*args: Any) -> None:
        raise ExportFailed("the work failed")

    @app.task(shared=False, name="export.total")
    def total(values: list[int]) -> int:
        return sum(values)

    @app.task(shared=False, name="export.record")
    def record(value: Any) -> None:
        recorder.add("link", value)

    @app.task(shared=False, name="export.record_error")
    def record_error(task_id: str) -> None:
        recorder.add("link_error", task_id)

    @app.task(shared=False, name="export.fan_out", bind=True)
    def fan_out(self: Any, x: int, work: str = "add", then_fail: bool = False) -> str:
        followups = extract_followups(self)
        recorder.add("followups", followups)
        if work == "chord":
            chord([add.s(x, 1), add.s(x, 2)], total.s()).apply_async(**followups)
        else:
            last = add.s(100) if work == "add" else fail.s()
            chain(add.s(x, 1), last).apply_async(**followups)
        if then_fail:
            raise ExportFailed("the parent failed after handing off")
        return "parent's own result"

    return app


@pytest.fixture
def worker(app: Celery) -> Iterator[None]:
    """A real worker thread consuming the work queue of *app*."""
    with start_worker(app, perform_ping_check=False, pool="solo", queues=["export"]):
        yield


@pytest.mark.usefixtures("worker")
@pytest.mark.parametrize(("work", "expected"), [("add", 102), ("chord", 5)])
def test_callbacks_run_once_with_the_result_of_the_scheduled_work(
    app: Celery, recorder: Recorder, work: str, expected: int
) -> None:
    """The parent's link runs once, with the result of the chain or chord it scheduled."""
    fan_out = app.tasks["export.fan_out"]
    record = app.tasks["export.record"]
    result = fan_out.apply_async((1,), {"work": work}, link=record.s())

    assert result.get(timeout=10) == "parent's own result"
    calls = recorder.wait_for(2)
    # A callback the parent still held was sent before its result was stored, so it is
    # queued ahead of this task and has run once this one has.
    app.tasks["export.add"].delay(0, 0).get(timeout=10)

    assert [name for name, _ in recorder.calls] == ["followups", "link"]
    assert calls[1] == ("link", expected)
    followups = calls[0][1]
    assert [callback.task for callback in followups["link"]] == ["export.record"]
    assert followups["link_error"] is None


@pytest.mark.usefixtures("worker")
def test_errbacks_run_when_the_scheduled_work_fails(app: Celery, recorder: Recorder) -> None:
    """The parent's link_error runs when the last task of the work it scheduled fails."""
    fan_out = app.tasks["export.fan_out"]
    result = fan_out.apply_async(
        (1,), {"work": "fail"}, link_error=app.tasks["export.record_error"].s()
    )

    assert result.get(timeout=10) == "parent's own result"
    calls = recorder.wait_for(2)

    assert [name for name, _ in calls] == ["followups", "link_error"]
    failed = app.AsyncResult(calls[1][1])
    assert failed.id != result.id
    assert isinstance(failed.result, ExportFailed)
    assert [errback.task for errback in calls[0][1]["link_error"]] == ["export.record_error"]


@pytest.mark.usefixtures("worker")
def test_errbacks_still_run_when_the_parent_fails_after_handing_off(
    app: Celery, recorder: Recorder
) -> None:
    """Errbacks are kept: the parent's own failure after the hand-off still reaches them."""
    fan_out = app.tasks["export.fan_out"]
    result = fan_out.apply_async(
        (1,),
        {"then_fail": True},
        link=app.tasks["export.record"].s(),
        link_error=app.tasks["export.record_error"].s(),
    )

    with pytest.raises(ExportFailed):
        result.get(timeout=10)
    calls = recorder.wait_for(3)

    assert sorted(calls[1:], key=str) == [("link", 102), ("link_error", result.id)]


def test_a_task_without_followups_hands_on_none(app: Celery, recorder: Recorder) -> None:
    """Without link or link_error, both are None, so apply_async(**followups) adds none."""
    result = app.tasks["export.fan_out"].apply((1,))

    assert result.get() == "parent's own result"
    assert recorder.calls[0] == ("followups", {"link": None, "link_error": None})


def test_a_task_called_directly_has_no_followups(app: Celery) -> None:
    """Outside a worker, a task's request has no callbacks: both are None."""
    assert extract_followups(app.tasks["export.add"]) == {"link": None, "link_error": None}


def _record(level: int, message: str = "disk %s full") -> logging.LogRecord:
    return logging.LogRecord("export", level, __file__, 1, message, ("/srv",), None)


@pytest.mark.parametrize(
    ("level", "colour"),
    [
        (logging.DEBUG, "\x1b[1;34m"),
        (logging.WARNING, "\x1b[1;33m"),
        (logging.ERROR, RED),
        (logging.CRITICAL, "\x1b[1;35m"),
    ],
)
def test_color_formatter_colours_a_line_by_its_level(level: int, colour: str) -> None:
    """With use_color, a line is wrapped in the ANSI colour of its level."""
    formatter = ColorFormatter("%(levelname)s %(message)s")

    line = formatter.format(_record(level))

    assert line == f"{colour}{logging.getLevelName(level)} disk /srv full{RESET}"


def test_color_formatter_leaves_info_plain() -> None:
    """INFO lines stay plain, as in Celery's worker output."""
    assert ColorFormatter().format(_record(logging.INFO)) == "disk /srv full"


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO, logging.ERROR])
def test_color_formatter_without_colour_is_plain(level: int) -> None:
    """With use_color false, no line carries an escape sequence."""
    formatter = ColorFormatter("%(levelname)s: %(message)s", use_color=False)

    line = formatter.format(_record(level))

    assert line == f"{logging.getLevelName(level)}: disk /srv full"


def test_color_formatter_takes_a_date_format() -> None:
    """The date format shapes %(asctime)s, as for logging.Formatter."""
    formatter = ColorFormatter("%(asctime)s", use_color=False, datefmt="%Y")
    record = _record(logging.INFO)
    record.created = 0.0

    assert formatter.format(record) in {"1970", "1969"}

from collections.abc import Callable
from typing import Any

import pytest
from billiard.einfo import ExceptionInfo
from celery import Celery, Task
from celery.canvas import Signature
from celery.exceptions import ChordError, MaxRetriesExceededError, Retry
from kombu.utils.uuid import uuid

from cadasta.workertoolbox._chord_unlock import (
    CHORD_UNLOCK_TASK,
    _fail_chord_body,
    annotation,
    apply_cap,
)


class _Chord:
    """A real app on a real result backend, with a chord body whose errback is recorded."""

    def __init__(self, app: Celery) -> None:
        self.app = app
        self.errbacks: list[BaseException] = []

        @app.task(name="export.render", shared=False)  # type: ignore[untyped-decorator]
        def render(x: Any) -> Any:
            return x

        @app.task(name="export.on_error", shared=False)  # type: ignore[untyped-decorator]
        def on_error(request: Any, exc: BaseException, traceback: Any) -> None:
            self.errbacks.append(exc)

        # Unique: the in-memory result backend is shared by every app of the process.
        self.body_id = uuid()
        self.body: Signature = render.s().set(task_id=self.body_id, link_error=[on_error.s()])
        self.unlock: Task = app.tasks[CHORD_UNLOCK_TASK]

    def on_failure(self, exc: BaseException, args: tuple[Any, ...]) -> None:
        """Call chord_unlock's on_failure as Celery's tracer does: handling the exception."""
        try:
            raise exc
        except BaseException as raised:
            self.unlock.on_failure(raised, "unlock-id", args, {}, ExceptionInfo())

    @property
    def body_state(self) -> str:
        return str(self.app.AsyncResult(self.body_id).state)


@pytest.fixture
def chord(make_app: Callable[..., Celery]) -> _Chord:
    """A chord body on an app with an in-memory result backend, chord_unlock capped at 2."""
    app = make_app(result_backend="cache+memory://", CHORD_UNLOCK_MAX_RETRIES=2)
    return _Chord(app)


def test_annotation() -> None:
    """The annotation caps the retries and fails the chord body on giving up."""
    assert annotation(7) == {"max_retries": 7, "on_failure": _fail_chord_body}


def test_apply_cap_on_any_app() -> None:
    """apply_cap caps chord_unlock of the app given, and of no other app."""
    app, other = Celery("capped", set_as_current=False), Celery("other", set_as_current=False)
    try:
        apply_cap(app, 12)
        unlock = app.tasks[CHORD_UNLOCK_TASK]
        assert unlock.max_retries == 12
        assert unlock.on_failure.__func__ is _fail_chord_body
        assert other.tasks[CHORD_UNLOCK_TASK].max_retries is None
    finally:
        app.close()
        other.close()


def test_the_cap_comes_from_the_configuration(chord: _Chord) -> None:
    """An app configured with Config has chord_unlock capped without any set-up call."""
    assert chord.unlock.max_retries == 2
    assert chord.unlock.on_failure.__func__ is _fail_chord_body


@pytest.mark.parametrize("exc", [ValueError("boom"), Retry(), ChordError("other")])
def test_other_failures_are_left_alone(chord: _Chord, exc: BaseException) -> None:
    """A failure other than running out of retries leaves the chord body alone."""
    chord.on_failure(exc, ("group-id", chord.body))
    assert chord.body_state == "PENDING"
    assert chord.errbacks == []


@pytest.mark.parametrize("args", [(), ("group-id",)])
def test_without_a_body_nothing_is_failed(chord: _Chord, args: tuple[Any, ...]) -> None:
    """Without the group id and body among its arguments, there is nothing to fail."""
    chord.on_failure(MaxRetriesExceededError(), args)
    assert chord.body_state == "PENDING"
    assert chord.errbacks == []


@pytest.mark.parametrize("as_dict", [False, True])
def test_giving_up_fails_the_body(chord: _Chord, as_dict: bool) -> None:
    """Out of retries, the body is stored as failed with a ChordError; its errbacks run."""
    body = dict(chord.body) if as_dict else chord.body
    chord.on_failure(MaxRetriesExceededError(), ("group-id", body))
    result = chord.app.AsyncResult(chord.body_id)
    assert result.state == "FAILURE"
    assert isinstance(result.result, ChordError)
    assert str(result.result) == (
        "chord group-id did not complete: celery.chord_unlock gave up after 2 retries "
        "(CHORD_UNLOCK_MAX_RETRIES)"
    )
    assert [str(exc) for exc in chord.errbacks] == [str(result.result)]


def test_a_body_without_id_is_failed_too(chord: _Chord) -> None:
    """A body that was never given an id is failed under a new one; its errbacks run."""
    body = chord.body.clone()
    body.options.pop("task_id")
    chord.on_failure(MaxRetriesExceededError(), ("group-id", body))
    assert len(chord.errbacks) == 1
    assert isinstance(chord.errbacks[0], ChordError)


def test_a_body_already_failed_gets_the_reason_only(chord: _Chord) -> None:
    """A body Celery already failed gets the cap's reason; its errbacks do not run again."""
    chord.app.backend.mark_as_failure(chord.body_id, ChordError("failed by Celery"))
    chord.on_failure(MaxRetriesExceededError(), ("group-id", chord.body))
    result = chord.app.AsyncResult(chord.body_id)
    assert result.state == "FAILURE"
    assert "(CHORD_UNLOCK_MAX_RETRIES)" in str(result.result)
    assert chord.errbacks == []


def test_a_header_that_never_completes(chord: _Chord) -> None:
    """
    Celery's real chord_unlock, polling a header that never completes, gives up.

    Its errback runs once, whether Celery or the cap's on_failure fails the body, whose
    result names CHORD_UNLOCK_MAX_RETRIES.
    """
    header = chord.app.AsyncResult(uuid())
    unlocked = chord.unlock.apply(
        args=("group-id", chord.body), kwargs={"result": [header.as_tuple()]}
    )
    assert isinstance(unlocked.result, MaxRetriesExceededError)
    assert chord.body_state == "FAILURE"
    assert "(CHORD_UNLOCK_MAX_RETRIES)" in str(chord.app.AsyncResult(chord.body_id).result)
    assert len(chord.errbacks) == 1
    assert isinstance(chord.errbacks[0], ChordError)

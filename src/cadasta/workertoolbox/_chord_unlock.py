"""
The cap on ``celery.chord_unlock`` retries.

On a database result backend Celery polls a chord's header with the
``celery.chord_unlock`` task, retrying every ``result_chord_retry_interval`` seconds
(1 s by default) with ``max_retries=None``: a header that never completes is polled
forever (celery/celery#1700, #2725). The cap ends the polling after
``CHORD_UNLOCK_MAX_RETRIES`` attempts and marks the chord's body as failed, calling its
errbacks, so that nobody waits for a result that will never come.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CHORD_UNLOCK_TASK", "DEFAULT_MAX_RETRIES", "annotation", "apply_cap"]

CHORD_UNLOCK_TASK = "celery.chord_unlock"

#: The default of ``CHORD_UNLOCK_MAX_RETRIES``: at Celery's default
#: ``result_chord_retry_interval`` of 1 s, a chord is polled for at least 12 hours.
DEFAULT_MAX_RETRIES = 43200


def _fail_chord_body(
    task: Any, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
) -> None:
    """
    Mark the chord's body failed when ``celery.chord_unlock`` gives up.

    Recent Celery versions (5.7 among them) fail the body themselves before giving up and
    run its errbacks; the body's result then only gets this reason, so that they run once.
    """
    from celery.canvas import maybe_signature
    from celery.exceptions import ChordError
    from celery.states import READY_STATES

    if not isinstance(exc, task.MaxRetriesExceededError) or len(args) < 2:
        return
    group_id, body = args[0], maybe_signature(args[1], app=task.app)
    reason = ChordError(
        f"chord {group_id} did not complete: celery.chord_unlock gave up after "
        f"{task.max_retries} retries (CHORD_UNLOCK_MAX_RETRIES)"
    )
    backend = task.app.backend
    if body.id and backend.get_state(body.id) in READY_STATES:
        backend.mark_as_failure(body.id, reason, call_errbacks=False)
    else:
        backend.chord_error_from_stack(body, reason)


def annotation(max_retries: int) -> dict[str, Any]:
    """Return the ``task_annotations`` entry that caps ``celery.chord_unlock``."""
    return {"max_retries": max_retries, "on_failure": _fail_chord_body}


def apply_cap(app: Any, max_retries: int) -> None:
    """
    Cap ``celery.chord_unlock`` on *app* where its annotations have not.

    Annotations (the cap :class:`~cadasta.workertoolbox.conf.Config` puts in
    ``task_annotations``, or a user's own entry) are applied by Celery when the task is
    bound; this fills in only what they left at Celery's defaults, so that a user's
    ``max_retries`` for ``celery.chord_unlock`` holds in workers too.
    """
    from celery.app.task import Task

    task_class = type(app.tasks[CHORD_UNLOCK_TASK])
    if task_class.max_retries is None:
        task_class.max_retries = max_retries
    if task_class.on_failure is Task.on_failure:
        task_class.on_failure = _fail_chord_body

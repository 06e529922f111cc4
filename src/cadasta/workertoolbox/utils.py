"""
Helpers for the tasks of a worker and for its log output.

:func:`extract_followups` hands a task's callbacks to the tasks it schedules;
:class:`ColorFormatter` colours console log lines by level, as Celery's worker does.
"""

from __future__ import annotations

from typing import Any

from celery.canvas import Signature, maybe_signature
from celery.utils.log import ColorFormatter as _CeleryColorFormatter

__all__ = ["ColorFormatter", "extract_followups"]


def extract_followups(task: Any) -> dict[str, list[Signature] | None]:
    """
    Take the callbacks of the running *task* so that the tasks it schedules run them.

    A task that schedules a chain or a chord finishes before that work is done, and
    Celery would call its callbacks (``link``) with the task's own return value at once.
    Pass the result of this function to the last part of the work instead, so that the
    callbacks run when the work is really done::

        @app.task(bind=True)
        def export(self, project_id):
            chain(render.s(project_id), upload.s()).apply_async(**extract_followups(self))

    The task's callbacks are cleared: Celery reads ``task.request.callbacks`` when the
    task returns, so the handed-off callbacks no longer run with its return value. The
    errbacks (``link_error``) are handed over *and* kept: if the task itself fails after
    this call (say, while publishing the chain), its errbacks still report that failure.
    When both the task and the work it scheduled fail, an errback therefore runs twice,
    once for each failure; silence would be worse.

    The rest of a chain the task belongs to (``task.request.chain``) is not handed
    over: Celery sends it when the task returns, as usual. When the task's own return
    value is not needed, Celery's ``self.replace(signature)`` is an alternative that
    hands over both callbacks and chain.

    Call it right before scheduling the work, after anything that may retry the task: a
    retry sends the task again with the callbacks it still has.

    Args:
        task: The bound task (``self`` of a task declared with ``bind=True``).

    Returns:
        ``{'link': callbacks, 'link_error': errbacks}``, each a list of signatures, or
        ``None`` when the task has none, so that ``apply_async(**followups)`` adds
        nothing then. ``None`` is also what a task called directly, outside a worker,
        gets for both.

    .. versionadded:: 1.0

    """
    request = task.request
    followups = {
        "link": _signatures(request.callbacks, task.app),
        "link_error": _signatures(request.errbacks, task.app),
    }
    request.callbacks = None
    return followups


def _signatures(found: Any, app: Any) -> list[Signature] | None:
    """Return the callbacks *found* in a request as signatures, or ``None`` if none."""
    if not found:
        return None
    return [maybe_signature(callback, app=app) for callback in found]


# Celery ships no type annotations, so its formatter is of type Any to mypy.
class ColorFormatter(_CeleryColorFormatter):  # type: ignore[misc]
    """
    A log formatter that colours each line by its level when *use_color* is true.

    It is Celery's worker formatter (:class:`celery.utils.log.ColorFormatter`): DEBUG
    lines are blue, WARNING yellow, ERROR red, CRITICAL magenta and INFO plain. With
    *use_color* false every line is plain, as for a file or a pipe.

    Args:
        fmt: The format of a line, as for :class:`logging.Formatter`; ``%(message)s``
            when omitted.
        use_color: Whether to colour lines with ANSI escape sequences.
        datefmt: The format of ``%(asctime)s``, as for :class:`logging.Formatter`.

    .. versionadded:: 1.0

    """

    def __init__(
        self, fmt: str | None = None, use_color: bool = True, datefmt: str | None = None
    ) -> None:
        super().__init__(fmt, use_color=use_color, datefmt=datefmt)

"""
The library's one exception family: every error it raises is a :class:`ToolboxError`.

Every mistake in a configuration is reported as a :class:`ConfigError`. When several
settings are wrong, one error lists them all, so a user fixes everything in one pass.
A task that could not be sent to every queue it belongs in is a :class:`PublishError`,
which is also kombu's ``OperationalError``, what code that guards its sends (a circuit
breaker, a retry loop) already counts as a broker failure.
"""

from __future__ import annotations

from collections.abc import Iterable

from kombu.exceptions import OperationalError

__all__ = [
    "ConfigError",
    "MessageTooLargeError",
    "PublishError",
    "ToolboxError",
    "VisibilityTimeoutError",
]


class ToolboxError(Exception):
    """
    The base of every error the library raises.

    .. versionadded:: 1.0

    """


class ConfigError(ToolboxError, ValueError):
    """
    A configuration the library refuses.

    Each problem names the setting or environment variable, shows the bad value (secrets
    masked), says what is accepted and where to change it.

    Args:
        problems: One sentence per problem found.

    .. versionadded:: 1.0

    """

    def __init__(self, problems: str | Iterable[str]) -> None:
        self.problems: tuple[str, ...] = (
            (problems,) if isinstance(problems, str) else tuple(problems)
        )
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            listed = "\n".join(f"  - {problem}" for problem in self.problems)
            message = f"{len(self.problems)} problems in the configuration:\n{listed}"
        super().__init__(message)


class VisibilityTimeoutError(ConfigError):
    """
    A task refused when it was sent: it is due later than the visibility timeout allows.

    The broker delivers a message again once it has stayed unacknowledged for the
    visibility timeout, and a worker keeps a task with a countdown, an ETA or a pending
    retry unacknowledged until it is due: such a task would run more than once. The
    message names the task, its delay, the limit and how to change the setting.

    The keyword arguments are optional so that the error can be rebuilt from its message
    alone, as pickling and Celery's result serialisers do.

    Args:
        problem: What was refused and how to fix it.
        task_name: The name of the task.
        delay: Seconds from the time of sending until the task is due.
        limit: The longest delay accepted, in seconds.
        visibility_timeout: The visibility timeout the limit derives from, in seconds.

    .. versionadded:: 1.0

    """

    def __init__(
        self,
        problem: str,
        *,
        task_name: str | None = None,
        delay: float | None = None,
        limit: float | None = None,
        visibility_timeout: float | None = None,
    ) -> None:
        super().__init__(problem)
        self.task_name = task_name
        self.delay = delay
        self.limit = limit
        self.visibility_timeout = visibility_timeout


class PublishError(ToolboxError, OperationalError):
    """
    A task message that did not reach every queue it belongs in.

    One send of a task is one call to the broker per queue: the platform's monitor queue
    first, then the task's work queue. A call that failed for a passing reason (a server
    error, throttling, a lost connection) was retried on its own until the retry budget
    ran out; calls that had succeeded were not repeated. The message names the task,
    its id, the queues that hold the message and those that do not, and what to do.

    It is a :class:`kombu.exceptions.OperationalError`, as kombu's own broker errors
    are, but not one kombu or Celery retries: retrying the whole send would repeat the
    calls that succeeded.

    The keyword arguments are optional so that the error can be rebuilt from its message
    alone, as pickling and Celery's result serialisers do.

    Args:
        problem: What failed, where the message is and what to do.
        task_name: The name of the task.
        task_id: The id of the task.
        delivered: The queues that hold the message, as the broker names them.
        missing: The queues that do not.

    .. versionadded:: 1.0

    """

    def __init__(
        self,
        problem: str,
        *,
        task_name: str | None = None,
        task_id: str | None = None,
        delivered: Iterable[str] = (),
        missing: Iterable[str] = (),
    ) -> None:
        super().__init__(problem)
        self.task_name = task_name
        self.task_id = task_id
        self.delivered: tuple[str, ...] = tuple(delivered)
        self.missing: tuple[str, ...] = tuple(missing)


class MessageTooLargeError(ToolboxError, ValueError):
    """
    A task message larger than one of its queues accepts, refused before anything is sent.

    The keyword arguments are optional so that the error can be rebuilt from its message
    alone.

    Args:
        problem: The task, the message's size, the limit and what to do.
        task_name: The name of the task.
        task_id: The id of the task.
        size: The size of the message, in bytes, as the broker counts it.
        limit: The largest message the queue accepts, in bytes.
        queue: The queue with that limit, as the broker names it.

    .. versionadded:: 1.0

    """

    def __init__(
        self,
        problem: str,
        *,
        task_name: str | None = None,
        task_id: str | None = None,
        size: int | None = None,
        limit: int | None = None,
        queue: str | None = None,
    ) -> None:
        super().__init__(problem)
        self.task_name = task_name
        self.task_id = task_id
        self.size = size
        self.limit = limit
        self.queue = queue

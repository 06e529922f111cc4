"""
The library's one exception family.

Every mistake in a configuration is reported as a :class:`ConfigError`. When several
settings are wrong, one error lists them all, so a user fixes everything in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ConfigError", "VisibilityTimeoutError"]


class ConfigError(ValueError):
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

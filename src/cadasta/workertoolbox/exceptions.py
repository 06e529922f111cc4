"""The library's one exception family.

Every mistake in a configuration is reported as a :class:`ConfigError`. When several
settings are wrong, one error lists them all, so a user fixes everything in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """A configuration the library refuses.

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

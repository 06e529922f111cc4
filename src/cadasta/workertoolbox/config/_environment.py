"""
Reading settings from the environment.

This is the only module that looks at environment variables. It receives the mapping
to read (``os.environ`` in production, a plain dict in tests) and turns a variable's
text into the type a setting expects.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator, Mapping
from typing import Any

from .._env_prefix import DEFAULT_ENV_PREFIX as DEFAULT_ENV_PREFIX
from .._env_prefix import env_prefix_of as env_prefix_of
from ..exceptions import ConfigError
from ._celery_environment import CELERY_OWN_VARIABLES
from ._secrets import masked_text

__all__ = [
    "DEFAULT_ENV_PREFIX",
    "READ_BY_CELERY",
    "UNPREFIXED_FALLBACKS",
    "Environment",
    "env_prefix_of",
    "parse_value",
    "read_by_celery",
    "read_environment",
]

#: Variables also read without the prefix, as version 0.6 and sentry-sdk read them.
UNPREFIXED_FALLBACKS = frozenset(
    {"SENTRY_DSN", "SENTRY_NAME", "SENTRY_ENVIRONMENT", "SENTRY_RELEASE"}
)

#: Settings Celery reads from these environment variables itself, with precedence over
#: any configuration: the configuration follows the same rule so that it describes what
#: Celery will really use.
READ_BY_CELERY: Mapping[str, str] = {
    "broker_url": "CELERY_BROKER_URL",
    "result_backend": "CELERY_RESULT_BACKEND",
}

_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
#: An empty value is neither: ``CELERY_AT_LEAST_ONCE=""`` is a mistake, not a "no".
_FALSE = frozenset({"0", "false", "no", "off", "n", "f"})

_EXAMPLES: dict[type, str] = {
    bool: "true or false",
    int: "a whole number such as 3",
    float: "a number such as 1.5",
    list: "a list such as ['export', 'msg']",
    tuple: "a tuple such as ('export', 'msg')",
    dict: "a dict such as {'region': 'eu-west-1'}",
}


class Environment:
    """
    The environment variables one configuration reads.

    Args:
        environ: The variables; ``os.environ`` when omitted.
        prefix: The prefix every variable name starts with.

    """

    def __init__(self, environ: Mapping[str, str] | None = None, prefix: str | None = None):
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self.prefix = (
            prefix
            if prefix is not None
            else self._environ.get(f"{DEFAULT_ENV_PREFIX}ENV_PREFIX", DEFAULT_ENV_PREFIX)
        )

    def variable(self, keyword: str) -> str:
        """Return the name of the variable that sets *keyword*."""
        return f"{self.prefix}{keyword.upper()}"

    def lookup(self, keyword: str) -> str | None:
        """Return the raw text of the variable that sets *keyword*, if it is set."""
        return self._environ.get(self.variable(keyword))

    def raw(self, variable: str) -> str | None:
        """Return the text of the environment variable *variable*, prefix or not."""
        return self._environ.get(variable)

    def get(self, keyword: str, default: Any, *, fallback: str | None = None) -> Any:
        """
        Return the value of *keyword* from the environment, or *default*.

        The text is parsed to the type of *default* (see :func:`parse_value`). When the
        prefixed variable is not set, the unprefixed *fallback* variable is read instead.

        Raises:
            ConfigError: The variable is set but does not parse.

        """
        variable = self.variable(keyword)
        raw = self._environ.get(variable)
        if raw is None and fallback is not None:
            variable, raw = fallback, self._environ.get(fallback)
        if raw is None:
            return default
        return parse_value(variable, raw, default)

    def unclaimed(self, claimed: set[str]) -> Iterator[tuple[str, str, str]]:
        """
        Yield ``(variable, setting, raw)`` for the prefixed variables nobody else reads.

        Skipped: the variables Celery or its command line read themselves, and those
        whose lowercased name is in *claimed*.
        """
        for variable in sorted(self._environ):
            if not variable.startswith(self.prefix) or variable in CELERY_OWN_VARIABLES:
                continue
            setting = variable[len(self.prefix) :].lower()
            if setting and setting not in claimed:
                yield variable, setting, self._environ[variable]


def parse_value(variable: str, raw: str, default: Any) -> Any:
    """
    Parse the text *raw* of *variable* to the type of *default*.

    Strings (and a default of ``None``) are taken as they are; booleans accept
    ``true``/``false``, ``yes``/``no``, ``on``/``off``, ``1``/``0``; every other type
    is read as a Python literal with :func:`ast.literal_eval`, never evaluated as code.

    Raises:
        ConfigError: The text does not parse to the expected type.

    """
    if default is None or isinstance(default, str):
        return raw
    expected = type(default)
    if expected is bool:
        word = raw.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise _unparsable(variable, raw, bool)
    try:
        value = ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise _unparsable(variable, raw, expected) from None
    return _coerce(variable, raw, value, expected)


def _coerce(variable: str, raw: str, value: Any, expected: type) -> Any:
    if expected in (list, tuple) and isinstance(value, (list, tuple)):
        return expected(value)
    if expected is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, expected) and not (isinstance(value, bool) and expected is not bool):
        return value
    raise _unparsable(variable, raw, expected)


def _unparsable(variable: str, raw: str, expected: type) -> ConfigError:
    example = _EXAMPLES.get(expected, f"a {expected.__name__} written as a Python literal")
    return ConfigError(
        f"environment variable {variable}={masked_text(variable, raw)} is not a valid "
        f"{expected.__name__}; expected {example}. Fix or unset the variable."
    )


def read_environment(
    environ: Mapping[str, str] | None, prefix: object, problems: list[str]
) -> Environment:
    """
    Return the environment a configuration reads, with the ``ENV_PREFIX`` given.

    A prefix that is not a string is added to *problems*, and the default applies.
    """
    if prefix is not None and not isinstance(prefix, str):
        problems.append(f"ENV_PREFIX={prefix!r} must be a string such as 'CELERY_'.")
    return Environment(environ, prefix if isinstance(prefix, str) else None)


def read_by_celery(environment: Environment, setting: str) -> str | None:
    """
    Return the environment value Celery itself would give *setting* precedence to.

    Celery reads an empty value as unset (``os.environ.get(...) or ...``), and so
    does the configuration.
    """
    return environment.raw(READ_BY_CELERY[setting]) or None

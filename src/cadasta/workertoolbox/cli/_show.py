"""
``celery -A APP toolbox show``: what an app runs with, its secrets masked.

It prints the Celery settings that differ from Celery's defaults, the library's
variables, the names Celery does not know (a misspelt ``CELERY_*`` variable becomes such
a setting, which Celery ignores) with the setting they probably meant, and the queues.

Values are masked in three layers, none of them new: :func:`~._secrets.protect` wraps
secrets by the name they are stored under, as :class:`~.conf.Config` does; Celery's own
censoring (:func:`celery.app.utils.filter_hidden_settings`) hides what its
``HIDDEN_SETTINGS`` match and the passwords of broker and backend URLs; and
:func:`~._secrets.masked` renders the value, masking what Celery's expression does not
match, such as ``SENTRY_DSN``.

Functions are shown by their qualified name, and objects without a ``repr`` of their own
by their class, instead of the ``<function … at 0x…>`` Python gives them.
"""

from __future__ import annotations

import difflib
import pprint
import types
from collections.abc import Iterable, Mapping
from contextlib import suppress
from typing import Any

import click

from .._env_prefix import env_prefix_of
from ..config._secrets import masked, protect
from ..config._variables import LIBRARY_VARIABLES
from ._common import not_configured_note
from ._queues import format_table, topology_of

__all__ = ["LIBRARY_NAMES", "readable", "show", "shown_value", "suggestion"]

#: The library's variables as ``app.conf`` holds them, in the order they are shown.
LIBRARY_NAMES: tuple[str, ...] = ("ENV_PREFIX", *LIBRARY_VARIABLES, "SETUP_SENTRY_LOGGING")
#: Celery's bookkeeping in ``app.conf``, not a setting.
_NOT_SETTINGS = frozenset({"deprecated_settings"})
#: Settings Celery reads from ``CELERY_<NAME>`` ahead of any configuration.
_CELERY_ENVIRONMENT = ("broker_url", "result_backend")
#: Permissions, shown in octal as they are written.
_OCTAL = frozenset({"LOG_FILE_MODE"})
_WIDTH = 100


def shown_value(name: str, value: object) -> str:
    """Return *value* as ``show`` prints it for the setting *name*, secrets masked."""
    if name in _OCTAL and isinstance(value, int) and not isinstance(value, bool):
        return oct(value)
    value = protect(name, value)
    # Celery masks a flag or a number whose name matches (database_create_tables_at_setup),
    # which hides nothing secret; masked() still masks one named like a password.
    if not (value is None or isinstance(value, (bool, int, float))):
        # When kombu cannot parse a URL, Celery's censoring raises; masked() hides it.
        with suppress(Exception):
            value = _celery_censored(name, value)
    value = readable(value)
    text = masked(name, value)
    if text == repr(value) and len(text) > _WIDTH:
        text = pprint.pformat(value, width=_WIDTH)
    return text


class _Shown:
    """Stands for a value in ``show``'s output: its ``repr`` is the given text."""

    __slots__ = ("_text",)

    def __init__(self, text: str) -> None:
        self._text = text

    def __repr__(self) -> str:
        return self._text


#: Functions and methods, Python's and C's: shown by their qualified name.
_FUNCTIONS = (
    types.FunctionType,
    types.MethodType,
    types.BuiltinFunctionType,
    types.BuiltinMethodType,
)


def readable(value: object) -> object:
    """
    Return *value* with each function in it named, for a person to read.

    A function or method becomes its qualified name
    (``cadasta.workertoolbox._chord_unlock._fail_chord_body``), an object whose class keeps
    Python's default ``repr`` becomes ``<module.Class object>``, and dicts, lists and tuples
    are searched; the memory address Python shows for either means nothing to a reader.
    Everything else is returned as it is.
    """
    if type(value) is dict:
        return {key: readable(item) for key, item in value.items()}
    if type(value) is list:
        return [readable(item) for item in value]
    if type(value) is tuple:  # a named tuple has a repr of its own, kept
        return tuple(readable(item) for item in value)
    if isinstance(value, _FUNCTIONS):
        function = getattr(value, "__func__", value)
        return _Shown(_dotted(function, function.__qualname__))
    kind = type(value)
    if kind.__repr__ is object.__repr__:
        return _Shown(f"<{_dotted(kind, kind.__qualname__)} object>")
    return value


def _dotted(thing: object, qualname: str) -> str:
    module = getattr(thing, "__module__", None)
    return f"{module}.{qualname}" if module else qualname


def _celery_censored(name: str, value: object) -> object:
    from celery.app.utils import filter_hidden_settings

    return filter_hidden_settings({name: value})[name]


def suggestion(name: str) -> str | None:
    """Return the Celery setting or library variable *name* probably meant, if any."""
    from celery.app.defaults import DEFAULTS

    candidates: Iterable[str] = LIBRARY_NAMES if name.isupper() else DEFAULTS
    found = difflib.get_close_matches(name, list(candidates), n=1)
    return found[0] if found else None


def _line(name: str, text: str, note: str = "") -> str:
    lead = f"  {name} = "
    body = text.replace("\n", "\n" + " " * len(lead))
    return f"{lead}{body}{note}"


def _unknown_line(name: str, value: object, prefix: str, environ: Mapping[str, str]) -> str:
    variable = f"{prefix}{name.upper()}"
    source = f" (from {variable})" if variable in environ else ""
    what = "the library has no such variable" if name.isupper() else "Celery has no such setting"
    meant = suggestion(name)
    if meant is None:
        advice = "check its spelling, or remove it"
    elif meant.isupper():
        advice = f"did you mean {meant} ({prefix}{meant})?"
    else:
        advice = f"did you mean {meant} ({prefix}{meant.upper()})?"
    return _line(name, shown_value(name, value), f"{source}: {what} and ignores it; {advice}")


def show(app: Any, *, environ: Mapping[str, str], color: bool | None = None) -> int:
    """
    Print the settings, the library's variables and the queues of *app*.

    Args:
        app: The Celery app.
        environ: The environment the process runs in (``CELERY_BROKER_URL`` and
            ``CELERY_RESULT_BACKEND`` take precedence over the configuration, and
            unknown settings are traced to their variable).
        color: Passed to :func:`click.echo`.

    Returns:
        The exit status: 0.

    """
    from celery.app.defaults import DEFAULTS

    def echo(line: str = "") -> None:
        click.echo(line, color=color)

    note = not_configured_note(app)
    if note is not None:
        click.echo(f"Warning: {note}", err=True, color=color)
    # Never printed as it is: every value goes through shown_value().
    settings = dict(app.conf.table(with_defaults=False, censored=False))
    notes: dict[str, str] = {}
    for name in _CELERY_ENVIRONMENT:
        variable = f"CELERY_{name.upper()}"
        value = environ.get(variable)
        if value and value != settings.get(name):
            settings[name] = value
            notes[name] = f"  (from {variable}, which Celery prefers to the configuration)"
    prefix = env_prefix_of(settings)

    how = "not configured with Config" if note else "configured with Config"
    echo(f"App {app.main or '__main__'!r} ({how})")
    echo()
    echo("Celery settings that differ from Celery's defaults:")
    changed = sorted(
        name for name in settings if name in DEFAULTS and settings[name] != DEFAULTS[name]
    )
    for name in changed:
        echo(_line(name, shown_value(name, settings[name]), notes.get(name, "")))
    if not changed:
        echo("  (none)")
    echo()
    echo("The library's variables:")
    variables = [name for name in LIBRARY_NAMES if name in settings]
    for name in variables:
        echo(_line(name, shown_value(name, settings[name])))
    if not variables:
        echo("  (none: the app was not configured with Config)")
    unknown = sorted(
        name
        for name in settings
        if name not in DEFAULTS and name not in LIBRARY_NAMES and name not in _NOT_SETTINGS
    )
    if unknown:
        echo()
        echo("Names that are neither Celery settings nor the library's variables:")
        for name in unknown:
            echo(_unknown_line(name, settings[name], prefix, environ))
    topology = topology_of(app)
    echo()
    echo(f"Queues: {topology.describe()}")
    for line in format_table([row.cells() for row in topology.rows]):
        echo(f"  {line}")
    return 0

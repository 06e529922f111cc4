"""
The task modules of an app, loaded as a starting worker loads them.

A worker imports the modules named in ``imports`` and ``include`` when it starts, and
their tasks register with the app then. A test module that only imports the app (``from
app.celery import app``) sees none of those tasks: the conformance suite would check an
app without tasks, and pass. :func:`load_task_modules` imports them as Celery's loader
does (``app.loader.import_task_module``, with the current directory on ``sys.path``),
one by one, and reports each module that failed instead of raising.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..config._logging import mask_passwords

__all__ = ["TaskModules", "load_task_modules", "task_module_names"]


@dataclass(frozen=True)
class TaskModules:
    """
    What loading an app's task modules did.

    Attributes:
        requested: The modules asked for, in order.
        loaded: Those that imported.
        failed: Those that did not, each with its error (secrets masked).
        as_worker: Whether they are the app's own (``imports``, ``include``), loaded as a
            worker loads them, rather than modules named by the caller.

    """

    requested: tuple[str, ...] = ()
    loaded: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    as_worker: bool = True

    def describe(self) -> str:
        """Say which modules were loaded, for a person."""
        if not self.requested:
            return "no task modules were loaded"
        loaded = ", ".join(self.loaded) or "none"
        how = " as a worker loads them" if self.as_worker else ""
        text = f"task modules loaded{how}: {loaded}"
        if self.failed:
            text += f"; failed: {', '.join(name for name, _ in self.failed)}"
        return text


def task_module_names(app: Any) -> tuple[str, ...]:
    """Return the modules a worker of *app* imports at start: ``imports``, then ``include``."""
    names: list[str] = []
    for setting in ("imports", "include"):
        value = app.conf.get(setting) or ()
        names.extend([value] if isinstance(value, str) else [str(name) for name in value])
    return tuple(dict.fromkeys(names))


def load_task_modules(app: Any, names: Iterable[str], as_worker: bool = True) -> TaskModules:
    """
    Import each of *names* as *app*'s worker would, and report what happened.

    A module that raises while it is imported (an ``ImportError``, a ``SyntaxError``, any
    error of its own, or ``SystemExit``) is reported, not raised. *as_worker* tells
    whether *names* are the app's own modules (see :class:`TaskModules`).
    """
    requested = tuple(dict.fromkeys(names))
    loaded: list[str] = []
    failed: list[tuple[str, str]] = []
    for name in requested:
        try:
            app.loader.import_task_module(name)
        except (Exception, SystemExit) as error:
            failed.append((name, f"{type(error).__name__}: {mask_passwords(str(error))}"))
        else:
            loaded.append(name)
    return TaskModules(requested, tuple(loaded), tuple(failed), as_worker)

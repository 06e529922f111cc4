"""The variables Celery reads itself are rebuilt from the installed Celery and compared."""

import re
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import celery
import click
from celery.bin.celery import celery as celery_command

from cadasta.workertoolbox.config._celery_environment import CELERY_OWN_VARIABLES

#: An environment look-up of a literal CELERY_ name: ``os.environ.get('CELERY_X')``,
#: ``os.environ['CELERY_X']``, ``os.getenv('CELERY_X')``, and Celery's helpers
#: ``_int_env('CELERY_X', …)`` or ``envvar='CELERY_X'`` that read the environment.
_ENVIRON_LOOKUP = re.compile(
    r"(?:environ(?:\.get|\.setdefault|\.pop)?|getenv|_env|envvar)\s*[\(\[=]\s*"
    r"['\"](CELERY_[A-Z0-9_]+)['\"]"
)


def _command_line_variables(command: click.Command, prefix: str = "CELERY") -> Iterator[str]:
    """
    Yield the variables click reads for *command* and its sub-commands.

    ``celery`` runs with ``auto_envvar_prefix="CELERY"``: an option of a sub-command is
    read from ``CELERY_{SUBCOMMAND}_{OPTION}``, one of ``celery`` from ``CELERY_{OPTION}``;
    any parameter may also name its own ``envvar``.
    """
    for param in command.params:
        if isinstance(param, click.Option) and param.allow_from_autoenv and param.name:
            yield f"{prefix}_{param.name.upper()}"
        if isinstance(param.envvar, str):
            yield param.envvar
        elif param.envvar:
            yield from param.envvar
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _command_line_variables(sub, f"{prefix}_{name.upper()}".replace("-", "_"))


def _relevant(variables: Iterator[str]) -> set[str]:
    return {v for v in variables if v.startswith("CELERY_") and v.isidentifier()}


def test_the_command_line_variables_are_known() -> None:
    """
    Every CELERY_ variable Celery's command line reads is never taken as a setting.

    Sub-commands that packages plug in (``celery.commands`` entry points, this library's
    ``toolbox`` among them) are not Celery's and are left out.
    """
    plugins = {entry.name for entry in entry_points(group="celery.commands")}
    celery_only = click.Group(
        "celery",
        params=celery_command.params,
        commands={n: c for n, c in celery_command.commands.items() if n not in plugins},
    )
    variables = _relevant(_command_line_variables(celery_only))
    # The walk finds the command line's options: the list below cannot pass by accident.
    assert {"CELERY_APP", "CELERY_WORKER_CONCURRENCY", "CELERY_BEAT_SCHEDULE"} <= variables
    assert sorted(variables - CELERY_OWN_VARIABLES) == []


def test_the_runtime_variables_are_known() -> None:
    """Every CELERY_ variable Celery's sources look up in the environment is known."""
    sources = Path(celery.__file__).parent
    variables: set[str] = set()
    for path in sources.rglob("*.py"):
        if "tests" not in path.relative_to(sources).parts:
            variables |= set(_ENVIRON_LOOKUP.findall(path.read_text(encoding="utf-8")))
    assert {"CELERY_LOG_LEVEL", "CELERY_LOG_FILE", "CELERY_RDBSIG"} <= variables
    assert {"CELERY_WORKER_REVOKES_MAX", "CELERY_BROKER_URL"} <= variables
    assert sorted(variables - CELERY_OWN_VARIABLES) == []


def test_the_list_is_frozen_and_well_formed() -> None:
    """The list is a frozenset of CELERY_ variable names."""
    assert isinstance(CELERY_OWN_VARIABLES, frozenset)
    assert all(_relevant(iter([name])) for name in CELERY_OWN_VARIABLES)

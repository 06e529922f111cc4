"""
Throwaway user projects: their files written in a folder, and commands run in it.

A test writes a project as its users lay theirs out (``proj/celery.py``, ``app/tasks.py``,
``tests/test_config.py``…) under ``tmp_path`` and runs ``celery``, ``python -m pytest`` or
a worker in that folder, as a user does in a shell: the project's packages are found
because they are in the current directory, not because the test put them on a path.

The commands inherit no ``CELERY_*`` or ``SENTRY_*`` variable of the test process, nor a
variable Celery's command line reads (see :func:`tests.cli_apps.runner.clean_environ`),
nor pytest's own (``PYTEST_ADDOPTS``…). They do inherit ``PYTHONPATH``, made absolute,
so that they import the library under test, whichever checkout the test process runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.cli_apps.runner import clean_environ

from .worker_process import WorkerProcess

#: How long a command of a project (not a worker) may take.
COMMAND_TIMEOUT = 60
#: pytest's variables, which would change how a project's own pytest run behaves.
_PYTEST_VARIABLES = frozenset({"PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_CURRENT_TEST"})


def write_project(root: Path, files: Mapping[str, str]) -> Path:
    """Write *files* (relative path -> text, dedented) under *root*; return *root*."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def user_environ(variables: Mapping[str, str] | None = None) -> dict[str, str]:
    """
    The environment of a user's shell: no Celery or pytest variable, plus *variables*.

    ``PYTHONPATH`` is kept with each entry made absolute: the commands run in the
    project's folder, where a relative entry would name nothing, and the package would
    silently come from wherever else it is installed.
    """
    environ = clean_environ(variables or {})
    for name in _PYTEST_VARIABLES:
        environ.pop(name, None)
    if environ.get("PYTHONPATH"):
        entries = environ["PYTHONPATH"].split(os.pathsep)
        environ["PYTHONPATH"] = os.pathsep.join(os.path.abspath(e) for e in entries if e)
    return environ


def celery_command() -> list[str]:
    """
    The ``celery`` command a user types: the script next to this Python, if installed.

    The script, unlike ``python -m celery``, does not put the current directory on
    ``sys.path``: Celery finds the app, and its task modules, there on its own.
    """
    script = Path(sys.executable).with_name("celery")
    return [str(script)] if script.exists() else [sys.executable, "-m", "celery"]


def run_in(
    project: Path, command: Sequence[str], variables: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run *command* in the folder *project* with a user's environment; capture its output."""
    return subprocess.run(
        list(command),
        cwd=project,
        env=user_environ(variables),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


@contextmanager
def project_worker(
    project: Path, app: str, variables: Mapping[str, str], arguments: Sequence[str], log: Path
) -> Iterator[WorkerProcess]:
    """
    Run ``celery -A app worker *arguments`` in the folder *project*; stop it after.

    Configured by *variables* alone, as a deployment configures a worker; its output goes
    to the file *log*. It stops with SIGTERM (Celery's warm shutdown), or is killed.
    """
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*celery_command(), "-A", app, "worker", *arguments],
            cwd=project,
            env=user_environ(variables),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(process, log)
    try:
        yield worker
    finally:
        worker.stop()

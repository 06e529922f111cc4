"""
Run ``celery … toolbox`` as a user does (a subprocess) and in the test process.

The subprocess inherits no ``CELERY_*`` or ``SENTRY_*`` variable of the test process, nor
the variables Celery's command line reads (``APP``, ``BROKER_URL``…): its configuration is
exactly what the test gives. In-process runs invoke the ``toolbox`` group with the app as Celery's
command line would hand it over, so that coverage sees the implementation.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from celery.bin.base import CLIContext
from click.testing import CliRunner, Result

from cadasta.workertoolbox.cli import toolbox

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Variables ``celery``'s own options read besides ``CELERY_*`` ones.
_CELERY_CLI_VARIABLES = frozenset(
    {"APP", "BROKER_URL", "RESULT_BACKEND", "LOADER", "CONFIG_MODULE", "NO_COLOR", "SKIP_CHECKS"}
)
TIMEOUT = 60


def clean_environ(variables: Mapping[str, str]) -> dict[str, str]:
    """Return this process's environment without Celery's variables, plus *variables*."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("CELERY_", "SENTRY_")) and name not in _CELERY_CLI_VARIABLES
    }
    return {**environ, **variables}


def run_toolbox(
    app_module: str, *args: str, variables: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m celery -A tests.cli_apps.<app_module> toolbox *args*``."""
    module = app_module if "." in app_module else f"tests.cli_apps.{app_module}"
    return subprocess.run(
        [sys.executable, "-m", "celery", "-A", module, "toolbox", *args],
        cwd=REPO_ROOT,
        env=clean_environ(variables or {}),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def invoke(app: Any, *args: str, no_color: bool = True) -> Result:
    """Run ``toolbox *args*`` in this process on *app*, as ``celery -A`` would."""
    context = CLIContext(app=app, no_color=no_color, workdir=None)
    return CliRunner().invoke(toolbox, list(args), obj=context, catch_exceptions=False)

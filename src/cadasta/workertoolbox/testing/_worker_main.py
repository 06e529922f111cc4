"""
A worker subprocess of the pytest plugin: ``python -m … APP worker [OPTIONS]``.

It patches the process for the pool first (gevent must patch before anything else is
imported, as ``celery worker`` does), imports the app at *APP* (``module:name``), points
it at the test's endpoint and result store (JSON in the environment variable
``CADASTA_TOOLBOX_WORKER_SETTINGS``, not on the command line, which any user of the
machine can read: a result backend's URL may hold a password) and runs ``worker``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import MutableMapping, Sequence
from importlib import import_module
from typing import Any

__all__ = ["SETTINGS_VARIABLE", "main", "prepare"]

#: The environment variable that carries the settings the app is pointed at.
SETTINGS_VARIABLE = "CADASTA_TOOLBOX_WORKER_SETTINGS"


def prepare(
    argv: Sequence[str], environ: MutableMapping[str, str] | None = None
) -> tuple[Any, list[str]]:
    """
    Patch for the pool, import the app, point it; return it and the worker's argv.

    The settings are taken out of *environ* (``os.environ`` by default), so that the
    worker's own subprocesses do not inherit them.

    Raises:
        SystemExit: *environ* has no settings: this module is the plugin's, not a command.

    """
    from celery import maybe_patch_concurrency

    environ = os.environ if environ is None else environ
    settings = environ.pop(SETTINGS_VARIABLE, None)
    if settings is None:
        raise SystemExit(
            f"{SETTINGS_VARIABLE} is not set: this module runs the worker of the "
            "cadasta-workertoolbox pytest plugin's toolbox_worker fixture, which sets it"
        )
    import_path, *worker_argv = argv
    maybe_patch_concurrency(["celery", *worker_argv])
    module_name, _, name = import_path.partition(":")
    app = getattr(import_module(module_name), name)
    app.conf.update(json.loads(settings))
    return app, worker_argv


def main(argv: Sequence[str] | None = None) -> None:
    """Run the worker the arguments describe."""
    app, worker_argv = prepare(sys.argv[1:] if argv is None else argv)
    app.worker_main(worker_argv)


if __name__ == "__main__":
    main()

"""
A worker subprocess of the pytest plugin: ``python -m … APP SETTINGS worker [OPTIONS]``.

It patches the process for the pool first (gevent must patch before anything else is
imported, as ``celery worker`` does), imports the app at *APP* (``module:name``), points
it at the test's endpoint and result store (*SETTINGS*, JSON) and runs ``worker``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import Any

__all__ = ["main", "prepare"]


def prepare(argv: Sequence[str]) -> tuple[Any, list[str]]:
    """Patch for the pool, import the app, point it; return it and the worker's argv."""
    from celery import maybe_patch_concurrency

    import_path, settings, *worker_argv = argv
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

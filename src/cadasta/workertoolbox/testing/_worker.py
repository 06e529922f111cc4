"""
A real worker of the app for one test, on the pool the test asks for.

``solo`` runs in a thread of the test process (``WorkController``, as ``celery worker``
builds it, without its logging and signal handlers), so a task and its test can share
objects. ``threads``, ``prefork`` and ``gevent`` run in a ``celery worker`` subprocess:
prefork forks its pool's processes, gevent must patch the process before anything else is
imported, which a test process cannot offer, and the threads pool's threads run tasks
without the test's app as their current app. The subprocess imports the app by
its import path (found in ``sys.modules``, or given) and points it at the same endpoint
and result store as the test's app (:mod:`._worker_main`).

Either way the worker is stopped when the block ends, the test failed or not: a warm
shutdown, then, for a subprocess that has not exited in time, SIGKILL to its process
group, so that no pool process outlives the test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["POOLS", "Worker", "WorkerError", "import_path_of", "running_worker"]

#: The pools a worker can run, and whether it runs in a thread of the test process.
POOLS = {"solo": True, "threads": False, "prefork": False, "gevent": False}
#: How many tasks each pool runs at once.
_CONCURRENCY = {"solo": 1, "threads": 4, "prefork": 2, "gevent": 20}
#: How long a stopping worker may take before it is given up on (a thread) or killed.
STOP_TIMEOUT = 15.0
#: Modules that hold an app without being where it is defined.
_NOT_HOMES = ("celery", "kombu", "cadasta.workertoolbox", "_pytest", "pytest", "__main__")


class WorkerError(RuntimeError):
    """The worker could not start, or was asked for in a way that cannot work."""


@dataclass
class Worker:
    """
    A running worker.

    Args:
        pool: Its pool: ``solo``, ``threads``, ``prefork`` or ``gevent``.
        queues: The queues it consumes, without their prefix.
        process: Its subprocess, for ``prefork`` and ``gevent``.
        log_path: Where the subprocess writes its output.
        controller: The ``WorkController``, for a worker in a thread.

    .. versionadded:: 1.0

    """

    pool: str
    queues: tuple[str, ...]
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    controller: Any = None

    @property
    def log(self) -> str:
        """What the subprocess wrote so far (``''`` for a worker in a thread)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")


def check_pool(pool: str) -> None:
    """
    Refuse a pool the plugin cannot run, or whose package is missing.

    Raises:
        WorkerError: Saying which pools exist, or which extra to install.

    """
    if pool not in POOLS:
        raise WorkerError(
            f"toolbox_worker_pool is {pool!r}; the worker runs one of "
            f"{', '.join(POOLS)}: override the toolbox_worker_pool fixture with one of them"
        )
    if pool == "gevent":
        import importlib.util

        if importlib.util.find_spec("gevent") is None:
            raise WorkerError(
                "the gevent pool needs gevent, which is not installed: "
                'pip install "cadasta-workertoolbox[gevent]"'
            )


def import_path_of(app: Any, modules: dict[str, Any] | None = None) -> str:
    """
    Return ``module:name`` of a module-level variable that holds *app*.

    Modules whose name starts with ``test`` or ``conftest`` come last (they import the
    app from where it is defined), then longer names.

    Raises:
        WorkerError: No module holds *app*.

    """
    found: list[tuple[bool, int, str]] = []
    for module_name, module in list((sys.modules if modules is None else modules).items()):
        if module is None or module_name.startswith(_NOT_HOMES):
            continue
        for name, value in list(vars(module).items()):
            if value is app:
                leaf = module_name.rsplit(".", 1)[-1]
                in_tests = leaf.startswith(("test", "conftest"))
                found.append((in_tests, len(module_name), f"{module_name}:{name}"))
    if not found:
        raise WorkerError(
            f"no module holds the app {app.main!r} in a variable, so a worker subprocess "
            "(prefork, gevent) cannot import it: define the app at module level, or "
            "override the toolbox_app_import_path fixture to return 'package.module:app'"
        )
    return min(found)[2]


@contextmanager
def running_worker(
    app: Any,
    pool: str,
    queues: Sequence[str],
    settings: dict[str, Any],
    log_dir: Path,
    import_path: str | None = None,
    start_timeout: float = 60.0,
) -> Iterator[Worker]:
    """
    Run a worker of *app* on *pool*, consuming *queues*, during the block.

    Args:
        app: The app, already pointed at the test's endpoint.
        pool: ``solo``, ``threads``, ``prefork`` or ``gevent``.
        queues: The queues to consume, without their prefix.
        settings: The settings *app* is pointed at, for a worker subprocess.
        log_dir: Where a worker subprocess writes its output.
        import_path: ``module:name`` of the app, for a subprocess; found when omitted.
        start_timeout: How long the worker may take to be ready.

    Raises:
        WorkerError: The pool is unknown or missing, the app cannot be imported by a
            subprocess, or the worker did not get ready (its output is in the message).

    """
    check_pool(pool)
    if POOLS[pool]:
        with _thread_worker(app, pool, tuple(queues), start_timeout) as worker:
            yield worker
    else:
        path = import_path or import_path_of(app)
        with _process_worker(path, pool, tuple(queues), settings, log_dir, start_timeout) as w:
            yield w


@contextmanager
def _thread_worker(
    app: Any, pool: str, queues: tuple[str, ...], timeout: float
) -> Iterator[Worker]:
    from celery import _state
    from celery.worker import state

    join_will_block, default_app = _state.task_join_will_block(), _state.default_app
    current_app = _state._tls.current_app
    ready = threading.Event()
    controller = app.WorkController(
        hostname=f"toolbox-{pool}@localhost",
        pool=pool,
        concurrency=_CONCURRENCY[pool],
        queues=list(queues),
        ready_callback=lambda consumer: ready.set(),
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
    )
    failure: list[BaseException] = []

    def work() -> None:
        app.set_current()
        try:
            controller.start()
        except BaseException as error:  # reported by the test's thread
            failure.append(error)
            ready.set()

    thread = threading.Thread(target=work, name=f"toolbox-worker-{pool}", daemon=True)
    thread.start()
    try:
        if not ready.wait(timeout) or failure:
            why = f"it failed: {failure[0]!r}" if failure else f"not within {timeout:g} s"
            raise WorkerError(f"the {pool} worker did not get ready: {why}")
        # The solo pool marks the process as one whose tasks must not wait for results;
        # the test is no task.
        _state._set_task_join_will_block(False)
        yield Worker(pool, queues, controller=controller)
    finally:
        # A warm shutdown: the worker's loop checks this flag on every turn.
        state.should_stop = 0
        thread.join(STOP_TIMEOUT)
        state.should_stop = None
        _state._set_task_join_will_block(join_will_block)
        _state.set_default_app(default_app)
        _state._set_current_app(current_app)
        if thread.is_alive():
            raise WorkerError(
                f"the {pool} worker thread did not stop within {STOP_TIMEOUT:g} s: a task "
                "still runs (it is a daemon thread, and ends with the process)"
            )


def _environment(settings: dict[str, Any]) -> dict[str, str]:
    """The subprocess's environment: this one, with this import path and the settings."""
    from ._worker_main import SETTINGS_VARIABLE

    environ = {
        key: value
        for key, value in os.environ.items()
        # Celery reads these itself, over the app's settings.
        if key not in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")
    }
    environ["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
    environ[SETTINGS_VARIABLE] = json.dumps(settings)
    return environ


def _command(import_path: str, pool: str, queues: tuple[str, ...]) -> list[str]:
    """The worker subprocess's command line: no setting in it (see :mod:`._worker_main`)."""
    return [
        sys.executable,
        "-m",
        "cadasta.workertoolbox.testing._worker_main",
        import_path,
        "worker",
        f"--pool={pool}",
        f"--concurrency={_CONCURRENCY[pool]}",
        f"--queues={','.join(queues)}",
        f"--hostname=toolbox-{pool}@localhost",
        "--loglevel=INFO",
        "--without-heartbeat",
        "--without-mingle",
        "--without-gossip",
    ]


@contextmanager
def _process_worker(
    import_path: str,
    pool: str,
    queues: tuple[str, ...],
    settings: dict[str, Any],
    log_dir: Path,
    timeout: float,
) -> Iterator[Worker]:
    log_path = log_dir / f"worker-{pool}.log"
    command = _command(import_path, pool, queues)
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 (our own module, fixed arguments)
            command,
            env=_environment(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = Worker(pool, queues, process=process, log_path=log_path)
    try:
        deadline = time.monotonic() + timeout
        while " ready." not in worker.log:
            if process.poll() is not None or time.monotonic() > deadline:
                why = (
                    f"it exited with status {process.returncode}"
                    if process.returncode is not None
                    else f"not within {timeout:g} s"
                )
                raise WorkerError(
                    f"the {pool} worker ({import_path}) did not get ready: {why}; "
                    f"its output:\n{worker.log}"
                )
            time.sleep(0.05)
        yield worker
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[bytes]) -> int:
    """Stop a worker subprocess warmly, else kill its process group; return its status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT)
    # Pool processes the worker left behind, or the worker itself.
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    return process.wait()

"""The plugin's worker: pools, finding the app for a subprocess, failures to start or stop."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from celery import Celery
from celery.worker import state

from cadasta.workertoolbox.testing import Worker, WorkerError, _worker
from cadasta.workertoolbox.testing._worker import (
    check_pool,
    import_path_of,
    running_worker,
    stop_process,
)
from cadasta.workertoolbox.testing._worker_main import SETTINGS_VARIABLE


def test_an_unknown_pool_is_refused_naming_the_pools() -> None:
    """The fixture's value, the pools that exist, and the fixture to override."""
    with pytest.raises(WorkerError) as raised:
        check_pool("eventlet")
    assert str(raised.value) == (
        "toolbox_worker_pool is 'eventlet'; the worker runs one of solo, threads, prefork, "
        "gevent: override the toolbox_worker_pool fixture with one of them"
    )


def test_the_gevent_pool_without_gevent_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Gevent not installed: the pip command of the gevent extra."""
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "gevent" else find_spec(name)
    )
    with pytest.raises(WorkerError, match=r'pip install "cadasta-workertoolbox\[gevent\]"'):
        check_pool("gevent")
    check_pool("threads")


def module(name: str, **variables: Any) -> ModuleType:
    """A module named *name* holding *variables*."""
    found = ModuleType(name)
    vars(found).update(variables)
    return found


def test_the_app_is_found_where_it_is_defined() -> None:
    """Not in Celery's, the library's or test modules when a module of the project has it."""
    app = object()
    modules = {
        "celery.local": module("celery.local", app=app),
        "cadasta.workertoolbox.x": module("cadasta.workertoolbox.x", app=app),
        "proj.tests.test_tasks": module("proj.tests.test_tasks", app=app),
        "conftest": module("conftest", the_app=app),
        "proj.celery": module("proj.celery", other=object(), app=app),
        "proj": module("proj", celery=object()),
        "gone": None,
    }
    assert import_path_of(app, modules) == "proj.celery:app"
    del modules["proj.celery"]
    assert import_path_of(app, modules) == "conftest:the_app"


def test_an_app_no_module_holds_is_refused_saying_what_to_do(
    make_app: Callable[..., Celery], tmp_path: Path
) -> None:
    """Defined in a function: the fixture to override, for the subprocess pools."""
    app = make_app(main="nowhere")
    with (
        pytest.raises(WorkerError) as raised,
        running_worker(app, "threads", ["celery"], {}, tmp_path),
    ):
        pass
    assert str(raised.value) == (
        "no module holds the app 'nowhere' in a variable, so a worker subprocess "
        "(prefork, gevent) cannot import it: define the app at module level, or override "
        "the toolbox_app_import_path fixture to return 'package.module:app'"
    )


def test_a_workers_log_is_empty_until_written(tmp_path: Path) -> None:
    """No log (a worker in a thread), a log not yet written, a log written."""
    assert Worker("solo", ("celery",)).log == ""
    log = tmp_path / "worker.log"
    worker = Worker("threads", ("celery",), log_path=log)
    assert worker.log == ""
    log.write_bytes(b"ready.\xff")
    assert worker.log == "ready.\ufffd"


class FakeController:
    """A WorkController that fails, never gets ready, or never stops, as told."""

    def __init__(self, behaviour: str, release: threading.Event, **options: Any) -> None:
        self.behaviour = behaviour
        self.release = release
        self.ready_callback = options["ready_callback"]

    def start(self) -> None:
        """Fail, get ready and block until released, or wait to be stopped."""
        if self.behaviour == "fails":
            raise RuntimeError("cannot consume")
        if self.behaviour == "never stops":
            self.ready_callback(None)
            self.release.wait(10)
            return
        while state.should_stop is None:  # "never ready", but stops when told
            time.sleep(0.01)


@pytest.fixture
def fake_controller(
    make_app: Callable[..., Celery], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], Celery]]:
    """An app whose worker in a thread behaves as asked; its thread ends after the test."""
    release = threading.Event()
    monkeypatch.setattr(_worker, "STOP_TIMEOUT", 0.2)

    def make(behaviour: str) -> Celery:
        app = make_app()
        app.WorkController = lambda **options: FakeController(behaviour, release, **options)
        return app

    yield make
    release.set()


@pytest.mark.parametrize(
    ("behaviour", "why"),
    [("fails", "it failed: RuntimeError('cannot consume')"), ("never ready", "not within 0.2 s")],
)
def test_a_thread_worker_that_does_not_get_ready_is_an_error(
    fake_controller: Callable[[str], Celery], tmp_path: Path, behaviour: str, why: str
) -> None:
    """Its failure or the time waited, and its thread is stopped."""
    app = fake_controller(behaviour)
    with (
        pytest.raises(WorkerError) as raised,
        running_worker(app, "solo", ["celery"], {}, tmp_path, start_timeout=0.2),
    ):
        pass
    assert str(raised.value) == f"the solo worker did not get ready: {why}"
    assert state.should_stop is None
    assert [t for t in threading.enumerate() if t.name == "toolbox-worker-solo"] == []


def test_a_thread_worker_that_does_not_stop_is_an_error(
    fake_controller: Callable[[str], Celery], tmp_path: Path
) -> None:
    """A task still running at the end: said so, and the daemon thread is left to end."""
    app = fake_controller("never stops")
    with (
        pytest.raises(WorkerError) as raised,
        running_worker(app, "solo", ["celery"], {}, tmp_path) as worker,
    ):
        assert (worker.pool, worker.queues, worker.process) == ("solo", ("celery",), None)
    assert str(raised.value) == (
        "the solo worker thread did not stop within 0.2 s: a task still runs (it is a "
        "daemon thread, and ends with the process)"
    )


def test_a_worker_subprocess_that_exits_is_an_error_with_its_output(
    make_app: Callable[..., Celery], tmp_path: Path
) -> None:
    """The app's import path cannot be imported: the status and what the worker wrote."""
    with (
        pytest.raises(WorkerError) as raised,
        running_worker(
            make_app(), "threads", ["celery"], {}, tmp_path, import_path="no_such_module:app"
        ),
    ):
        pass
    message = str(raised.value)
    assert message.startswith(
        "the threads worker (no_such_module:app) did not get ready: it exited with status 1; "
        "its output:\n"
    )
    assert "ModuleNotFoundError: No module named 'no_such_module'" in message
    assert (tmp_path / "worker-threads.log").exists()


def test_a_worker_subprocess_not_ready_in_time_is_an_error_and_is_stopped(
    make_app: Callable[..., Celery], tmp_path: Path
) -> None:
    """Waited for no time: said so, and the subprocess is stopped."""
    with (
        pytest.raises(WorkerError, match=r"did not get ready: not within 0 s; its output:"),
        running_worker(
            make_app(), "prefork", ["celery"], {}, tmp_path, "tests.x:app", start_timeout=0
        ),
    ):
        pass


def test_a_worker_subprocess_gets_its_settings_outside_its_command_line(
    make_app: Callable[..., Celery], tmp_path: Path
) -> None:
    """A result backend's password is in the worker's environment, not in ``ps``'s output."""
    secret = "s3cret-pw-4711"
    settings = {"result_backend": f"db+postgresql://u:{secret}@127.0.0.1/results"}
    with (
        pytest.raises(WorkerError, match=r"did not get ready: not within 0 s"),
        running_worker(
            make_app(), "prefork", ["celery"], settings, tmp_path, "tests.x:app", start_timeout=0
        ),
    ):
        pass
    # The subprocess is gone; what it was started with is what _process_worker gives Popen.
    command = _worker._command("tests.x:app", "prefork", ("celery",))
    assert secret not in " ".join(command)
    assert secret in _worker._environment(settings)[SETTINGS_VARIABLE]


def test_a_subprocess_that_ignores_sigterm_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not stopped within STOP_TIMEOUT: its process group is killed; an exited one is left."""
    monkeypatch.setattr(_worker, "STOP_TIMEOUT", 0.2)
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print(1, flush=True); time.sleep(30)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True
    )
    assert process.stdout is not None
    process.stdout.readline()

    assert stop_process(process) == -9
    assert stop_process(process) == -9
    process.stdout.close()

"""
The demo, ``python -m cadasta.workertoolbox.demo``, run as a user runs it and in-process.

As a subprocess: it exits 0 with every task a SUCCESS and every message copied to the
monitor queue, in under 30 s, with SQLite or with PostgreSQL as the result backend; it
says which extra to install when moto is missing; on Ctrl-C it stops at once and leaves
no process and no temporary folder behind. In-process (``main()``): the same run, an
interruption and a database that cannot be reached, each leaving the process as it was.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from celery import _state, signals
from celery.worker import state as worker_state
from sqlalchemy.engine import make_url

from cadasta.workertoolbox.config._secrets import mask_url
from cadasta.workertoolbox.demo import main
from cadasta.workertoolbox.demo._app import BackendUnavailable, create_app, prepare_result_backend
from cadasta.workertoolbox.demo._endpoint import load_server_class, running_endpoint
from cadasta.workertoolbox.demo._worker import WorkerFailed, running_worker

from . import services
from .apps.worker_tasks import engine_for

DEMO = [sys.executable, "-m", "cadasta.workertoolbox.demo"]
#: Every run must end within this; the demo aims at well under half of it.
DEADLINE = 30.0
#: A Ctrl-C must end the demo within this.
INTERRUPT_DEADLINE = 10.0
#: The tasks of a run: the task, the chain (3), the group (3), the chord (3 + body + unlock).
EXPECTED_TASKS = Counter(
    {
        "export.render": 1,
        "export.add": 2,
        "msg.notify": 1,
        "export.square": 6,
        "export.total": 1,
        "celery.chord_unlock": 1,
    }
)
#: A line of the final table.
ROW = re.compile(
    r"^(?P<step>task|chain|group|chord)\s+(?P<task_id>[0-9a-f-]{36})\s+(?P<name>\S+)\s+"
    r"(?P<queue>\S+)\s+(?P<state>[A-Z]+)\s+(?P<result>.+?)\s+"
    r"(?P<copy>yes(, all \d+ messages)?|MISSING \(.*\)|DOUBLED \(.*\))$"
)
MARKER = "CADASTA_DEMO_TEST_MARKER"


@pytest.fixture
def moto() -> None:
    """Skip (or fail, under CI=true) when moto's server, the local extra, is missing."""
    try:
        load_server_class()
    except Exception as error:  # MotoMissing, whatever its cause
        services.unavailable("moto's server", str(error))


@pytest.fixture
def temp_dir(tmp_path: Path) -> Path:
    """A folder of the test's own that the demo uses as its temporary folder (TMPDIR)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    return folder


def demo_environ(temp_dir: Path, marker: str = "") -> dict[str, str]:
    """Return the environment without CELERY_* variables, with TMPDIR set to *temp_dir*."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    return {**environ, "TMPDIR": str(temp_dir), MARKER: marker}


def run_demo(*args: str, environ: dict[str, str], cwd: Path) -> tuple[Any, float]:
    """Run the demo as a subprocess; return the completed process and the seconds taken."""
    started = time.monotonic()
    result = subprocess.run(
        [*DEMO, *args], capture_output=True, text=True, env=environ, cwd=cwd, timeout=90
    )
    return result, time.monotonic() - started


def table_rows(output: str) -> list[dict[str, str]]:
    """The rows of the final table in the demo's *output*."""
    return [match.groupdict() for match in map(ROW.match, output.splitlines()) if match]


def assert_every_task_succeeded_with_its_copy(rows: list[dict[str, Any]]) -> None:
    """The run's tasks are all there, all SUCCESS, each in its work queue and copied."""
    assert Counter(row["name"] for row in rows) == EXPECTED_TASKS
    assert {row["state"] for row in rows} == {"SUCCESS"}
    assert {row["step"] for row in rows} == {"task", "chain", "group", "chord"}
    for row in rows:
        if row["name"].startswith(("export.", "msg.")):
            assert row["queue"] == "demo-" + row["name"].split(".")[0]


def proc_entries() -> Iterator[Path]:
    """The /proc folder of every process; skip where there is no /proc."""
    proc = Path("/proc")
    if not proc.is_dir():
        pytest.skip("no /proc on this platform: cannot look for left-over processes")
    return (entry for entry in proc.iterdir() if entry.name.isdigit())


def children_of(pid: int) -> list[int]:
    """The ids of the processes whose parent is *pid*."""
    children = []
    for entry in proc_entries():
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            children.append(int(entry.name))
    return children


def processes_marked(marker: str) -> list[int]:
    """The ids of the processes whose environment holds the test's *marker*."""
    needle = f"{MARKER}={marker}".encode()
    found = []
    for entry in proc_entries():
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # ended meanwhile, or not ours to read
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def process_state() -> dict[str, Any]:
    """Process-wide state the demo touches, to compare before and after it runs."""
    return {
        "default_app": _state.default_app,
        "current_app": getattr(_state._tls, "current_app", None),
        "join_will_block": _state.task_join_will_block(),
        "should_stop": worker_state.should_stop,
        "publish_receivers": len(signals.after_task_publish.receivers),
        "postrun_receivers": len(signals.task_postrun.receivers),
        "werkzeug_level": logging.getLogger("werkzeug").level,
        "environ": dict(os.environ),
    }


def assert_no_thread_left(before: set[threading.Thread], wait: float = 2.0) -> None:
    """
    No thread started since *before* is still alive, after *wait* seconds at most.

    The endpoint's request threads end as soon as their client's connection closes.
    """
    deadline = time.monotonic() + wait
    while (left := set(threading.enumerate()) - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == set()


# -- as a subprocess --------------------------------------------------------------------


def test_demo_runs_every_task_and_finds_every_copy(
    moto: None, temp_dir: Path, tmp_path: Path
) -> None:
    """
    With no argument the demo exits 0 in under 30 s, its table all SUCCESS and copied.

    Each of the 12 tasks (a task, a chain, a group, a chord with its body and
    celery.chord_unlock) has a row, SUCCESS, and its copy in demo-platform.fifo; the
    output has no colour (not a terminal), and the temporary folder is gone.
    """
    result, seconds = run_demo(environ=demo_environ(temp_dir), cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert seconds < DEADLINE
    rows = table_rows(result.stdout)
    assert_every_task_succeeded_with_its_copy(rows)
    assert all(row["copy"].startswith("yes") for row in rows)
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("OK: all 12 tasks succeeded, and each of their ")
    assert lines[-1].endswith(" s)")
    assert "\033" not in result.stdout
    assert any("results go to db+sqlite:///" in line for line in lines)
    assert list(temp_dir.iterdir()) == []


def test_demo_with_results_in_postgresql_as_json(
    moto: None, database_url: str, temp_dir: Path, tmp_path: Path
) -> None:
    """
    With --result-backend on PostgreSQL and --json, every result is a row there.

    Standard output is only the JSON document; the progress, on standard error, shows
    the URL with its password masked.
    """
    backend = f"db+{database_url}"
    result, seconds = run_demo(
        "--result-backend", backend, "--json", environ=demo_environ(temp_dir), cwd=tmp_path
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert seconds < DEADLINE
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert document["problems"] == []
    tasks = document["tasks"]
    assert_every_task_succeeded_with_its_copy(tasks)
    assert all(task["monitor_copies"] == task["messages"] for task in tasks)
    stored = {task["task_id"] for task in tasks if task["result_stored"]}
    assert len(stored) == 11  # all but celery.chord_unlock, which ignores its result
    query = sa.text("SELECT task_id, status FROM celery_taskmeta")
    with engine_for(database_url).connect() as connection:
        rows = dict(connection.execute(query).all())
    assert {task_id: rows.get(task_id) for task_id in stored} == dict.fromkeys(stored, "SUCCESS")
    assert f"results go to {mask_url(backend)}" in result.stderr
    assert "created the result database" not in result.stderr  # it existed
    password = make_url(database_url).password
    if password:
        assert str(password) not in result.stdout + result.stderr


@pytest.fixture
def missing_database(postgres_admin_url: str) -> Iterator[str]:
    """The superuser URL of a database that does not exist yet; dropped afterwards."""
    name = f"toolbox_missing_{uuid.uuid4().hex[:12]}"
    try:
        yield services.with_database(postgres_admin_url, name)
    finally:
        services.drop_database(postgres_admin_url, name)


def test_demo_creates_a_missing_result_database(
    moto: None, missing_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database the server does not have yet is created, and the results are stored there."""
    assert main(["--result-backend", f"db+{missing_database}"]) == 0

    out = capsys.readouterr().out
    assert "created the result database, which did not exist" in out
    assert_every_task_succeeded_with_its_copy(table_rows(out))
    query = sa.text("SELECT count(*) FROM celery_taskmeta WHERE status = 'SUCCESS'")
    engine = engine_for(missing_database)
    try:
        with engine.connect() as connection:
            assert connection.scalar(query) == 11  # all but celery.chord_unlock
    finally:
        engine.dispose()


def test_a_missing_database_is_created_once(missing_database: str) -> None:
    """The first preparation creates the database and Celery's tables; the next finds them."""
    app = create_app("memory://", f"db+{missing_database}")
    try:
        assert prepare_result_backend(app) is True
        assert prepare_result_backend(app) is False
    finally:
        app.close()
    engine = engine_for(missing_database)
    try:
        assert {"celery_taskmeta", "celery_tasksetmeta"} <= set(
            sa.inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()


@pytest.fixture
def login_role(postgres_admin_url: str) -> Iterator[str]:
    """A role that may log in with the password ``Role-S3cret``, and nothing more; dropped."""
    role = f"demo_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE ROLE \"{role}\" LOGIN PASSWORD 'Role-S3cret'")
        yield role
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        admin.dispose()


def prepare_as(url: str, role: str) -> str:
    """Prepare the demo's result database at *url* as *role*; return why it failed."""
    as_role = make_url(url).set(username=role, password="Role-S3cret")
    app = create_app("memory://", "db+" + as_role.render_as_string(hide_password=False))
    try:
        with pytest.raises(BackendUnavailable) as raised:
            prepare_result_backend(app)
    finally:
        app.close()
    message = str(raised.value)
    assert "Role-S3cret" not in message
    return message


def test_a_missing_database_the_role_may_not_create_says_how_to_create_it(
    postgres_admin_url: str, login_role: str
) -> None:
    """A role without CREATEDB gets the server's refusal and the commands that create it."""
    name = f"toolbox_missing_{uuid.uuid4().hex[:12]}"
    url = make_url(services.with_database(postgres_admin_url, name))

    message = prepare_as(url.render_as_string(hide_password=False), login_role)

    where = f"{url.host}:{url.port or 5432}"
    assert message.startswith(
        f"the result database {name!r} does not exist on {where}, and creating it as "
        f"{login_role!r} failed (ProgrammingError: (psycopg2.errors.InsufficientPrivilege) "
        "permission denied "
    )
    assert f"createdb -h {url.host} -p {url.port or 5432} -U postgres {name}" in message
    assert f'CREATE DATABASE "{name}"' in message


def test_a_database_the_role_may_not_connect_to_is_not_taken_for_a_missing_one(
    database_url: str, login_role: str
) -> None:
    """The database exists: the demo reports why the connection failed, and creates nothing."""
    name = make_url(database_url).database
    engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'REVOKE CONNECT ON DATABASE "{name}" FROM PUBLIC')
    finally:
        engine.dispose()

    message = prepare_as(database_url, login_role)

    assert message.startswith("cannot use the result backend db+postgresql+psycopg2://")
    assert f'permission denied for database "{name}"' in message


def test_demo_without_moto_says_which_extra_to_install(temp_dir: Path, tmp_path: Path) -> None:
    """With moto unimportable, the demo prints one line naming the extra and exits 2."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text("import sys\n\nsys.modules['moto'] = None\n")
    environ = demo_environ(temp_dir)
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim), environ.get("PYTHONPATH")]))

    result, _ = run_demo(environ=environ, cwd=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert 'install the local extra: pip install "cadasta-workertoolbox[local]"' in result.stderr
    assert list(temp_dir.iterdir()) == []


@pytest.mark.parametrize("after", ["SQS endpoint", "worker ready"])
def test_ctrl_c_stops_the_demo_promptly_and_leaves_nothing_behind(
    moto: None, after: str, temp_dir: Path, tmp_path: Path
) -> None:
    """
    SIGINT once the endpoint (or the worker) is up: the demo says it was interrupted.

    It exits with 130 within 10 s, never started a process, leaves none (nothing that
    inherited its environment is left) and has removed its temporary folder.
    """
    marker = uuid.uuid4().hex
    process = subprocess.Popen(
        DEMO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=demo_environ(temp_dir, marker),
        cwd=tmp_path,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        while not any(after in line for line in seen):
            line = lines.get(timeout=DEADLINE)
            assert line is not None, f"the demo ended before {after!r}:\n{''.join(seen)}"
            seen.append(line)
        assert children_of(process.pid) == []
        assert [path.name[:13] for path in temp_dir.iterdir()] == ["cadasta-demo-"]
        interrupted = time.monotonic()
        process.send_signal(signal.SIGINT)
        returncode = process.wait(timeout=INTERRUPT_DEADLINE)
        seconds = time.monotonic() - interrupted
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(5)
    while (line := lines.get(timeout=5)) is not None:
        seen.append(line)

    assert returncode == 130, "".join(seen)
    assert seconds < INTERRUPT_DEADLINE
    assert seen[-1].startswith("interrupted: stopped what the demo had started")
    assert "Traceback" not in "".join(seen)
    assert list(temp_dir.iterdir()) == []
    assert processes_marked(marker) == []


# -- in-process ------------------------------------------------------------------------


def test_main_runs_the_demo_in_process_and_restores_the_process(
    moto: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """
    main([]) returns 0 and leaves no thread, signal receiver or Celery state behind.

    CELERY_BROKER_URL, which Celery prefers to any configuration, is set to a broker
    that does not exist: the demo says it ignores it, and restores it afterwards.
    """
    monkeypatch.setenv("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:1//")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before, threads = process_state(), set(threading.enumerate())
    started = time.monotonic()

    assert main([]) == 0

    assert time.monotonic() - started < DEADLINE
    out = capsys.readouterr().out
    assert "ignoring CELERY_BROKER_URL: the demo brings its own services" in out
    assert_every_task_succeeded_with_its_copy(table_rows(out))
    assert out.splitlines()[-1].startswith("OK: all 12 tasks succeeded")
    assert process_state() == before
    assert_no_thread_left(threads)
    assert list(tmp_path.iterdir()) == []


def test_main_interrupted_while_the_worker_runs_cleans_up(
    moto: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """
    Ctrl-C once the first task is sent: main() returns 130 and leaves nothing behind.

    The KeyboardInterrupt is raised in the main thread right after the demo published
    its first task, while the worker runs it; the subprocess tests send a real SIGINT.
    """
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    interrupted: list[str] = []

    def interrupt(headers: dict[str, Any], **kwargs: Any) -> None:
        if not interrupted and threading.current_thread() is threading.main_thread():
            interrupted.append(headers["task"])
            raise KeyboardInterrupt

    before, threads = process_state(), set(threading.enumerate())
    signals.after_task_publish.connect(interrupt, weak=False)
    try:
        assert main([]) == 130
    finally:
        signals.after_task_publish.disconnect(interrupt)

    assert interrupted == ["export.render"]
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == (
        "interrupted: stopped what the demo had started and removed what it had created"
    )
    assert process_state() == before
    assert_no_thread_left(threads)
    assert list(tmp_path.iterdir()) == []


def test_main_with_a_result_database_out_of_reach_says_why_and_masks_the_password(
    moto: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database nobody listens for fails the demo (1) with the reason, password masked."""
    port = services.free_port()
    url = f"db+postgresql+psycopg2://demo:p%40ss-s3cret@127.0.0.1:{port}/results"
    before, threads = process_state(), set(threading.enumerate())

    assert main(["--result-backend", url]) == 1

    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1].startswith(
        "FAILED: cannot use the result backend "
        f"db+postgresql+psycopg2://demo:********@127.0.0.1:{port}/results: OperationalError: "
    )
    assert "s3cret" not in captured.out + captured.err
    assert process_state() == before
    assert_no_thread_left(threads)


def test_a_worker_that_cannot_reach_its_broker_fails_to_start_and_stops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The worker is given start_timeout seconds to get ready; its thread then ends."""
    app = create_app(f"sqs://demo:demo@127.0.0.1:{services.free_port()}", "db+sqlite://")
    before, threads = process_state(), set(threading.enumerate())
    try:
        with (
            caplog.at_level(logging.CRITICAL),
            pytest.raises(WorkerFailed, match=r"^the worker was not ready within 0\.5 s"),
            running_worker(app, ["celery", "export"], start_timeout=0.5),
        ):
            pytest.fail("the worker cannot be ready")
    finally:
        app.close()
    assert process_state() == before
    assert_no_thread_left(threads)


def test_monitor_reader_decodes_both_bodies_and_waits_for_late_messages(moto: None) -> None:
    """
    The monitor reader (the demo's and the plugin's) reads base64 and plain JSON bodies.

    Asked for more messages than there are, it waits out its timeout; the queue is empty
    afterwards, and every record read is kept in ``seen``.
    """
    from cadasta.workertoolbox.testing import MonitorReader

    with running_endpoint(load_server_class()) as endpoint:
        client = endpoint.client
        url = client.create_queue(QueueName="drained")["QueueUrl"]
        kombu_body = base64.b64encode(json.dumps({"headers": {"id": "a"}}).encode()).decode()
        client.send_message(QueueUrl=url, MessageBody=kombu_body)
        client.send_message(QueueUrl=url, MessageBody=json.dumps({"headers": {"id": "b"}}))
        reader = MonitorReader(client, "drained")
        started = time.monotonic()

        records = reader.read(expected=3, timeout=0.3)

        assert time.monotonic() - started >= 0.3
        assert sorted(record.id for record in records) == ["a", "b"]
        assert reader.read() == []
        assert [record.id for record in reader.seen] == [record.id for record in records]
        assert endpoint.queue_names("drain") == ["drained"]

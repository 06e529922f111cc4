"""
The pytest plugin as a worker project uses it.

tests/plugin_project is run by pytest in a subprocess, the plugin loaded with -p as its
pytest11 entry point loads it. When this session measures coverage, the subprocess and
the worker subprocesses it starts are measured too (:func:`coverage_environment`): the
fixtures and the worker's entry module run nowhere else.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1] / "plugin_project"
SRC = Path(__file__).resolve().parents[2] / "src"


def coverage_environment() -> dict[str, str]:
    """
    The variable that makes a Python subprocess measure coverage as this process does.

    coverage's ``.pth`` file starts measuring in any Python process that finds
    ``COVERAGE_PROCESS_CONFIG`` (what its ``patch = subprocess`` option sets, here for
    these subprocesses only); the configuration names the data file by its absolute path,
    so pytest-cov combines what they write. Empty when coverage is not running.
    """
    try:
        import coverage
    except ImportError:
        return {}
    current = coverage.Coverage.current()
    if current is None:
        return {}
    return {"COVERAGE_PROCESS_CONFIG": current.config.serialize()}


def run_project(
    *arguments: str, environ: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run pytest in the sample project with the plugin, as its own session."""
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "COV_"))},
        **coverage_environment(),
        **(environ or {}),
    }
    environ["PYTHONPATH"] = os.pathsep.join([str(SRC), str(PROJECT)])
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "cadasta.workertoolbox.testing.plugin",
            "-W",
            "ignore::DeprecationWarning",
            *arguments,
        ],
        cwd=PROJECT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_fast_mode_records_a_task_a_chain_a_group_and_a_chord() -> None:
    """The project's fast tests pass: sends recorded with their queues, no broker."""
    run = run_project("test_fast.py", "-q")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "5 passed" in run.stdout


def test_real_mode_runs_the_workflows_on_every_pool() -> None:
    """The project's real tests pass on solo, threads, prefork and gevent."""
    run = run_project("test_real.py", "-q")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "8 passed" in run.stdout, run.stdout


def test_misuse_and_failures_say_what_happened_and_leave_nothing_running() -> None:
    """A stray task fails at once, lookups list every task, a failed test leaks nothing."""
    run = run_project("check_failures.py", "-q", "-p", "no:randomly")
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert "reach no work queue of QUEUES" in out
    assert "'stray.job' goes to exchange 'task_exchange' with routing key 'stray'" in out
    assert "expected one task 'export.upload' to be sent, found 0; 1 task(s) sent:" in out
    assert "export.render(1) id=" in out
    assert out.count("failed on purpose") >= 2
    assert (
        "toolbox_worker_pool is 'gevnet'; the worker runs one of solo, threads, prefork, "
        "gevent: override the toolbox_worker_pool fixture with one of them"
    ) in out
    assert "test_nothing_is_left_running PASSED" in out or "1 passed" in out, out


def test_an_endpoint_named_by_the_variable_is_used_instead_of_motos() -> None:
    """
    CADASTA_TEST_SQS_ENDPOINT=http://HOST:PORT: the session uses it, starts no server.

    A worker on the default pool (solo) runs a task through it.
    """
    from cadasta.workertoolbox.testing._endpoint import load_server_class, running_endpoint

    with running_endpoint(load_server_class()) as endpoint:
        run = run_project(
            "check_settings.py",
            "-k",
            "endpoint_in_use or default_worker",
            "-s",
            environ={"CADASTA_TEST_SQS_ENDPOINT": f" {endpoint.url} "},
        )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"endpoint in use: {endpoint.url}" in run.stdout
    assert "2 passed" in run.stdout


def test_an_endpoint_variable_that_is_no_url_fails_saying_what_to_give() -> None:
    """A value that is not http://HOST:PORT fails the test with what would be accepted."""
    run = run_project(
        "check_settings.py",
        "-k",
        "endpoint_in_use",
        environ={"CADASTA_TEST_SQS_ENDPOINT": "localhost:9324"},
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert (
        "CADASTA_TEST_SQS_ENDPOINT='localhost:9324' is not the URL of an SQS endpoint; "
        "give http://HOST:PORT"
    ) in run.stdout


def test_without_moto_the_endpoint_fixture_says_what_to_install_or_set() -> None:
    """Moto missing and no endpoint named: the extra to install, or the variable to set."""
    run = run_project("check_settings.py", "-k", "without_moto")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "toolbox_sqs_endpoint needs moto's SQS server, which is missing" in run.stdout
    assert 'pip install "cadasta-workertoolbox[local]"' in run.stdout
    assert "or set CADASTA_TEST_SQS_ENDPOINT=http://HOST:PORT" in run.stdout


def test_a_project_that_names_no_app_is_told_how() -> None:
    """Without the toolbox_app override, a fixture fails with the override to write."""
    run = run_project("check_settings.py", "--noconftest", "-k", "without_naming_the_app")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "override the toolbox_app fixture in your conftest.py" in run.stdout
    assert "from proj.celery import app" in run.stdout


def test_a_gevent_worker_of_several_queues_runs_a_task_within_2_s() -> None:
    """
    With the defaults, gevent workers of 2 and of 3 queues each run 5 tasks within 2 s.

    The sends are spread over the polling round.

    The control: each poll waiting 4 s (as each waited 20 s before the fix, kept short
    here), a task sent while the worker polls the other queue waits for that poll.
    """
    run = run_project("test_gevent_polling.py", "-q", "-s")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout, run.stdout

"""
The pytest plugin as a worker project uses it.

tests/plugin_project is run by pytest in a subprocess, the plugin loaded with -p as its
pytest11 entry point loads it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1] / "plugin_project"
SRC = Path(__file__).resolve().parents[2] / "src"


def run_project(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run pytest in the sample project with the plugin, as its own session."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "COV_"))}
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
    run = run_project("test_real.py", "-q", "-rxX")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "7 passed, 1 xfailed" in run.stdout, run.stdout


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
    assert "test_nothing_is_left_running PASSED" in out or "1 passed" in out, out

"""
``celery worker`` subprocesses for the integration tests, with their output in a file.

The subprocess inherits no ``CELERY_*`` variable of the test process: its configuration
is exactly the variables the test gives. It is always stopped when the block ends:
SIGTERM (Celery's warm shutdown), then SIGKILL if it has not exited in time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
#: How long a worker may take to stop after SIGTERM before it is killed.
STOP_TIMEOUT = 20.0


def clean_environment(variables: Mapping[str, str]) -> dict[str, str]:
    """The environment of the test process without ``CELERY_*`` variables, plus *variables*."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    return {**environ, **variables}


class WorkerProcess:
    """A running ``celery worker`` and the file its output goes to."""

    def __init__(self, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.process = process
        self.log_path = log_path

    @property
    def log(self) -> str:
        """Everything the worker has written so far."""
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float) -> None:
        """Wait until the log shows *text*; fail if the worker exits or time runs out."""
        deadline = time.monotonic() + timeout
        while text not in self.log:
            if self.process.poll() is not None:
                pytest.fail(
                    f"worker exited ({self.process.returncode}) before {text!r}:\n{self.log}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"worker did not log {text!r} within {timeout} s:\n{self.log}")
            time.sleep(0.1)

    def stop(self) -> int:
        """Send SIGTERM, wait, kill on timeout; return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait(timeout=STOP_TIMEOUT)


@contextmanager
def celery_worker(
    app: str, variables: Mapping[str, str], arguments: Sequence[str], log_path: Path
) -> Iterator[WorkerProcess]:
    """Run ``celery -A app worker *arguments`` configured by *variables*; stop it after."""
    command = [sys.executable, "-m", "celery", "-A", app, "worker", *arguments]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=clean_environment(variables),
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(process, log_path)
    try:
        yield worker
    finally:
        worker.stop()

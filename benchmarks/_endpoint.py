"""
The SQS endpoint of the benchmarks: moto's server, in a process of its own, on loopback.

A server in its own process starts with no queue and no message, and does its work on
its own interpreter, not on the measuring process's. moto's server gets slower as it
accumulates messages (see ``/work/shared/BENCHMARKING.md``), so every measured run that
publishes or consumes gets a fresh one, unless ``fresh=False`` (the ``--quick`` run),
where runs share one server and use queue prefixes of their own.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass

#: Dummy credentials: moto's server accepts any, and AWS is never reached.
AWS_KEY = "bench-key"
AWS_SECRET = "bench-secret"  # noqa: S105 (a dummy: moto accepts any)
AWS_REGION = "us-west-2"
START_TIMEOUT = 60.0


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on now."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Endpoint:
    """Where a running server listens."""

    port: int

    @property
    def endpoint_url(self) -> str:
        """The HTTP endpoint boto3 talks to."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def broker_url(self) -> str:
        """The Celery broker URL of the endpoint (kombu's SQS transport)."""
        return f"sqs://{AWS_KEY}:{AWS_SECRET}@127.0.0.1:{self.port}"


def _wait_until_serving(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto's server exited at start with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"moto's server did not listen on port {port} within {START_TIMEOUT} s")


@contextmanager
def moto_server() -> Iterator[Endpoint]:
    """Run a new moto server process for the duration of the block, then stop it."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 (our interpreter, fixed arguments)
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_serving(process, port)
        yield Endpoint(port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Servers:
    """Hand out an endpoint per measured run: a fresh server each, or one shared."""

    def __init__(self, fresh: bool) -> None:
        self.fresh = fresh
        self._stack = ExitStack()
        self._shared: Endpoint | None = None
        self._runs = 0
        self._lock = threading.Lock()

    @contextmanager
    def run(self) -> Iterator[tuple[Endpoint, str]]:
        """Yield an endpoint and a queue prefix no earlier run used."""
        with self._lock:
            self._runs += 1
            prefix = f"b{self._runs:03d}"
            if not self.fresh and self._shared is None:
                self._shared = self._stack.enter_context(moto_server())
            shared = self._shared
        if shared is not None:
            yield shared, prefix
            return
        with moto_server() as endpoint:
            yield endpoint, prefix

    def close(self) -> None:
        """Stop the shared server, if one was started."""
        self._shared = None
        self._stack.close()

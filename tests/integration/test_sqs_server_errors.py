"""
A worker whose SQS poll gets a server error goes on polling (works around a kombu 5.7 bug).

A proxy in front of moto's server answers a ``ReceiveMessage`` call with HTTP 503, as SQS
does now and then. kombu's asynchronous SQS client turns such an answer into ``[]``, which
kombu's ``Channel._on_messages_ready`` reads as a dict: the poll raises, and the worker
stops polling the queue (or exits). A worker of an app configured by ``Config`` on SQS
replaces that method when it starts (``_sqs_polling``); the negative control puts kombu's
own method back while the worker runs, and the task sent after the error does not run.
"""

from __future__ import annotations

import http.client
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from celery import Celery
from celery.exceptions import TimeoutError

from .apps.worker_tasks import FAST_SQS_SETTINGS, running_worker
from .services import AWS_KEY, AWS_SECRET, SQSEndpoint

pytestmark = pytest.mark.integration

#: How long a task may take to run once sent, when the worker polls.
TIMEOUT = 15
#: How long the negative control waits for a task that must not run.
CONTROL_TIMEOUT = 8


class FaultyProxy(ThreadingHTTPServer):
    """An HTTP proxy to moto's server that answers the next ``ReceiveMessage`` calls with 503."""

    daemon_threads = True

    def __init__(self, upstream: SQSEndpoint) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = upstream
        self.failures_left = 0
        self.failed = 0
        self.receives = 0
        self.lock = threading.Lock()

    @property
    def broker_url(self) -> str:
        """The Celery broker URL of the proxy."""
        return f"sqs://{AWS_KEY}:{AWS_SECRET}@127.0.0.1:{self.server_address[1]}"

    def fail_next_receives(self, count: int) -> None:
        """Answer the next *count* ``ReceiveMessage`` calls with 503."""
        with self.lock:
            self.failures_left = count

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Report errors, except a client gone away (a worker stopping mid-poll)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def should_fail(self, headers: Any, body: bytes) -> bool:
        """Tell whether to fail this request: a ``ReceiveMessage`` while failures are left."""
        target = str(headers.get("X-Amz-Target", ""))
        receive = target.endswith(".ReceiveMessage") or b"Action=ReceiveMessage" in body
        with self.lock:
            self.receives += receive
            if receive and self.failures_left > 0:
                self.failures_left -= 1
                self.failed += 1
                return True
        return False


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FaultyProxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.server.should_fail(self.headers, body):
            self._answer(503, {"Content-Type": "application/x-amz-json-1.0"}, b"{}")
            return
        upstream = http.client.HTTPConnection(
            self.server.upstream.host, self.server.upstream.port, timeout=60
        )
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            upstream.request("POST", self.path, body=body, headers=headers)
            response = upstream.getresponse()
            content = response.read()
            kept = {
                k: v
                for k, v in response.getheaders()
                if k.lower() not in ("content-length", "connection", "transfer-encoding")
            }
            self._answer(response.status, kept, content)
        finally:
            upstream.close()

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: the test's output is its assertions."""


def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    """Wait until *condition* holds; fail after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {timeout} s: {condition}")
        time.sleep(0.05)


@contextmanager
def faulty_proxy(upstream: SQSEndpoint) -> Iterator[FaultyProxy]:
    """Run a :class:`FaultyProxy` to *upstream* for the duration of the block."""
    proxy = FaultyProxy(upstream)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=5)


@contextmanager
def kombus_own_poll_handling() -> Iterator[None]:
    """Put kombu's own ``Channel._on_messages_ready`` back for the block, then the library's."""
    from kombu.transport.SQS import Channel

    replacement = Channel.__dict__["_on_messages_ready"]
    Channel._on_messages_ready = replacement.__wrapped__  # type: ignore[method-assign]
    try:
        yield
    finally:
        Channel._on_messages_ready = replacement  # type: ignore[method-assign]


@pytest.mark.parametrize("handling", ["library", "kombu"])
def test_worker_runs_a_task_sent_after_its_poll_got_a_server_error(
    sqs_endpoint: SQSEndpoint,
    make_sqs_app: Callable[..., Celery],
    caplog: pytest.LogCaptureFixture,
    handling: str,
) -> None:
    """
    A task sent after a poll answered with 503 runs; with kombu's own handling, it does not.

    The worker logs a warning naming the queue. The negative control shows the kombu
    5.7 bug the library works around: the worker polls no more, and the task waits in SQS.
    """
    polling_logger = logging.getLogger("cadasta.workertoolbox._sqs_polling")
    with faulty_proxy(sqs_endpoint) as proxy, captured(polling_logger, caplog.handler):
        app = make_sqs_app("server-errors", broker_url=proxy.broker_url, **FAST_SQS_SETTINGS)

        @app.task(name="export.echo", shared=False)
        def echo(value: int) -> int:
            return value

        with running_worker(app, queues=("export",)):
            # Before any error, a task runs.
            assert echo.delay(1).get(timeout=TIMEOUT) == 1
            with kombus_own_poll_handling() if handling == "kombu" else nullcontext():
                # A poll made before the block answers with the method of its time: wait
                # for two more, so that the next one is made with the method of the block.
                seen = proxy.receives
                wait_until(lambda: proxy.receives >= seen + 2, TIMEOUT)
                proxy.fail_next_receives(1)
                wait_until(lambda: proxy.failed == 1, TIMEOUT)
                sent = echo.delay(2)
                if handling == "kombu":
                    with pytest.raises(TimeoutError):
                        sent.get(timeout=CONTROL_TIMEOUT)
                    return
                assert sent.get(timeout=TIMEOUT) == 2
    warnings = [r.getMessage() for r in caplog.records if r.name == polling_logger.name]
    assert any("export" in warning and "polling goes on" in warning for warning in warnings)


@contextmanager
def captured(logger: logging.Logger, handler: logging.Handler) -> Iterator[None]:
    """
    Send *logger*'s warnings to *handler* during the block.

    The test worker's logging set-up takes the handlers off the root logger (caplog's
    too) and sets it to ERROR, so the handler goes on *logger* itself.
    """
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
        logger.removeHandler(handler)

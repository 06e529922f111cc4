"""
A faulty SQS endpoint: an HTTP proxy to moto's server that fails the calls it is told to.

The tests point kombu (a broker URL) or boto3 at the proxy, which forwards every call to
moto's server, except those it has been told to fail:

- ``ReceiveMessage``: the next *n* calls are answered with HTTP 503, as SQS does now and
  then (:meth:`FaultySQS.fail_next_receives`);
- ``SendMessage``: the next *n* calls whose ``QueueUrl`` contains a given text fail in one
  of the ways of :class:`Fault` (:meth:`FaultySQS.fail_next_sends`): a server error, a
  throttling error, a connection reset before the call reaches moto (nothing stored), or
  a reset after moto stored the message (stored, the answer lost).

boto3 speaks SQS's JSON protocol: the call is named by the header
``X-Amz-Target: AmazonSQS.<Action>``, and its parameters are a JSON body. The proxy
records every ``SendMessage`` (queue, task id, what it did) in :attr:`FaultySQS.sends`,
in the order the calls arrived.
"""

from __future__ import annotations

import enum
import http.client
import json
import socket
import struct
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .services import AWS_KEY, AWS_SECRET, SQSEndpoint, decode_kombu_message

__all__ = ["Fault", "FaultySQS", "SendRecord", "faulty_sqs"]

_JSON = "application/x-amz-json-1.0"


class Fault(str, enum.Enum):
    """How the proxy fails a ``SendMessage`` call."""

    #: HTTP 500, ``InternalError``: nothing stored.
    SERVER_ERROR = "500"
    #: HTTP 400, ``ThrottlingException``: nothing stored.
    THROTTLE = "throttle"
    #: The connection reset before the call is forwarded: nothing stored, no answer.
    RESET_BEFORE = "reset-before"
    #: The call forwarded, moto stores the message, then the connection reset: no answer.
    RESET_AFTER_STORED = "reset-after-stored"

    @property
    def stores(self) -> bool:
        """Whether moto stores the message of a call failed this way."""
        return self is Fault.RESET_AFTER_STORED


@dataclass(frozen=True)
class SendRecord:
    """One ``SendMessage`` call the proxy received."""

    #: The SQS name of the queue (the last part of ``QueueUrl``).
    queue: str
    #: The task id in the kombu message sent, if it is a task message.
    task_id: str | None
    #: How the proxy failed the call, or ``None`` when moto answered it.
    fault: Fault | None


@dataclass
class _SendRule:
    fault: Fault
    queue_contains: str
    left: int


class FaultySQS(ThreadingHTTPServer):
    """An HTTP proxy to moto's server that fails the calls it is told to fail."""

    daemon_threads = True

    def __init__(self, upstream: SQSEndpoint) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = upstream
        self.lock = threading.Lock()
        #: ``ReceiveMessage`` calls: received, failures still to make, failures made.
        self.receives = 0
        self.receive_failures_left = 0
        self.receives_failed = 0
        self._send_rules: list[_SendRule] = []
        #: Every ``SendMessage`` call, in the order it arrived.
        self.sends: list[SendRecord] = []

    @property
    def endpoint_url(self) -> str:
        """The HTTP endpoint of the proxy, for boto3."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def broker_url(self) -> str:
        """The Celery broker URL of the proxy."""
        return f"sqs://{AWS_KEY}:{AWS_SECRET}@127.0.0.1:{self.server_address[1]}"

    def fail_next_receives(self, count: int) -> None:
        """Answer the next *count* ``ReceiveMessage`` calls with 503."""
        with self.lock:
            self.receive_failures_left = count

    def fail_next_sends(self, fault: Fault, count: int, queue_contains: str) -> None:
        """Fail the next *count* ``SendMessage`` calls whose ``QueueUrl`` has *queue_contains*."""
        with self.lock:
            self._send_rules.append(_SendRule(fault, queue_contains, count))

    def clear_faults(self) -> None:
        """Fail no more calls: forget the failures not made yet."""
        with self.lock:
            self._send_rules.clear()
            self.receive_failures_left = 0

    @property
    def faults_made(self) -> Counter[Fault]:
        """How many ``SendMessage`` calls the proxy failed, by way of failing."""
        with self.lock:
            return Counter(record.fault for record in self.sends if record.fault is not None)

    def sends_of(self, task_id: str) -> list[SendRecord]:
        """The ``SendMessage`` calls of the task *task_id*, in the order they arrived."""
        with self.lock:
            return [record for record in self.sends if record.task_id == task_id]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Report errors, except a client gone away (a worker stopping mid-poll)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def fail_receive(self, target: str, body: bytes) -> bool:
        """Tell whether to fail this call: a ``ReceiveMessage`` while failures are left."""
        receive = target.endswith(".ReceiveMessage") or b"Action=ReceiveMessage" in body
        with self.lock:
            self.receives += receive
            if receive and self.receive_failures_left > 0:
                self.receive_failures_left -= 1
                self.receives_failed += 1
                return True
        return False

    def send_fault(self, target: str, body: bytes) -> Fault | None:
        """Record a ``SendMessage`` call; return how to fail it, or ``None``."""
        if not target.endswith(".SendMessage"):
            return None
        parameters = json.loads(body or b"{}")
        queue_url = str(parameters.get("QueueUrl", ""))
        task_id = _task_id(str(parameters.get("MessageBody", "")))
        with self.lock:
            fault = None
            for rule in self._send_rules:
                if rule.left > 0 and rule.queue_contains in queue_url:
                    rule.left -= 1
                    fault = rule.fault
                    break
            self.sends.append(SendRecord(queue_url.rsplit("/", 1)[-1], task_id, fault))
        return fault


def _task_id(message_body: str) -> str | None:
    """Return the task id of a kombu message body, or ``None`` when it has none."""
    try:
        headers = decode_kombu_message(message_body).get("headers") or {}
    except ValueError:
        return None
    task_id = headers.get("id") if isinstance(headers, dict) else None
    return None if task_id is None else str(task_id)


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    #: Answer at once: without it, headers and body written apart wait for an ACK.
    disable_nagle_algorithm = True
    server: FaultySQS

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = str(self.headers.get("X-Amz-Target", ""))
        if self.server.fail_receive(target, body):
            self._answer(503, {"Content-Type": _JSON}, b"{}")
            return
        fault = self.server.send_fault(target, body)
        if fault is Fault.SERVER_ERROR:
            error = {"__type": "InternalError", "message": "We encountered an internal error."}
            self._answer(500, {"Content-Type": _JSON}, json.dumps(error).encode())
            return
        if fault is Fault.THROTTLE:
            error = {"__type": "ThrottlingException", "message": "Rate exceeded"}
            self._answer(400, {"Content-Type": _JSON}, json.dumps(error).encode())
            return
        if fault is Fault.RESET_BEFORE:
            self._reset()
            return
        status, headers, content = self._forward(body)
        if fault is Fault.RESET_AFTER_STORED:
            self._reset()
            return
        self._answer(status, headers, content)

    def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Make the call on moto's server; return its status, headers and body."""
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
            return response.status, kept, content
        finally:
            upstream.close()

    def _reset(self) -> None:
        """Close the connection with a reset (SO_LINGER 0): the client gets no answer."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()  # its reference to the socket would delay the close
        self.connection.close()

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: the test's output is its assertions."""


@contextmanager
def faulty_sqs(upstream: SQSEndpoint) -> Iterator[FaultySQS]:
    """Run a :class:`FaultySQS` proxy to *upstream* for the duration of the block."""
    proxy = FaultySQS(upstream)
    thread = threading.Thread(target=proxy.serve_forever, name="faulty-sqs", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=5)

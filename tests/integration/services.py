"""
The real services the integration tests talk to, found or started here.

- SQS: moto's server on a free loopback port, reached by kombu, boto3 and pycurl over
  SQS's HTTP API. AWS itself is never contacted.
- PostgreSQL: ``TEST_DATABASE_URL``, else the server on 127.0.0.1:5432, else a throwaway
  cluster started with ``initdb``/``pg_ctl`` where the binaries exist.
- RabbitMQ: ``TEST_AMQP_URL``, else 127.0.0.1:5672 with guest/guest.
- Sentry: :class:`FakeSentry`, an HTTP server on loopback that keeps the envelopes
  sentry-sdk posts to it, so that tests see exactly what would reach Sentry.

A missing service skips the tests that need it, except under ``CI=true``, where it
fails them: CI must never pass by skipping.
"""

from __future__ import annotations

import base64
import gzip
import http.server
import json
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}

#: Dummy credentials: moto's server accepts any, and AWS is never reached.
AWS_KEY = "testing-key"
AWS_SECRET = "testing-secret-value"
AWS_REGION = "us-west-2"


def unavailable(what: str, why: str) -> NoReturn:
    """Skip the test, or fail it under ``CI=true``."""
    message = f"{what} is not available: {why}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing service fails the run)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on now."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """Tell whether something accepts TCP connections on *host*:*port*."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# -- SQS --------------------------------------------------------------------------------


@dataclass
class SQSEndpoint:
    """moto's SQS server on loopback, and ways to look into its queues."""

    host: str
    port: int
    server: Any = field(repr=False)

    @property
    def endpoint_url(self) -> str:
        """The HTTP endpoint boto3 talks to."""
        return f"http://{self.host}:{self.port}"

    @property
    def broker_url(self) -> str:
        """The Celery broker URL of the endpoint (kombu's SQS transport)."""
        return f"sqs://{AWS_KEY}:{AWS_SECRET}@{self.host}:{self.port}"

    def client(self) -> Any:
        """Return a boto3 SQS client for the endpoint."""
        import boto3

        return boto3.client(
            "sqs",
            endpoint_url=self.endpoint_url,
            region_name=AWS_REGION,
            aws_access_key_id=AWS_KEY,
            aws_secret_access_key=AWS_SECRET,
        )

    def queue_names(self, prefix: str) -> list[str]:
        """Return the names of the queues whose name starts with *prefix*."""
        urls = self.client().list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
        return sorted(url.rsplit("/", 1)[1] for url in urls)

    def queue_attributes(self, name: str) -> dict[str, str]:
        """Return all attributes of the queue *name*."""
        client = self.client()
        url = client.get_queue_url(QueueName=name)["QueueUrl"]
        return dict(client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"])

    def drain(self, name: str, wait: float = 0.0) -> list[dict[str, Any]]:
        """
        Receive and delete every message of queue *name*; return the Celery messages.

        Each item is the decoded kombu envelope (``headers``, ``properties``, ``body``…).
        With *wait*, keep polling that many seconds for messages still on their way.
        """
        client = self.client()
        url = client.get_queue_url(QueueName=name)["QueueUrl"]
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait
        while True:
            received = client.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60, WaitTimeSeconds=0
            ).get("Messages", [])
            for message in received:
                messages.append(decode_kombu_message(message["Body"]))
                client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if not received and time.monotonic() >= deadline:
                return messages
            if not received:
                time.sleep(0.2)


def decode_kombu_message(body: str) -> dict[str, Any]:
    """Decode the body of an SQS message written by kombu's SQS transport."""
    try:
        text = base64.b64decode(body, validate=True).decode()
    except ValueError:
        text = body
    decoded: dict[str, Any] = json.loads(text)
    return decoded


def task_id(envelope: dict[str, Any]) -> str:
    """Return the task id of a decoded Celery message (protocol 2)."""
    return str(envelope["headers"]["id"])


def task_name(envelope: dict[str, Any]) -> str:
    """Return the task name of a decoded Celery message (protocol 2)."""
    return str(envelope["headers"]["task"])


@contextmanager
def running_sqs_endpoint() -> Iterator[SQSEndpoint]:
    """Run moto's SQS server on a free loopback port for the duration of the block."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        unavailable("moto's server", 'install the "local" extra: pip install ".[local]"')
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield SQSEndpoint(host=host, port=int(port), server=server)
    finally:
        server.stop()


def unique_prefix() -> str:
    """A queue prefix that no other test uses, so tests share one endpoint safely."""
    return f"t{uuid.uuid4().hex[:10]}"


# -- PostgreSQL ------------------------------------------------------------------------


def postgres_reachable(url: str) -> str | None:
    """Return why *url* cannot be reached, or ``None`` when it can."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))
    except Exception as error:  # any driver error means: not usable
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    finally:
        engine.dispose()
    return None


class ThrowawayPostgres:
    """
    A PostgreSQL cluster of its own, in a temporary folder, on a free port.

    Started with ``initdb`` and ``pg_ctl``; it can be stopped and started again to
    simulate an outage. As root, the cluster runs as the ``postgres`` user.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="toolbox-pg-"))
        self.data = self.directory / "data"
        self._as_user: list[str] = []
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            self._as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.directory, "postgres")

    @staticmethod
    def binaries_available() -> bool:
        """Tell whether ``initdb`` and ``pg_ctl`` are on the PATH."""
        return bool(shutil.which("initdb") and shutil.which("pg_ctl"))

    @property
    def admin_url(self) -> str:
        """The URL of the cluster's superuser ``postgres``, database ``postgres``."""
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        subprocess.run(
            [*self._as_user, *command],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
        )

    def init(self) -> None:
        """Create the cluster (trust authentication, superuser ``postgres``)."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-t", "60", "start",
                  "-l", str(self.directory / "server.log"))  # fmt: skip

    def stop(self) -> None:
        """Stop the server at once (``-m immediate``, like a crash or an outage)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        """Stop the server if it runs and delete its folder."""
        if (self.data / "postmaster.pid").exists():
            with suppress(subprocess.SubprocessError):
                self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def local_postgres_url() -> str:
    """The URL of the PostgreSQL server the integration tests use by default."""
    return os.environ.get(
        "TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
    )


def with_database(url: str, database: str) -> str:
    """Return *url* pointing at *database* instead."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)


def create_database(admin_url: str, name: str) -> str:
    """Create the database *name* and return its URL (same credentials)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    """Drop the database *name*, disconnecting whoever is still connected."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


# -- Redis -----------------------------------------------------------------------------


def redis_url() -> str:
    """The URL of the Redis database the integration tests use (database 15: their own)."""
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_reachable(url: str) -> str | None:
    """Return why the Redis server at *url* cannot be reached, or ``None``."""
    try:
        import redis

        redis.Redis.from_url(url, socket_timeout=3).ping()
    except Exception as error:  # a missing package or any connection error: not usable
        return f"{type(error).__name__}: {error}"
    return None


# -- RabbitMQ --------------------------------------------------------------------------


def amqp_url() -> str:
    """The URL of the RabbitMQ broker the integration tests use."""
    return os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def amqp_reachable(url: str) -> str | None:
    """Return why the AMQP broker at *url* cannot be reached, or ``None``."""
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:  # any transport error means: not usable
        return f"{type(error).__name__}: {error}"
    return None


# -- Sentry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """One envelope sentry-sdk posted: its HTTP headers, its header and its items."""

    http_headers: dict[str, str]
    header: dict[str, Any]
    items: list[tuple[dict[str, Any], bytes]]

    @property
    def events(self) -> list[dict[str, Any]]:
        """The error events (items of type ``event``), decoded."""
        return [json.loads(payload) for header, payload in self.items if header["type"] == "event"]

    @property
    def payloads(self) -> bytes:
        """Every item's payload, as sent: what the envelope carries besides its header."""
        return b"\n".join(payload for _, payload in self.items)


def parse_envelope(body: bytes, http_headers: dict[str, str]) -> Envelope:
    """Parse Sentry's envelope format: a JSON header line, then items (header, payload)."""
    first, _, rest = body.partition(b"\n")
    items: list[tuple[dict[str, Any], bytes]] = []
    while rest.strip():
        line, _, rest = rest.partition(b"\n")
        item_header = json.loads(line)
        if "length" in item_header:
            payload, rest = rest[: item_header["length"]], rest[item_header["length"] :]
            rest = rest.removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((item_header, payload))
    return Envelope(http_headers, json.loads(first), items)


class _EnvelopeHandler(http.server.BaseHTTPRequestHandler):
    """Keep every envelope posted, decompressed; answer 200 as Sentry does."""

    server: _FakeSentryServer

    def do_POST(self) -> None:
        """Keep the envelope."""
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":
            import brotli  # type: ignore[import-not-found]

            body = brotli.decompress(body)
        with self.server.lock:
            self.server.bodies.append((dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing."""


class _FakeSentryServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EnvelopeHandler)
        self.lock = threading.Lock()
        self.bodies: list[tuple[dict[str, str], bytes]] = []


class FakeSentry:
    """
    A Sentry endpoint on loopback that keeps what it receives.

    Give processes :attr:`dsn`; sentry-sdk posts its envelopes to
    ``/api/<project>/envelope/``, which this server keeps, decompressed, in the order they
    arrive. Nothing leaves the machine.
    """

    def __init__(self, key: str = "fakesentrykey") -> None:
        #: The public key of :attr:`dsn`; it travels in every request's auth header.
        self.key = key
        self._server = _FakeSentryServer()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeSentry:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def dsn(self) -> str:
        """The DSN that sends events here."""
        return f"http://{self.key}@127.0.0.1:{self._server.server_address[1]}/1"

    @property
    def envelopes(self) -> list[Envelope]:
        """Every envelope received so far."""
        with self._server.lock:
            bodies = list(self._server.bodies)
        return [parse_envelope(body, headers) for headers, body in bodies]

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every error event received so far."""
        return [event for envelope in self.envelopes for event in envelope.events]

    def wait_for(self, condition: Callable[[list[dict[str, Any]]], bool], timeout: float) -> None:
        """Wait until *condition* holds for the events received; fail after *timeout*."""
        deadline = time.monotonic() + timeout
        while not condition(self.events):
            if time.monotonic() > deadline:
                pytest.fail(f"Sentry did not receive the events expected: {self.events}")
            time.sleep(0.1)

    def clear(self) -> None:
        """Forget what was received."""
        with self._server.lock:
            self._server.bodies.clear()

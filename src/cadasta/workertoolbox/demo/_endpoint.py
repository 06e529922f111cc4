"""
The SQS endpoint of the demo: moto's server on a free loopback port.

moto comes with the ``local`` extra. Its server answers SQS's HTTP API in a thread of
this process; kombu (the broker), boto3 (reading the monitor queue) and pycurl (the
worker's consumer) reach it like AWS. The credentials are dummies: moto accepts any.
"""

from __future__ import annotations

import base64
import gc
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Endpoint", "MotoMissing", "decode_envelope", "load_server_class", "running_endpoint"]

#: Dummy credentials for moto's server; AWS is never contacted.
_KEY = "demo"
_SECRET = "demo-secret"  # noqa: S105 (moto accepts any credentials; nothing is protected)
_REGION = "us-west-2"
_INSTALL = 'pip install "cadasta-workertoolbox[local]"'


class MotoMissing(Exception):
    """moto's server, from the ``local`` extra, cannot be imported."""


def load_server_class() -> Any:
    """
    Return moto's ``ThreadedMotoServer`` class.

    Raises:
        MotoMissing: With a one-line message that says which extra to install.

    """
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as error:
        raise MotoMissing(
            f"the demo needs moto's SQS server, which is missing ({error}); "
            f"install the local extra: {_INSTALL}"
        ) from None
    return ThreadedMotoServer


class Endpoint:
    """
    A running SQS endpoint: how to reach it, and a boto3 client to look into it.

    Args:
        host: The address it listens on.
        port: Its port.

    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._client: Any = None

    @property
    def url(self) -> str:
        """The endpoint's HTTP URL."""
        return f"http://{self.host}:{self.port}"

    @property
    def broker_url(self) -> str:
        """The Celery broker URL of the endpoint, for kombu's SQS transport."""
        return f"sqs://{_KEY}:{_SECRET}@{self.host}:{self.port}"

    @property
    def client(self) -> Any:
        """A boto3 SQS client of the endpoint, made on first use."""
        if self._client is None:
            import boto3  # type: ignore[import-untyped]  # boto3 ships no type hints

            self._client = boto3.session.Session().client(
                "sqs",
                endpoint_url=self.url,
                region_name=_REGION,
                aws_access_key_id=_KEY,
                aws_secret_access_key=_SECRET,
            )
        return self._client

    def close(self) -> None:
        """Close the client's connections, if a client was made."""
        if self._client is not None:
            self._client.close()

    def queue_names(self, prefix: str) -> list[str]:
        """Return the names of the queues on the endpoint whose name starts with *prefix*."""
        urls = self.client.list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
        return sorted(str(url).rsplit("/", 1)[1] for url in urls)

    def drain(self, queue_name: str, expected: int, grace: float = 2.0) -> list[dict[str, Any]]:
        """
        Receive and delete the messages of *queue_name*; return their kombu envelopes.

        Reading stops when the queue is empty and at least *expected* messages were read,
        or when it has stayed empty for *grace* seconds.
        """
        client = self.client
        url = client.get_queue_url(QueueName=queue_name)["QueueUrl"]
        envelopes: list[dict[str, Any]] = []
        deadline = time.monotonic() + grace
        while True:
            received = client.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=0
            ).get("Messages", [])
            if received:
                envelopes += [decode_envelope(message["Body"]) for message in received]
                # A FIFO queue hands out no more of a group until these are deleted.
                client.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": message["ReceiptHandle"]}
                        for n, message in enumerate(received)
                    ],
                )
            elif len(envelopes) >= expected or time.monotonic() >= deadline:
                return envelopes
            else:
                time.sleep(0.1)


def decode_envelope(body: str) -> dict[str, Any]:
    """
    Decode the body kombu's SQS transport gives a message: base64 of a JSON envelope.

    The envelope holds the Celery message: ``headers`` (``id``, ``task``, ``retries``),
    ``properties`` and the encoded ``body``.
    """
    try:
        text = base64.b64decode(body, validate=True).decode()
    except ValueError:
        text = body
    envelope: dict[str, Any] = json.loads(text)
    return envelope


@contextmanager
def running_endpoint(server_class: Any) -> Iterator[Endpoint]:
    """
    Run moto's server (*server_class*) on a free loopback port during the block.

    werkzeug, which serves it, would log every request; it logs only errors meanwhile.
    """
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.ERROR)
    try:
        server = server_class(ip_address="127.0.0.1", port=0, verbose=False)
        # Started outside the inner try: stop() waits for a server that start() did not
        # finish creating (interrupted within its few milliseconds) forever.
        server.start()
        host, port = server.get_host_and_port()
        endpoint = Endpoint(str(host), int(port))
        try:
            yield endpoint
        finally:
            endpoint.close()
            # kombu's SQS channels never close their boto3 and pycurl clients, which sit
            # in reference cycles: collecting them closes their connections, so that the
            # server's request threads end instead of waiting on them.
            gc.collect()
            server.stop()
    finally:
        werkzeug.setLevel(level)

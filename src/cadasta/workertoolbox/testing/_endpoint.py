"""
A local SQS endpoint: moto's server on a free loopback port, or one the user names.

moto comes with the ``local`` extra. Its server answers SQS's HTTP API in a thread of
this process; kombu (the broker), boto3 (reading the monitor queue) and pycurl (the
worker's consumer) reach it like AWS. The credentials are dummies: moto accepts any, and
so do ElasticMQ and LocalStack. The demo and the pytest plugin share this module.
"""

from __future__ import annotations

import base64
import gc
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "Endpoint",
    "MotoMissing",
    "decode_envelope",
    "endpoint_from_url",
    "load_server_class",
    "running_endpoint",
]

#: Dummy credentials for moto's server; AWS is never contacted.
_KEY = "demo"
_SECRET = "demo-secret"  # noqa: S105 (moto accepts any credentials; nothing is protected)
_REGION = "us-west-2"
_INSTALL = 'pip install "cadasta-workertoolbox[local]"'


class MotoMissing(Exception):
    """moto's server, from the ``local`` extra, cannot be imported."""


def load_server_class(user: str = "the demo") -> Any:
    """
    Return moto's ``ThreadedMotoServer`` class.

    Raises:
        MotoMissing: With a one-line message that says which extra to install.

    """
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as error:
        raise MotoMissing(
            f"{user} needs moto's SQS server, which is missing ({error}); "
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

    def __init__(self, host: str, port: int, scheme: str = "http") -> None:
        self.host = host
        self.port = port
        self.scheme = scheme
        self._client: Any = None

    def __repr__(self) -> str:
        return f"<Endpoint {self.url}>"

    @property
    def url(self) -> str:
        """The endpoint's HTTP URL."""
        return f"{self.scheme}://{self.host}:{self.port}"

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


def endpoint_from_url(url: str, variable: str) -> Endpoint:
    """
    Return the endpoint at *url* (``http://host:port``), read from the variable *variable*.

    Raises:
        ValueError: *url* is not an ``http://`` URL with a host and a port.

    """
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "http" or not parts.hostname or port is None:
        raise ValueError(
            f"{variable}={url!r} is not the URL of an SQS endpoint; give http://HOST:PORT, "
            "e.g. http://127.0.0.1:9324 for ElasticMQ or http://127.0.0.1:4566 for "
            "LocalStack, or unset it to start moto's server"
        )
    return Endpoint(parts.hostname, port)


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

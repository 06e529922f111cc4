"""The SQS endpoint of the plugin and the demo: named by URL, or moto's, and its messages."""

from __future__ import annotations

import base64
import sys

import pytest

from cadasta.workertoolbox.testing._endpoint import (
    Endpoint,
    MotoMissing,
    decode_envelope,
    endpoint_from_url,
    load_server_class,
)


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("http://127.0.0.1:9324", "127.0.0.1", 9324),
        (" http://localstack:4566/ ", "localstack", 4566),
    ],
)
def test_an_endpoint_is_read_from_its_url(url: str, host: str, port: int) -> None:
    """http://HOST:PORT, spaces around it ignored: its URL, and kombu's broker URL."""
    endpoint = endpoint_from_url(url, "VARIABLE")

    assert (endpoint.host, endpoint.port) == (host, port)
    assert endpoint.url == f"http://{host}:{port}"
    assert endpoint.broker_url == f"sqs://demo:demo-secret@{host}:{port}"
    assert repr(endpoint) == f"<Endpoint http://{host}:{port}>"


@pytest.mark.parametrize(
    "url", ["localhost:9324", "https://127.0.0.1:9324", "http://127.0.0.1", "http://:9324",
            "http://127.0.0.1:port", "http://127.0.0.1:99999"],
)  # fmt: skip
def test_a_url_that_is_no_endpoint_is_refused_saying_what_to_give(url: str) -> None:
    """The variable, its value, the form expected and examples; or unset it."""
    with pytest.raises(ValueError, match="is not the URL of an SQS endpoint") as raised:
        endpoint_from_url(url, "CADASTA_TEST_SQS_ENDPOINT")

    assert str(raised.value) == (
        f"CADASTA_TEST_SQS_ENDPOINT={url!r} is not the URL of an SQS endpoint; give "
        "http://HOST:PORT, e.g. http://127.0.0.1:9324 for ElasticMQ or "
        "http://127.0.0.1:4566 for LocalStack, or unset it to start moto's server"
    )


def test_closing_an_endpoint_without_a_client_does_nothing() -> None:
    """No client was made: nothing to close, and none is made."""
    endpoint = Endpoint("127.0.0.1", 1)
    endpoint.close()
    assert endpoint._client is None


def test_the_client_is_made_once_and_closed() -> None:
    """The boto3 client is made on first use, for the endpoint's URL, and reused."""
    endpoint = Endpoint("127.0.0.1", 1)
    client = endpoint.client

    assert endpoint.client is client
    assert client.meta.endpoint_url == "http://127.0.0.1:1"
    endpoint.close()


@pytest.mark.parametrize(
    "body",
    [base64.b64encode(b'{"headers": {"id": "a"}}').decode(), '{"headers": {"id": "a"}}'],
    ids=["kombu-base64", "plain-json"],
)
def test_an_envelope_is_decoded_from_base64_or_plain_json(body: str) -> None:
    """Kombu's SQS transport writes base64; other writers plain JSON."""
    assert decode_envelope(body) == {"headers": {"id": "a"}}


def test_without_moto_the_message_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Moto's server cannot be imported: who needs it, why, and the pip command."""
    monkeypatch.setitem(sys.modules, "moto.server", None)

    with pytest.raises(MotoMissing) as raised:
        load_server_class("toolbox_sqs_endpoint")

    message = str(raised.value)
    assert message.startswith("toolbox_sqs_endpoint needs moto's SQS server, which is missing (")
    assert message.endswith('install the local extra: pip install "cadasta-workertoolbox[local]"')
    assert "\n" not in message

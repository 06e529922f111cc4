"""
The library's SQS transport, against moto's SQS inside the process (``mocked_sqs``).

Faults are injected by subclassing the library's channel in the test and making kombu's
``_put`` (one ``SendMessage``) raise as boto3 does. The integration tests run the same
paths against moto's server, with faults on the wire (``tests/integration/faulty_sqs.py``).
"""

from __future__ import annotations

import logging
import string
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)
from celery import Celery
from hypothesis import given
from hypothesis import strategies as st
from kombu import Connection
from kombu.transport import SQS as kombu_sqs

from cadasta.workertoolbox.exceptions import (
    MessageTooLargeError,
    PublishError,
    VisibilityTimeoutError,
)
from cadasta.workertoolbox.publish import sqs
from cadasta.workertoolbox.publish._fanout import FanOutChannel
from tests.platform_apps import APP_SHAPES, build, send

LOGGER = "cadasta.workertoolbox.publish"
REGION = "us-west-2"
#: The characters SQS accepts in a MessageDeduplicationId.
SQS_ID_CHARACTERS = frozenset(chr(code) for code in range(ord("!"), ord("~") + 1))

MakeChannel = Callable[..., Any]


def client_error(status: int, code: str, operation: str = "SendMessage") -> ClientError:
    """A ClientError as botocore raises it after an answer with *status* and *code*."""
    response: Any = {
        "Error": {"Code": code, "Message": f"{code} happened"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


def task_message(
    channel: Any, task_id: str | None = None, retries: int = 0, body: Any = None
) -> dict[str, Any]:
    """A task message as kombu's producer hands it to the channel."""
    task_id = task_id or str(uuid.uuid4())
    headers = {"task": "export.render", "id": task_id, "retries": retries, "lang": "py"}
    return dict(
        channel.prepare_message(
            body if body is not None else '[[1], {}, {"callbacks": null}]',
            content_type="application/json",
            content_encoding="utf-8",
            headers=headers,
            properties={"correlation_id": task_id, "delivery_info": {}},
        )
    )


def queue_url(client: Any, name: str) -> str:
    """The URL of SQS queue *name*."""
    return str(client.get_queue_url(QueueName=name)["QueueUrl"])


def received(client: Any, name: str) -> list[dict[str, Any]]:
    """Every message SQS queue *name* holds, received (and left to become visible again)."""
    answer = client.receive_message(
        QueueUrl=queue_url(client, name),
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return list(answer.get("Messages", []))


def record_calls(channel: Any, operation: str) -> list[dict[str, Any]]:
    """Record the parameters of each *operation* call the channel's boto3 client makes."""
    calls: list[dict[str, Any]] = []

    def keep(params: dict[str, Any], **kwargs: Any) -> None:
        calls.append(dict(params))

    channel.sqs().meta.events.register(f"provide-client-params.sqs.{operation}", keep)
    return calls


def faulty_transport(
    faults: Mapping[str, list[BaseException | None]],
    stored_before: bool = False,
) -> tuple[type[sqs.Transport], list[str]]:
    """
    A transport whose kombu ``_put`` fails for a queue, as listed in *faults*.

    Each call for a queue takes the next item of its list: an error to raise, or ``None``
    to send. With *stored_before*, the message is sent before the error is raised (a
    call whose answer was lost). Returns the transport and the queues ``_put`` was called
    for, in order.
    """
    plans = {queue: list(items) for queue, items in faults.items()}
    puts: list[str] = []

    class FaultyChannel(sqs.Channel):
        """The library's SQS channel, with faults."""

        def _put(self, queue: str, message: dict[str, Any], **kwargs: Any) -> None:
            """Record the call; fail it as planned."""
            puts.append(queue)
            plan = plans.get(queue)
            error = plan.pop(0) if plan else None
            if error is None or stored_before:
                super()._put(queue, message, **kwargs)
            if error is not None:
                raise error

    class FaultyTransport(sqs.Transport):
        """The library's SQS transport, with the faulty channel."""

        Channel = FaultyChannel

    return FaultyTransport, puts


@pytest.fixture
def make_channel(mocked_sqs: Any) -> Iterator[MakeChannel]:
    """Open channels of the library's SQS transport (or one given) on moto's SQS."""
    connections: list[Connection] = []

    def make(transport: type[Any] = sqs.Transport, **options: Any) -> Any:
        connection = Connection(
            "sqs://",
            transport=transport,
            transport_options={"region": REGION, "queue_name_prefix": "dev-", **options},
        )
        connections.append(connection)
        return connection.default_channel

    yield make
    for connection in connections:
        connection.release()


@pytest.fixture
def sqs_app(mocked_sqs: Any, make_app: Callable[..., Celery]) -> Callable[..., Celery]:
    """Build apps configured with Config on SQS (moto's), closed after the test."""

    def make(**settings: Any) -> Celery:
        return make_app(broker_url="sqs://", imports=(), **settings)

    return make


# -- which failures pass ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "passing"),
    [
        pytest.param(client_error(500, "InternalError"), True, id="500"),
        pytest.param(client_error(502, ""), True, id="502-no-code"),
        pytest.param(client_error(503, "ServiceUnavailable"), True, id="503"),
        pytest.param(client_error(429, "TooManyRequests"), True, id="429"),
        pytest.param(client_error(400, "ThrottlingException"), True, id="throttling"),
        pytest.param(client_error(400, "RequestThrottled"), True, id="request-throttled"),
        pytest.param(client_error(400, "RequestTimeout"), True, id="request-timeout"),
        pytest.param(client_error(400, "InvalidParameterValue"), False, id="invalid-parameter"),
        pytest.param(client_error(403, "AccessDenied"), False, id="access-denied"),
        pytest.param(
            client_error(400, "AWS.SimpleQueueService.NonExistentQueue"), False, id="no-queue"
        ),
        pytest.param(ClientError({}, "SendMessage"), False, id="empty-answer"),  # type: ignore[arg-type]
        pytest.param(ConnectionClosedError(endpoint_url="https://sqs"), True, id="closed"),
        pytest.param(EndpointConnectionError(endpoint_url="https://sqs"), True, id="refused"),
        pytest.param(ReadTimeoutError(endpoint_url="https://sqs"), True, id="read-timeout"),
        pytest.param(ConnectTimeoutError(endpoint_url="https://sqs"), True, id="connect-timeout"),
        pytest.param(ConnectionResetError(), True, id="builtin-reset"),
        pytest.param(TimeoutError(), True, id="builtin-timeout"),
        pytest.param(ParamValidationError(report="bad"), False, id="param-validation"),
        pytest.param(NoCredentialsError(), False, id="no-credentials"),
        pytest.param(ValueError("x"), False, id="value-error"),
    ],
)
def test_is_passing_failure(error: BaseException, passing: bool) -> None:
    """Server errors, throttling and lost connections pass; a refusal of the call does not."""
    assert sqs.is_passing_failure(error) is passing


@pytest.mark.parametrize(
    ("error", "lost"),
    [
        pytest.param(ConnectionClosedError(endpoint_url="https://sqs"), True, id="closed"),
        pytest.param(ReadTimeoutError(endpoint_url="https://sqs"), True, id="read-timeout"),
        pytest.param(ConnectionResetError(), True, id="builtin-reset"),
        pytest.param(TimeoutError(), True, id="builtin-timeout"),
        pytest.param(EndpointConnectionError(endpoint_url="https://sqs"), False, id="refused"),
        pytest.param(ConnectTimeoutError(endpoint_url="https://sqs"), False, id="connect-timeout"),
        pytest.param(client_error(500, "InternalError"), False, id="server-error"),
        pytest.param(client_error(400, "ThrottlingException"), False, id="throttling"),
        pytest.param(ValueError("x"), False, id="value-error"),
    ],
)
def test_is_lost_answer(error: BaseException, lost: bool) -> None:
    """A connection lost after the request went out may have been carried out; no other failure."""
    assert sqs.is_lost_answer(error) is lost


# -- the deduplication id --------------------------------------------------------------------


def headers_message(**headers: Any) -> dict[str, Any]:
    """A message with *headers* and nothing else of interest."""
    return {"body": "", "headers": headers, "properties": {}}


def test_deduplication_id_is_stable_for_one_send() -> None:
    """The same task id and retry count give the same id, at every try of a send."""
    first = sqs.deduplication_id(headers_message(id="a", retries=0))
    assert sqs.deduplication_id(headers_message(id="a", retries=0, task="other")) == first
    assert sqs.deduplication_id(headers_message(id="a")) == first  # no count: the first
    assert sqs.deduplication_id(headers_message(id="a", retries=None)) == first


def test_deduplication_id_differs_across_retries_and_tasks() -> None:
    """Each retry of a task, and each task, is a message of its own."""
    ids = {
        sqs.deduplication_id(headers_message(id=task_id, retries=retries))
        for task_id in ("a", "b", "a\0" + "1")
        for retries in (0, 1, 2)
    }
    assert len(ids) == 9


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(headers_message(), id="no-headers"),
        pytest.param(headers_message(task="export.render"), id="no-id"),
        pytest.param(headers_message(id=None), id="id-none"),
        pytest.param({"headers": "not a mapping"}, id="headers-not-a-mapping"),
        pytest.param({}, id="nothing"),
    ],
)
def test_a_message_that_is_no_task_gets_a_random_id(message: dict[str, Any]) -> None:
    """Without a task id, each send is new: a random id, valid for SQS."""
    first, second = sqs.deduplication_id(message), sqs.deduplication_id(message)
    assert first != second
    assert set(first) <= set(string.hexdigits)


@given(task_id=st.text() | st.integers(), retries=st.none() | st.integers(0, 10**6))
def test_deduplication_id_is_valid_for_sqs(task_id: str | int, retries: int | None) -> None:
    """At most 128 characters, each of SQS's '!' to '~', whatever the id (surrogates too)."""
    value = sqs.deduplication_id(headers_message(id=task_id, retries=retries))
    assert 0 < len(value) <= 128
    assert set(value) <= SQS_ID_CHARACTERS


# -- the size of a message -----------------------------------------------------------------


def attribute_size(attributes: Mapping[str, Mapping[str, Any]]) -> int:
    """The size SQS counts for message attributes: names, data types and values."""
    size = 0
    for name, attribute in attributes.items():
        value = attribute.get("StringValue", attribute.get("BinaryValue", b""))
        value = value if isinstance(value, bytes) else str(value).encode()
        size += len(name.encode()) + len(attribute["DataType"].encode()) + len(value)
    return size


@pytest.mark.parametrize("base64_body", [True, False])
@pytest.mark.parametrize(
    "attributes",
    [
        pytest.param({}, id="no-attributes"),
        pytest.param(
            {
                "tenant": {"DataType": "String", "StringValue": "éxport"},
                "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\x02"},
                "count": {"DataType": "Number", "StringValue": "12"},
            },
            id="attributes",
        ),
    ],
)
def test_message_size_is_what_kombu_sends(
    make_channel: MakeChannel,
    mocked_sqs: Any,
    base64_body: bool,
    attributes: dict[str, Any],
) -> None:
    """The size is that of the body kombu's _put sends, plus the message attributes."""
    mocked_sqs.create_queue(QueueName="dev-export")
    channel = make_channel(sqs_base64_encoding=base64_body)
    message = task_message(channel, body='[["ünïcode"], {}, {}]')
    if attributes:
        message["properties"]["message_attributes"] = attributes
    size = sqs.message_size(message, base64_body)
    calls = record_calls(channel, "SendMessage")
    kombu_sqs.Channel._put(channel, "export", message)
    (call,) = calls
    assert size == len(call["MessageBody"].encode()) + attribute_size(
        call.get("MessageAttributes", {})
    )
    assert call.get("MessageAttributes", {}) == attributes


def test_message_size_of_a_bare_message() -> None:
    """A message without properties is measured as kombu would send it."""
    assert sqs.message_size({"body": "x"}, base64_body=False) == len(
        '{"body": "x", "properties": {}}'
    )


def test_an_attribute_that_is_no_mapping_counts_by_its_name() -> None:
    """An attribute without a data type or value (boto3 would refuse it) counts its name."""
    message = {"body": "x", "properties": {"message_attributes": {"odd": "value"}}}
    assert sqs.message_size(message, base64_body=False) == len(
        '{"body": "x", "properties": {}}'
    ) + len("odd")


# -- the channel ------------------------------------------------------------------------------


def test_the_transport_is_kombus_with_the_librarys_channel() -> None:
    """The library's SQS transport: kombu's, its channel with the fan-out mixin first."""
    assert issubclass(sqs.Transport, kombu_sqs.Transport)
    assert sqs.Transport.Channel is sqs.Channel
    assert sqs.Channel.__mro__[1:3] == (FanOutChannel, kombu_sqs.Channel)
    assert sqs.Transport.driver_type == "sqs"


@pytest.mark.parametrize(
    ("options", "expected"),
    [({}, sqs.DEFAULT_PUBLISH_RETRY_SECONDS), ({"publish_retry_seconds": 0.5}, 0.5),
     ({"publish_retry_seconds": 0}, 0.0), ({"publish_retry_seconds": -3}, 0.0)],
)  # fmt: skip
def test_publish_retry_seconds(
    make_channel: MakeChannel, options: dict[str, Any], expected: float
) -> None:
    """The transport option, 5 s by default; a negative value retries nothing."""
    assert make_channel(**options).publish_retry_seconds == expected


@pytest.mark.parametrize(
    ("queue", "name"),
    [("platform.fifo", "dev-platform.fifo"), ("export", "dev-export"),
     ("export.render", "dev-export-render")],
)  # fmt: skip
def test_broker_queue_name(make_channel: MakeChannel, queue: str, name: str) -> None:
    """The name SQS knows a queue by: with the prefix, characters SQS rejects replaced."""
    assert make_channel().broker_queue_name(queue) == name


class Calls:
    """A call that fails as listed, then returns 'done'; it counts its calls."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.count = 0

    def __call__(self) -> str:
        """Raise the next failure, or return 'done' when there is none left."""
        self.count += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


def test_retrying_tries_a_passing_failure_again(
    make_channel: MakeChannel, caplog: pytest.LogCaptureFixture
) -> None:
    """Two passing failures, then success: three calls, two warnings, the result returned."""
    channel = make_channel()
    call = Calls(client_error(503, "ServiceUnavailable"), ConnectionResetError("reset"))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert channel.retrying(call, "sending to SQS queue 'dev-export'") == "done"
    assert call.count == 3
    assert [(record.name, record.levelno) for record in caplog.records] == [
        (LOGGER, logging.WARNING)
    ] * 2
    assert caplog.records[0].getMessage() == (
        "Sending to SQS queue 'dev-export' failed (ClientError: An error occurred "
        "(ServiceUnavailable) when calling the SendMessage operation: ServiceUnavailable "
        "happened); trying again in 0.1 s."
    )
    assert caplog.records[1].getMessage() == (
        "Sending to SQS queue 'dev-export' failed (ConnectionResetError: reset); "
        "trying again in 0.2 s."
    )


@pytest.mark.parametrize(
    "failure", [client_error(403, "AccessDenied"), ParamValidationError(report="bad")]
)
def test_retrying_raises_a_failure_that_will_not_pass_at_once(
    make_channel: MakeChannel, caplog: pytest.LogCaptureFixture, failure: BaseException
) -> None:
    """A failure that will not pass is raised after one call, without a warning."""
    call = Calls(failure, failure)
    with caplog.at_level(logging.WARNING, logger=LOGGER), pytest.raises(type(failure)) as caught:
        make_channel().retrying(call, "sending")
    assert caught.value is failure
    assert call.count == 1
    assert caplog.records == []


def test_retrying_with_no_budget_tries_once(make_channel: MakeChannel) -> None:
    """publish_retry_seconds=0: a passing failure is raised after one call."""
    failure = client_error(500, "InternalError")
    call = Calls(failure)
    with pytest.raises(ClientError) as caught:
        make_channel(publish_retry_seconds=0).retrying(call, "sending")
    assert caught.value is failure
    assert call.count == 1


def test_retrying_stops_when_the_budget_is_spent(
    make_channel: MakeChannel, caplog: pytest.LogCaptureFixture
) -> None:
    """When the next try would start after the budget, the last failure is raised."""
    failures = [client_error(500, f"Failure{number}") for number in range(20)]
    call = Calls(*failures)
    channel = make_channel(publish_retry_seconds=0.25)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger=LOGGER), pytest.raises(ClientError) as caught:
        channel.retrying(call, "sending")
    assert time.monotonic() - started < 0.25 + 0.2
    assert call.count >= 1
    assert caught.value is failures[call.count - 1]
    assert len(caplog.records) == call.count - 1


def lost_answer() -> ConnectionClosedError:
    """The failure of a call whose connection closed before the answer came."""
    return ConnectionClosedError(endpoint_url="https://sqs.us-west-2.amazonaws.com/")


@pytest.mark.parametrize(
    ("limit", "failures", "calls", "succeeds"),
    [
        pytest.param(1, [lost_answer()], 2, True, id="one-lost-answer-retried"),
        pytest.param(1, [lost_answer(), lost_answer()], 2, False, id="a-second-raised"),
        pytest.param(0, [lost_answer()], 1, False, id="none-allowed"),
        pytest.param(None, [lost_answer()] * 3, 4, True, id="any-number"),
        pytest.param(
            1,
            [client_error(503, "SlowDown"), lost_answer(), client_error(500, "InternalError")],
            4,
            True,
            id="other-failures-do-not-count",
        ),
    ],
)
def test_retrying_limits_the_retries_of_lost_answers(
    make_channel: MakeChannel,
    limit: int | None,
    failures: list[BaseException],
    calls: int,
    succeeds: bool,
) -> None:
    """Retries after a lost answer are limited as asked; other passing failures are not."""
    call = Calls(*failures)
    channel = make_channel()
    if succeeds:
        assert channel.retrying(call, "sending", lost_answer_retries=limit) == "done"
    else:
        with pytest.raises(ConnectionClosedError) as caught:
            channel.retrying(call, "sending", lost_answer_retries=limit)
        assert caught.value is failures[calls - 1]
    assert call.count == calls


class FakeClock:
    """time.monotonic and time.sleep, without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.pauses: list[float] = []

    def monotonic(self) -> float:
        """The time now."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Pass *seconds* at once."""
        self.pauses.append(seconds)
        self.now += seconds


def test_retrying_pauses_double_up_to_a_second(
    make_channel: MakeChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pauses of 0.1 s doubling up to 1 s; no try starts after the 5 s budget."""
    channel = make_channel()
    clock = FakeClock()
    monkeypatch.setattr(sqs.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(sqs.time, "sleep", clock.sleep)
    call = Calls(*[client_error(503, "ServiceUnavailable")] * 20)
    with pytest.raises(ClientError):
        channel.retrying(call, "sending")
    assert clock.pauses == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    assert call.count == 8


def test_maximum_message_size_is_read_once_per_queue(
    make_channel: MakeChannel, mocked_sqs: Any
) -> None:
    """The queue's MaximumMessageSize, read once per queue and channel."""
    mocked_sqs.create_queue(QueueName="dev-export", Attributes={"MaximumMessageSize": "2048"})
    channel = make_channel()
    calls = record_calls(channel, "GetQueueAttributes")
    assert channel.maximum_message_size("export") == 2048
    assert channel.maximum_message_size("export") == 2048
    assert len(calls) == 1
    assert calls[0]["AttributeNames"] == ["MaximumMessageSize"]


def test_prepare_copies_gives_the_fifo_copy_a_stable_deduplication_id(
    make_channel: MakeChannel, mocked_sqs: Any
) -> None:
    """The FIFO copy's id derives from the task's; the work queue's copy has none."""
    channel = make_channel()
    message = task_message(channel, task_id="task-1", retries=2)
    copies = dict(channel.prepare_copies(message, ["platform.fifo", "export"]))
    expected = sqs.deduplication_id(message)
    assert copies["platform.fifo"]["properties"]["MessageDeduplicationId"] == expected
    assert "MessageDeduplicationId" not in copies["export"]["properties"]
    assert "MessageDeduplicationId" not in message["properties"]
    again = dict(channel.prepare_copies(message, ["platform.fifo"]))
    assert again["platform.fifo"]["properties"]["MessageDeduplicationId"] == expected


def test_prepare_copies_keeps_a_deduplication_id_given(
    make_channel: MakeChannel, mocked_sqs: Any
) -> None:
    """A MessageDeduplicationId the sender set is kept."""
    channel = make_channel()
    message = task_message(channel)
    message["properties"]["MessageDeduplicationId"] = "mine"
    ((_, copy),) = channel.prepare_copies(message, ["platform.fifo"])
    assert copy["properties"]["MessageDeduplicationId"] == "mine"


def test_a_message_too_large_for_a_queue_is_refused_before_sending(
    make_channel: MakeChannel, mocked_sqs: Any
) -> None:
    """A copy larger than its queue's MaximumMessageSize: MessageTooLargeError, nothing sent."""
    mocked_sqs.create_queue(QueueName="dev-export", Attributes={"MaximumMessageSize": "1024"})
    channel = make_channel()
    message = task_message(channel, task_id="big-1", body=f'[["{"x" * 2000}"], {{}}, {{}}]')
    size = sqs.message_size(message)
    with pytest.raises(MessageTooLargeError) as caught:
        channel.prepare_copies(message, ["platform.fifo", "export"])
    error = caught.value
    assert (error.task_name, error.task_id, error.limit, error.queue) == (
        "export.render",
        "big-1",
        1024,
        "dev-export",
    )
    assert error.size is not None
    assert error.size > 1024
    assert size <= error.size  # the FIFO copy's id is not in the work queue's copy
    assert str(error) == (
        f"Refused to send task 'export.render' (id big-1): its message is {error.size} bytes "
        "as SQS counts it (arguments serialised, then base64-encoded), more than the 1024 "
        "bytes SQS queue 'dev-export' accepts (its MaximumMessageSize). Nothing was sent. "
        "Pass large data by reference (store it, in S3 or a database, and send its key), or "
        "raise the queue's MaximumMessageSize."
    )


# -- whole sends ---------------------------------------------------------------------------


def test_a_send_puts_one_copy_in_each_queue_monitor_first(
    sqs_app: Callable[..., Celery], mocked_sqs: Any
) -> None:
    """
    One send: the monitor's copy, then the work queue's, one SendMessage each.

    The FIFO copy carries the deduplication id of the task and its retry count.
    """
    transport, puts = faulty_transport({})
    app = sqs_app()
    with app.connection_for_write(transport=transport) as connection:
        result = app.send_task("export.render", args=(1,), connection=connection)
    assert puts == ["platform.fifo", "export"]
    (monitor,) = received(mocked_sqs, "dev-platform.fifo")
    (work,) = received(mocked_sqs, "dev-export")
    expected = sqs.deduplication_id({"headers": {"id": result.id, "retries": 0}})
    assert monitor["Attributes"]["MessageDeduplicationId"] == expected
    assert monitor["Attributes"]["MessageGroupId"] == "default"
    # moto 5.0 lists the attribute of a standard queue's message as None; later, not at all.
    assert work["Attributes"].get("MessageDeduplicationId") is None


def test_a_passing_failure_is_retried_for_that_copy_alone(
    sqs_app: Callable[..., Celery], mocked_sqs: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The work queue's call fails once with a 503: it alone is tried again; one copy each."""
    transport, puts = faulty_transport({"export": [client_error(503, "ServiceUnavailable")]})
    app = sqs_app()
    with (
        caplog.at_level(logging.WARNING, logger=LOGGER),
        app.connection_for_write(transport=transport) as connection,
    ):
        app.send_task("export.render", connection=connection)
    assert puts == ["platform.fifo", "export", "export"]
    assert len(received(mocked_sqs, "dev-platform.fifo")) == 1
    assert len(received(mocked_sqs, "dev-export")) == 1
    (warning,) = caplog.records
    assert warning.getMessage().startswith("Sending to SQS queue 'dev-export' failed (")


def test_a_monitor_copy_stored_but_unanswered_is_kept_once(
    sqs_app: Callable[..., Celery], mocked_sqs: Any
) -> None:
    """SQS stored the monitor's copy, the answer was lost: the retry is deduplicated."""
    lost = ConnectionClosedError(endpoint_url="https://sqs.us-west-2.amazonaws.com/")
    transport, puts = faulty_transport({"platform.fifo": [lost]}, stored_before=True)
    app = sqs_app()
    with app.connection_for_write(transport=transport) as connection:
        app.send_task("export.render", connection=connection)
    assert puts == ["platform.fifo", "platform.fifo", "export"]
    assert len(received(mocked_sqs, "dev-platform.fifo")) == 1
    assert len(received(mocked_sqs, "dev-export")) == 1


def test_a_work_copy_whose_answer_is_lost_twice_may_be_there(
    sqs_app: Callable[..., Celery], mocked_sqs: Any
) -> None:
    """
    A standard queue's copy is retried once after a lost answer, not twice.

    SQS stored both tries: the work queue holds one copy more, and the error says the
    queue may hold it and to look before sending again.
    """
    transport, puts = faulty_transport(
        {"export": [lost_answer(), lost_answer()]}, stored_before=True
    )
    app = sqs_app()
    with (
        app.connection_for_write(transport=transport) as connection,
        pytest.raises(PublishError) as caught,
    ):
        app.send_task("export.render", connection=connection)
    assert puts == ["platform.fifo", "export", "export"]
    assert (caught.value.delivered, caught.value.missing) == (
        ("dev-platform.fifo",),
        ("dev-export",),
    )
    assert str(caught.value).endswith(
        "The answer of the last call to 'dev-export' was lost, so the broker may have stored "
        "that copy all the same: 'dev-platform.fifo' holds it, and 'dev-export' may hold it "
        "already. Look before sending the task again, which could make it run twice; tasks "
        "that may run twice should be idempotent."
    )
    assert len(received(mocked_sqs, "dev-platform.fifo")) == 1
    assert len(received(mocked_sqs, "dev-export")) == 2


def test_the_monitors_copy_is_retried_after_lost_answers_until_the_budget_is_spent(
    sqs_app: Callable[..., Celery], mocked_sqs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    A FIFO copy deduplicates: retried as often as the budget allows, stored once.

    On the fake clock, the budget of 0.2 s allows one pause (0.1 s) and two tries, whatever
    the calls cost: a garbage collection of the whole test session's heap during the
    first call once took more than the budget, and left room for one try only.
    """
    transport, puts = faulty_transport({"platform.fifo": [lost_answer()] * 50}, stored_before=True)
    app = sqs_app(broker_transport_options={"publish_retry_seconds": 0.2})
    clock = FakeClock()
    with (
        app.connection_for_write(transport=transport) as connection,
        monkeypatch.context() as patch,
    ):
        patch.setattr(sqs.time, "monotonic", clock.monotonic)
        patch.setattr(sqs.time, "sleep", clock.sleep)
        with pytest.raises(PublishError) as caught:
            app.send_task("export.render", connection=connection)
    assert clock.pauses == [0.1]
    assert puts == ["platform.fifo", "platform.fifo"]
    assert (caught.value.delivered, caught.value.missing) == (
        (),
        ("dev-platform.fifo", "dev-export"),
    )
    assert str(caught.value).endswith(
        "The answer of the last call to 'dev-platform.fifo' was lost, so the broker may have "
        "stored that copy all the same: 'dev-platform.fifo' may hold it already. Look before "
        "sending the task again, which could make it run twice; tasks that may run twice "
        "should be idempotent."
    )
    assert len(received(mocked_sqs, "dev-platform.fifo")) == 1
    assert received(mocked_sqs, "dev-export") == []


def clients_while_sending(channel_class: type[sqs.Channel]) -> tuple[type[Any], list[Any]]:
    """A transport whose _put records the client kombu's _put would use for each copy."""
    clients: list[Any] = []

    class RecordingChannel(channel_class):  # type: ignore[misc,valid-type]
        """The channel, recording clients."""

        def _put(self, queue: str, message: dict[str, Any], **kwargs: Any) -> None:
            """Record the client for *queue*, then send."""
            clients.append(self.sqs(queue=self.canonical_queue_name(queue)))
            super()._put(queue, message, **kwargs)

    class RecordingTransport(sqs.Transport):
        """The library's SQS transport, recording."""

        Channel = RecordingChannel

    return RecordingTransport, clients


def test_copies_are_sent_with_a_client_that_tries_once(
    make_channel: MakeChannel, mocked_sqs: Any
) -> None:
    """
    While copies are sent, one client of the channel's own, with botocore's retries off.

    Other calls, before and after, use kombu's client, with the client-config given.
    """
    transport, clients = clients_while_sending(sqs.Channel)
    channel = make_channel(transport, **{"client-config": {"connect_timeout": 3}})
    kombus = channel.sqs()
    for queue in ("platform.fifo", "export"):
        channel.send_copy(queue, task_message(channel))
    first, second = clients
    assert first is second
    assert first is not kombus
    assert first.meta.config.retries["total_max_attempts"] == 1
    assert first.meta.config.connect_timeout == 3
    assert (kombus.meta.config.retries or {}).get("total_max_attempts") != 1
    assert channel.sqs() is kombus


def test_after_a_failed_copy_calls_use_kombus_client_again(
    make_channel: MakeChannel, mocked_sqs: Any
) -> None:
    """A copy that raised leaves the channel as it was."""
    denied = client_error(403, "AccessDenied")
    transport, _ = faulty_transport({"export": [denied]})
    channel = make_channel(transport)
    kombus = channel.sqs()
    with pytest.raises(ClientError):
        channel.send_copy("export", task_message(channel))
    assert channel.sqs() is kombus


def test_predefined_queues_keep_kombus_clients(make_channel: MakeChannel, mocked_sqs: Any) -> None:
    """Predefined queues have clients kombu builds apart: the copies use those."""
    url = mocked_sqs.create_queue(QueueName="dev-export")["QueueUrl"]
    transport, clients = clients_while_sending(sqs.Channel)
    channel = make_channel(transport, predefined_queues={"dev-export": {"url": url}})
    channel.send_copy("export", task_message(channel))
    (client,) = clients
    assert client is channel._predefined_queue_clients["dev-export"]
    assert len(received(mocked_sqs, "dev-export")) == 1


def test_a_copy_that_cannot_be_sent_is_a_publish_error_with_sqs_names(
    sqs_app: Callable[..., Celery], mocked_sqs: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Access denied on the work queue: raised at once, naming the queues as SQS does."""
    denied = client_error(403, "AccessDenied")
    transport, puts = faulty_transport({"export": [denied]})
    app = sqs_app()
    with (
        caplog.at_level(logging.WARNING),
        app.connection_for_write(transport=transport) as connection,
        pytest.raises(PublishError) as caught,
    ):
        app.send_task("export.render", connection=connection)
    error = caught.value
    assert error.__cause__ is denied
    assert (error.delivered, error.missing) == (("dev-platform.fifo",), ("dev-export",))
    assert puts == ["platform.fifo", "export"]
    assert len(received(mocked_sqs, "dev-platform.fifo")) == 1
    assert received(mocked_sqs, "dev-export") == []
    assert [(r.name, r.levelno) for r in caplog.records] == [(LOGGER, logging.ERROR)]


def test_a_task_too_large_is_refused_and_nothing_is_sent(
    sqs_app: Callable[..., Celery], mocked_sqs: Any
) -> None:
    """A task whose arguments are too large for its work queue reaches not even the monitor."""
    mocked_sqs.create_queue(QueueName="dev-export", Attributes={"MaximumMessageSize": "1024"})
    app = sqs_app()
    with pytest.raises(MessageTooLargeError, match="more than the 1024 bytes SQS queue"):
        app.send_task("export.render", args=("x" * 2000,))
    assert received(mocked_sqs, "dev-platform.fifo") == []
    assert received(mocked_sqs, "dev-export") == []


@pytest.mark.parametrize("shape", APP_SHAPES)
def test_a_late_task_is_refused_whatever_the_apps_classes(
    mocked_sqs: Any, make_config: Callable[..., Any], shape: str
) -> None:
    """An app that sets itself up before sending: a task due too late is refused all the same."""
    app = build(shape)
    try:
        app.config_from_object(
            make_config(broker_url="sqs://", broker_transport_options={"visibility_timeout": 60})
        )
        with pytest.raises(VisibilityTimeoutError, match=r"'export\.render': it is due in 3"):
            send(app, shape, countdown=3600)
        send(app, shape, countdown=30)
    finally:
        app.close()
    assert len(received(mocked_sqs, "dev-platform.fifo")) == 1
    assert len(received(mocked_sqs, "dev-export")) == 1


# -- polling ------------------------------------------------------------------------------------


def test_kombus_own_method_cannot_read_a_failed_poll() -> None:
    """
    The control: kombu reads the [] of a failed poll as a dict, and raises.

    When a kombu release fixes this, this test fails: the library's
    ``Channel._on_messages_ready`` (and README's word on it) can then go.
    """
    with pytest.raises(AttributeError, match="'list' object has no attribute 'get'"):
        kombu_sqs.Channel._on_messages_ready(None, None, "export", [])


@pytest.mark.parametrize("answer", [[], None])
def test_a_failed_poll_counts_as_an_empty_one_with_a_warning(
    make_channel: MakeChannel, caplog: pytest.LogCaptureFixture, answer: Any
) -> None:
    """An answer that is no dict brings no message, and a warning names the queue."""
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert make_channel()._on_messages_ready(None, "dev-export", answer) == 0
    (record,) = caplog.records
    assert (record.name, record.levelno) == (LOGGER, logging.WARNING)
    assert "'dev-export'" in record.getMessage()
    assert "polling goes on" in record.getMessage()


@pytest.mark.parametrize("answer", [{}, {"Messages": []}])
def test_a_dict_goes_to_kombus_method_unchanged(
    make_channel: MakeChannel, caplog: pytest.LogCaptureFixture, answer: dict[str, Any]
) -> None:
    """A dict is kombu's to read: an empty one brings nothing, without a warning."""
    with caplog.at_level(logging.WARNING):
        assert make_channel()._on_messages_ready(None, "dev-export", answer) == 0
    assert caplog.records == []


# -- polling queues in turn (gevent, eventlet) -------------------------------------------


@pytest.mark.parametrize(
    ("queues", "options", "wait"),
    [
        pytest.param(2, {"wait_time_seconds": 20}, 0, id="several-queues-default"),
        pytest.param(3, {"wait_time_seconds": 20, "turn_wait_time_seconds": 1}, 1, id="turn-1"),
        pytest.param(3, {"wait_time_seconds": 20, "turn_wait_time_seconds": 0}, 0, id="turn-0"),
        pytest.param(2, {"wait_time_seconds": 5, "turn_wait_time_seconds": 10}, 5, id="min"),
        pytest.param(2, {"wait_time_seconds": 20, "turn_wait_time_seconds": 20}, 20, id="turn-20"),
        pytest.param(1, {"wait_time_seconds": 20}, 20, id="one-queue"),
    ],
)
def test_a_poll_without_an_event_loop_waits_briefly_when_queues_take_turns(
    make_channel: MakeChannel, queues: int, options: dict[str, Any], wait: int
) -> None:
    """
    Several queues polled in turn: each poll waits turn_wait_time_seconds at most.

    One queue keeps wait_time_seconds; so does every poll outside ``_get_bulk`` (an
    event loop polls each queue on its own), before and after it.
    """
    channel = make_channel(**options)
    channel._active_queues = [f"queue{n}" for n in range(queues)]
    seen: list[tuple[Any, int]] = []

    def receive(queue: str, max_number_of_messages: int, wait_time_seconds: Any) -> Any:
        seen.append((wait_time_seconds, channel.wait_time_seconds))
        return {"Messages": []}

    channel._receive_message = receive
    with pytest.raises(kombu_sqs.Empty):
        channel._get_bulk("queue0")

    assert seen == [(wait, wait)]
    assert channel.wait_time_seconds == options["wait_time_seconds"]


def test_a_poll_without_an_event_loop_goes_through_boto3(make_channel: MakeChannel) -> None:
    """
    A poll of kombu's without an event loop, on moto's SQS: an empty queue brings nothing.

    kombu 5.7 asks ``ReceiveMessage`` for ``MessageSystemAttributeNames``, which botocore
    knows from 1.34.101 on (boto3's floor); an older one refuses the call.
    """
    channel = make_channel(wait_time_seconds=0)
    channel._active_queues = ["export"]
    with pytest.raises(kombu_sqs.Empty):
        channel._get_bulk("export")


def test_the_wait_is_kombus_default_without_the_option(make_channel: MakeChannel) -> None:
    """No wait_time_seconds given (Config gives 20): kombu's default."""
    channel = make_channel()
    assert channel.wait_time_seconds == kombu_sqs.Channel.default_wait_time_seconds

"""
The library's SQS transport: kombu's, with the send path of :mod:`._fanout`, and more.

A :class:`~cadasta.workertoolbox.conf.Config` on SQS names :class:`Transport` in
``broker_transport``. On top of :class:`~._fanout.FanOutChannel` (the monitor's copy
first, each copy once, a loud error), its channel

- **retries one call alone.** A ``SendMessage`` that failed for a passing reason (a
  server error, throttling, a lost connection) is tried again, alone, with pauses of
  0.1 s doubling up to 1 s, until ``publish_retry_seconds`` (a transport option, 5 s by
  default; 0 turns it off) have passed. Each try is one HTTP request: copies are sent
  with a client of their own whose botocore retries are off, so the budget is the only
  one (other calls keep botocore's retries). A failure that will not pass (access
  denied, a queue that does not exist, an invalid message) is not retried;
- **retries a lost answer at most once on a standard queue.** A connection closed or a
  read that timed out after the request was sent leaves it unknown whether SQS stored
  the copy. A FIFO copy deduplicates, so it is retried as any passing failure; a copy
  for a standard queue is retried once at most, so that at most one copy more reaches
  the work queue, and the error then says the queue may hold it;
- **deduplicates the monitor's copy.** The copy for a FIFO queue carries a
  ``MessageDeduplicationId`` derived from the task's id and retry count, the same at
  every try, so SQS keeps one copy even when a call that stored it lost its answer
  (within SQS's deduplication window of 5 minutes). A task's retries, and those of
  ``celery.chord_unlock``, have counts of their own and are recorded each time. A
  standard queue cannot deduplicate: a retried call whose answer was lost after SQS
  stored the copy leaves one copy more in the work queue;
- **refuses a message too large** for one of its queues (their ``MaximumMessageSize``,
  read once per queue and connection) before any copy is sent, with a
  :class:`~cadasta.workertoolbox.exceptions.MessageTooLargeError`;
- **goes on polling after a poll failed on the server's side.** kombu 5.7's
  asynchronous client answers a ``ReceiveMessage`` that got a server error or a
  timeout status (500, 502, 503, 504, 408, 599) with an empty list, which kombu's
  ``Channel._on_messages_ready`` reads as a dictionary: it raises, and the worker polls
  that queue no more (``Error in timer``) or exits (``Unrecoverable error``). This
  channel takes such an answer as a poll that brought nothing, with a warning, as kombu
  intends; a dictionary goes through unchanged;
- **does not wait on one queue while others wait their turn.** A consumer without an
  event loop (Celery's gevent and eventlet pools run none) polls its queues one after
  another, each ``ReceiveMessage`` waiting up to ``wait_time_seconds`` (20 s by default):
  a task on the second queue waited for the first queue's poll to time out, about 20 s.
  When such a consumer polls more than one queue, each call waits at most
  ``turn_wait_time_seconds`` (a transport option, 0 by default: a short poll, which
  answers at once), and kombu's ``polling_interval`` (1 s) paces the rounds: a task waits
  about a second at most, however many queues the worker reads. SQS waits whole seconds
  only, so any wait above 0 adds up to (queues - 1) x that wait. Long polling stays whole
  where it costs no latency: under an event loop (prefork, threads, solo), which polls
  every queue at once, and for a consumer of one queue. The price: an idle gevent worker
  of N queues makes about N ``ReceiveMessage`` calls a second instead of one per queue
  every 20 s (some 2.6 million calls per queue in 30 days, which SQS bills), and a short
  poll of a real SQS queue samples only some of its servers, so a message may take one
  round more to be seen.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from botocore.config import Config as BotocoreConfig
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from kombu.asynchronous.aws.sqs.message import AsyncMessage
from kombu.transport import SQS
from kombu.utils.json import dumps

from ..exceptions import MessageTooLargeError
from ._fanout import FanOutChannel, copy_message

__all__ = [
    "DEFAULT_PUBLISH_RETRY_SECONDS",
    "DEFAULT_TURN_WAIT_TIME_SECONDS",
    "Channel",
    "Transport",
    "deduplication_id",
    "is_lost_answer",
    "is_passing_failure",
    "message_size",
]

logger = logging.getLogger("cadasta.workertoolbox.publish")

#: How long, in seconds, one copy's call is retried after a passing failure, by default.
DEFAULT_PUBLISH_RETRY_SECONDS = 5.0
#: The transport option that sets it.
RETRY_OPTION = "publish_retry_seconds"
#: How long, in seconds, one poll waits when several queues are polled in turn, by default:
#: not at all (a short poll); kombu's ``polling_interval`` paces the rounds.
DEFAULT_TURN_WAIT_TIME_SECONDS = 0
#: The transport option that sets it.
TURN_WAIT_OPTION = "turn_wait_time_seconds"
#: The first pause between two tries of a call, doubled after each, and the longest.
_FIRST_PAUSE, _LONGEST_PAUSE = 0.1, 1.0

#: Error codes with which AWS says "too many requests, slow down".
_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)

#: How many times a standard queue's copy is tried again after a lost answer.
_LOST_ANSWER_RETRIES = 1
#: The client configuration of the calls that send copies: one HTTP request each.
_SINGLE_TRY = BotocoreConfig(retries={"total_max_attempts": 1})

_T = TypeVar("_T")


def is_passing_failure(error: BaseException) -> bool:
    """
    Tell whether a boto3 call that raised *error* may succeed if tried again.

    A server error (HTTP 5xx), throttling, or a connection lost, refused or timed out.
    """
    if isinstance(error, ClientError):
        response = error.response or {}
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        code = str(response.get("Error", {}).get("Code") or "")
        return status >= 500 or status == 429 or code in _THROTTLING_CODES
    passing = (HTTPClientError, BotocoreConnectionError, ConnectionError, TimeoutError)
    return isinstance(error, passing)


def is_lost_answer(error: BaseException) -> bool:
    """
    Tell whether a call that raised *error* may have been carried out by SQS.

    A connection closed, or a read that timed out, after the request was sent: the
    answer was lost, not necessarily the request. A connection that could not be made
    (``EndpointConnectionError``, ``ConnectTimeoutError``) sent nothing.
    """
    if isinstance(error, (BotocoreConnectionError, ConnectionRefusedError)):
        return False
    return isinstance(error, (HTTPClientError, ConnectionError, TimeoutError))


def deduplication_id(message: Mapping[str, Any]) -> str:
    """
    Return the SQS ``MessageDeduplicationId`` of kombu's task *message*.

    The SHA-256 of the task's id and retry count: the same for every try of one send,
    new for each retry of the task. A message that is not a task gets a random id.
    """
    headers = message.get("headers")
    if not isinstance(headers, Mapping) or headers.get("id") is None:
        return uuid.uuid4().hex
    key = f"{headers['id']}\0{headers.get('retries') or 0}"
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def message_size(message: Mapping[str, Any], base64_body: bool = True) -> int:
    """
    Return the size SQS gives kombu's *message*, in bytes: its body and its attributes.

    The body is what kombu's SQS transport sends: the message as JSON, without its
    ``message_attributes``, base64-encoded unless *base64_body* is false.
    """
    properties = dict(message.get("properties") or {})
    attributes = properties.pop("message_attributes", None) or {}
    body = dumps({**message, "properties": properties})
    if base64_body:
        body = AsyncMessage().encode(body)
    size = len(body.encode("utf-8"))
    for name, attribute in attributes.items():
        size += len(str(name).encode("utf-8"))
        if isinstance(attribute, Mapping):
            size += len(str(attribute.get("DataType", "")).encode("utf-8"))
            value = attribute.get("StringValue", attribute.get("BinaryValue", b""))
            size += len(value if isinstance(value, bytes) else str(value).encode("utf-8"))
    return size


class Channel(FanOutChannel, SQS.Channel):
    """kombu's SQS channel with the library's send path (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._maximum_sizes: dict[str, int] = {}
        self._single_try_client: Any = None
        self._sending_copy = False
        self._taking_turns = False
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]

    @property
    def wait_time_seconds(self) -> int:
        """
        How long one ``ReceiveMessage`` call waits for a message, in seconds.

        ``wait_time_seconds``, but at most ``turn_wait_time_seconds`` while this channel
        polls one of several queues in turn (see the module's docstring).
        """
        configured = int(
            self.transport_options.get("wait_time_seconds", self.default_wait_time_seconds)
        )
        if self._taking_turns:
            turn = self.transport_options.get(TURN_WAIT_OPTION, DEFAULT_TURN_WAIT_TIME_SECONDS)
            return min(configured, max(0, int(turn)))
        return configured

    def _get_bulk(self, queue: str, *args: Any, **kwargs: Any) -> Any:
        """
        Poll *queue* without an event loop, briefly if other queues wait their turn.

        kombu calls this only from ``drain_events``, which polls the queues one after
        another; under an event loop each queue is polled on its own
        (``_get_bulk_async``).
        """
        self._taking_turns = len(self._active_queues) > 1
        try:
            return super()._get_bulk(queue, *args, **kwargs)  # type: ignore[no-untyped-call]
        finally:
            self._taking_turns = False

    @property
    def publish_retry_seconds(self) -> float:
        """How long one copy's call is retried after a passing failure, in seconds."""
        value = self.transport_options.get(RETRY_OPTION, DEFAULT_PUBLISH_RETRY_SECONDS)
        return max(0.0, float(value))

    def broker_queue_name(self, queue: str) -> str:
        """Return SQS's name of *queue*: with the prefix, characters SQS rejects replaced."""
        return str(self.canonical_queue_name(queue))

    def prepare_copies(
        self, message: Mapping[str, Any], queues: Sequence[str]
    ) -> list[tuple[str, dict[str, Any]]]:
        """Give FIFO copies a stable deduplication id, and refuse a message too large."""
        copies = super().prepare_copies(message, queues)
        stable_id = deduplication_id(message)
        for queue, copy in copies:
            if queue.endswith(".fifo"):
                copy["properties"].setdefault("MessageDeduplicationId", stable_id)
        for queue, copy in copies:
            self._refuse_too_large(queue, copy)
        return copies

    def send_copy(self, queue: str, message: dict[str, Any]) -> None:
        """Send one copy, retrying the call alone after a passing failure."""
        self._sending_copy = True
        try:
            self.retrying(
                lambda: self._put(queue, copy_message(message)),
                f"sending to SQS queue {self.broker_queue_name(queue)!r}",
                lost_answer_retries=None if queue.endswith(".fifo") else _LOST_ANSWER_RETRIES,
            )
        finally:
            self._sending_copy = False

    def is_ambiguous_failure(self, error: BaseException) -> bool:
        """Tell whether the failed call may have stored its copy (its answer was lost)."""
        return is_lost_answer(error)

    def sqs(self, queue: str | None = None) -> Any:
        """
        Return kombu's SQS client, or, while a copy is sent, one that tries each call once.

        The single-try client is built once per channel, as kombu builds its own, with the
        ``client-config`` transport option and botocore's retries off. Predefined queues,
        whose clients kombu builds apart, keep kombu's client.
        """
        client = super().sqs(queue)  # type: ignore[no-untyped-call]
        if not self._sending_copy or self.predefined_queues:
            return client
        if self._single_try_client is None:
            self._single_try_client = self._new_boto_client(
                service="sqs",
                region=self.region,
                access_key_id=self.conninfo.userid,
                secret_access_key=self.conninfo.password,
                config=_SINGLE_TRY,
            )
        return self._single_try_client

    def retrying(
        self, call: Callable[[], _T], what: str, lost_answer_retries: int | None = None
    ) -> _T:
        """
        Return what *call* returns, trying it again after a passing failure.

        Tries stop when the next would start after ``publish_retry_seconds``; the last
        failure is raised, as is at once a failure that will not pass.

        Args:
            call: The call, with no arguments.
            what: What the call does, for the warnings.
            lost_answer_retries: How many times a failure whose answer was lost
                (:func:`is_lost_answer`) may be retried; any number when ``None``.

        """
        deadline = time.monotonic() + self.publish_retry_seconds
        pause = _FIRST_PAUSE
        lost_answers = 0
        while True:
            try:
                return call()
            except Exception as error:
                if not is_passing_failure(error) or time.monotonic() + pause > deadline:
                    raise
                if is_lost_answer(error):
                    lost_answers += 1
                    if lost_answer_retries is not None and lost_answers > lost_answer_retries:
                        raise
                logger.warning(
                    "%s failed (%s: %s); trying again in %.1f s.",
                    what[:1].upper() + what[1:],
                    type(error).__name__,
                    error,
                    pause,
                )
                time.sleep(pause)
                pause = min(pause * 2, _LONGEST_PAUSE)

    def maximum_message_size(self, queue: str) -> int:
        """Return the largest message *queue* accepts, in bytes, read once per channel."""
        size = self._maximum_sizes.get(queue)
        if size is None:
            name = self.broker_queue_name(queue)

            def read() -> int:
                url = self._new_queue(queue)
                answer = self.sqs(queue=name).get_queue_attributes(
                    QueueUrl=url, AttributeNames=["MaximumMessageSize"]
                )
                return int(answer["Attributes"]["MaximumMessageSize"])

            size = self._maximum_sizes[queue] = self.retrying(
                read, f"reading the MaximumMessageSize of SQS queue {name!r}"
            )
        return size

    def _refuse_too_large(self, queue: str, message: Mapping[str, Any]) -> None:
        size = message_size(message, bool(self.sqs_base64_encoding))
        limit = self.maximum_message_size(queue)
        if size <= limit:
            return
        headers = message.get("headers") or {}
        name, task_id = headers.get("task"), headers.get("id")
        sqs_name = self.broker_queue_name(queue)
        raise MessageTooLargeError(
            f"Refused to send task {name!r} (id {task_id}): its message is {size} bytes "
            f"as SQS counts it (arguments serialised, then base64-encoded), more than the "
            f"{limit} bytes SQS queue {sqs_name!r} accepts (its MaximumMessageSize). "
            "Nothing was sent. Pass large data by reference (store it, in S3 or a "
            "database, and send its key), or raise the queue's MaximumMessageSize.",
            task_name=None if name is None else str(name),
            task_id=None if task_id is None else str(task_id),
            size=size,
            limit=limit,
            queue=sqs_name,
        )

    def _on_messages_ready(self, queue: Any, qname: str, messages: Any) -> int:
        """Take an answer that is not a dictionary (a failed poll) as an empty one."""
        if not isinstance(messages, Mapping):
            logger.warning(
                "A poll of SQS queue %r failed on the server's side (an error or timeout "
                "status); polling goes on.",
                qname,
            )
            messages = {}
        result: int = super()._on_messages_ready(queue, qname, messages)  # type: ignore[no-untyped-call]
        return result


class Transport(SQS.Transport):
    """kombu's SQS transport, with the library's :class:`Channel`."""

    Channel = Channel

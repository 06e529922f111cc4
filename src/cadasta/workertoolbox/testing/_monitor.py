"""
The monitor reader: what the platform's task monitor would record from the monitor queue.

The platform's monitor is a kombu consumer of the monitor queue that decodes each
message and reads its headers (``id``, ``task``, ``parent_id``, ``root_id``, ``eta``,
``expires``, ``retries``, ``timelimit``) and properties, then acknowledges it.
:class:`MonitorReader` reads the same queue on the SQS endpoint with boto3, deletes what
it read (as the monitor's acknowledgement does) and returns a :class:`MonitorRecord` per
message. The demo and the pytest plugin's ``toolbox_monitor`` fixture both use it.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._endpoint import decode_envelope

__all__ = ["MonitorReader", "MonitorRecord"]


@dataclass(frozen=True)
class MonitorRecord:
    """
    What the platform's task monitor records for one message of the monitor queue.

    Args:
        id: The task's id.
        task: The task's name.
        args: Its positional arguments (``None`` when the body could not be decoded).
        kwargs: Its keyword arguments (``None`` likewise).
        parent_id: The id of the task that sent it, if a task did.
        root_id: The id of the first task of its workflow.
        eta: When it is due, as Celery wrote it (ISO 8601), if it has a countdown or ETA.
        expires: When it expires, likewise.
        retries: How many times it was retried before this message.
        group: The id of its group, for the tasks of a group or a chord's header.
        timelimit: Its (soft, hard) time limits.
        properties: The message properties (``correlation_id``, ``reply_to``,
            ``delivery_info``…).
        headers: Every header of the message.

    .. versionadded:: 1.0

    """

    id: str
    task: str
    args: Sequence[Any] | None
    kwargs: Mapping[str, Any] | None
    parent_id: str | None
    root_id: str | None
    eta: str | None
    expires: str | None
    retries: int
    group: str | None
    timelimit: Sequence[Any] | None = field(repr=False)
    properties: Mapping[str, Any] = field(repr=False)
    headers: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_envelope(cls, envelope: Mapping[str, Any]) -> MonitorRecord:
        """Read the record from a message as kombu's SQS transport writes it."""
        headers: Mapping[str, Any] = envelope.get("headers") or {}
        properties: Mapping[str, Any] = envelope.get("properties") or {}
        args, kwargs = _arguments(envelope)
        return cls(
            id=str(headers.get("id")),
            task=str(headers.get("task")),
            args=args,
            kwargs=kwargs,
            parent_id=headers.get("parent_id"),
            root_id=headers.get("root_id"),
            eta=headers.get("eta"),
            expires=headers.get("expires"),
            retries=int(headers.get("retries") or 0),
            group=headers.get("group"),
            timelimit=headers.get("timelimit"),
            properties=dict(properties),
            headers=dict(headers),
        )

    def __str__(self) -> str:
        return f"{self.task}[{self.id}] parent={self.parent_id} root={self.root_id}"


def _arguments(envelope: Mapping[str, Any]) -> tuple[Any, Any]:
    """Decode the task's args and kwargs from the body, as ``message.decode()`` does."""
    body = envelope.get("body")
    try:
        if (envelope.get("properties") or {}).get("body_encoding") == "base64":
            body = base64.b64decode(str(body)).decode()
        decoded: Any = json.loads(body) if isinstance(body, str) else body
        if isinstance(decoded, list):  # protocol 2: [args, kwargs, embed]
            return list(decoded[0]), dict(decoded[1])
        return list(decoded.get("args") or ()), dict(decoded.get("kwargs") or {})
    except (ValueError, TypeError, AttributeError, IndexError, KeyError):
        # Not JSON (another serializer) or not a task message: the headers still tell.
        return None, None


class MonitorReader:
    """
    Reads the monitor queue of an SQS endpoint as the platform's task monitor does.

    Args:
        client: A boto3 SQS client of the endpoint.
        queue_name: The monitor queue's name on the endpoint, prefix included
            (``t1a2b3c-platform.fifo``).

    .. versionadded:: 1.0

    """

    def __init__(self, client: Any, queue_name: str) -> None:
        self.client = client
        self.queue_name = queue_name
        self.seen: list[MonitorRecord] = []

    def __repr__(self) -> str:
        return f"<MonitorReader of {self.queue_name}: {len(self.seen)} record(s) read>"

    def read(self, expected: int = 0, timeout: float = 2.0) -> list[MonitorRecord]:
        """
        Receive and delete the messages on the monitor queue; return their records.

        Reading stops once the queue is empty and at least *expected* messages were read
        by this call, or when *timeout* seconds have passed: with *expected* 0 (the
        default) an empty queue returns at once, so give ``expected=1`` to wait up to
        *timeout* for a message. Every record read is also kept in :attr:`seen`.
        """
        client = self.client
        url = client.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        records: list[MonitorRecord] = []
        deadline = time.monotonic() + timeout
        while True:
            received = client.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=0
            ).get("Messages", [])
            if received:
                records += [
                    MonitorRecord.from_envelope(decode_envelope(message["Body"]))
                    for message in received
                ]
                # A FIFO queue hands out no more of a group until these are deleted.
                client.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": message["ReceiptHandle"]}
                        for n, message in enumerate(received)
                    ],
                )
            elif len(records) >= expected or time.monotonic() >= deadline:
                self.seen += records
                return records
            else:
                time.sleep(0.05)

    def wait_for(self, task_ids: Iterable[str], timeout: float = 10.0) -> list[MonitorRecord]:
        """
        Read until the monitor saw every task of *task_ids*; return all records seen.

        Raises:
            AssertionError: Some were not seen within *timeout* seconds; the message
                lists what the monitor saw.

        """
        wanted = set(task_ids)
        deadline = time.monotonic() + timeout
        while wanted - {record.id for record in self.seen}:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                missing = sorted(wanted - {record.id for record in self.seen})
                raise AssertionError(
                    f"the monitor queue {self.queue_name} received no copy of "
                    f"{len(missing)} task(s) within {timeout:g} s: {', '.join(missing)}; "
                    f"{self.describe()}"
                )
            self.read(timeout=min(remaining, 0.5))
        return list(self.seen)

    def describe(self) -> str:
        """Every record read so far, one per line."""
        if not self.seen:
            return "it received nothing"
        lines = "\n".join(f"  {n}. {record}" for n, record in enumerate(self.seen, 1))
        return f"it received {len(self.seen)} message(s):\n{lines}"

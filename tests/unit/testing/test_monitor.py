"""The monitor reader: records as the platform's task monitor makes them, and its waits."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from cadasta.workertoolbox.testing import MonitorReader, MonitorRecord

HEADERS = {
    "id": "t1",
    "task": "export.render",
    "parent_id": "p1",
    "root_id": "r1",
    "eta": "2026-12-03T20:00:00+00:00",
    "expires": None,
    "retries": 2,
    "group": "g1",
    "timelimit": [None, None],
}


def envelope(body: Any, **properties: Any) -> dict[str, Any]:
    """A message as kombu's SQS transport writes it, once decoded."""
    return {"headers": HEADERS, "properties": properties, "body": body}


def encoded(value: Any) -> str:
    """Celery's JSON body, base64-encoded as kombu's SQS transport encodes it."""
    return base64.b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize(
    ("body", "properties", "args", "kwargs"),
    [
        pytest.param(encoded([[1], {"a": 2}, {}]), {"body_encoding": "base64"}, [1], {"a": 2},
                     id="protocol-2-base64"),
        pytest.param(json.dumps([[1], {}, {}]), {}, [1], {}, id="protocol-2-plain"),
        pytest.param({"args": [3], "kwargs": {"b": 4}}, {}, [3], {"b": 4}, id="protocol-1"),
        pytest.param({"task": "x"}, {}, [], {}, id="protocol-1-without-arguments"),
        pytest.param("\x80not json", {}, None, None, id="not-json"),
        pytest.param(json.dumps(42), {}, None, None, id="no-task-message"),
        pytest.param(json.dumps([]), {}, None, None, id="empty-list"),
        pytest.param("!!", {"body_encoding": "base64"}, None, None, id="bad-base64"),
    ],
)  # fmt: skip
def test_a_record_has_the_headers_the_monitor_reads_and_the_arguments(
    body: Any, properties: dict[str, Any], args: Any, kwargs: Any
) -> None:
    """Headers and properties as sent; args and kwargs decoded, or None when they cannot be."""
    record = MonitorRecord.from_envelope(envelope(body, **properties))

    assert (record.id, record.task, record.parent_id, record.root_id) == (
        "t1",
        "export.render",
        "p1",
        "r1",
    )
    assert (record.eta, record.expires, record.retries, record.group) == (
        HEADERS["eta"],
        None,
        2,
        "g1",
    )
    assert record.timelimit == [None, None]
    assert (record.args, record.kwargs) == (args, kwargs)
    assert record.properties == properties
    assert record.headers == HEADERS
    assert str(record) == "export.render[t1] parent=p1 root=r1"


def test_a_message_without_headers_gives_an_empty_record() -> None:
    """Not a task message: no id, no task, no retries."""
    record = MonitorRecord.from_envelope({"body": "{}"})
    assert (record.id, record.task, record.retries, record.properties) == ("None", "None", 0, {})


@pytest.fixture
def reader(mocked_sqs: Any) -> MonitorReader:
    """A reader of an empty queue, 'monitor', of moto's SQS inside the process."""
    mocked_sqs.create_queue(QueueName="monitor")
    return MonitorReader(mocked_sqs, "monitor")


def send(reader: MonitorReader, task_id: str) -> None:
    """Put a task message of id *task_id* on the reader's queue."""
    url = reader.client.get_queue_url(QueueName="monitor")["QueueUrl"]
    body = {"headers": {**HEADERS, "id": task_id}, "properties": {}, "body": "[[], {}, {}]"}
    reader.client.send_message(QueueUrl=url, MessageBody=encoded(body))


def test_reading_an_empty_queue_returns_nothing_at_once(reader: MonitorReader) -> None:
    """Nothing expected, nothing there: an empty list without waiting."""
    started = time.monotonic()
    assert reader.read() == []
    assert time.monotonic() - started < 1
    assert repr(reader) == "<MonitorReader of monitor: 0 record(s) read>"
    assert reader.describe() == "it received nothing"


def test_wait_for_returns_once_every_task_was_seen(reader: MonitorReader) -> None:
    """Every record seen is returned, and described one per line."""
    send(reader, "a")
    send(reader, "b")

    assert sorted(record.id for record in reader.wait_for(["a", "b"], timeout=5)) == ["a", "b"]
    assert reader.describe().startswith("it received 2 message(s):\n  1. export.render[")


def test_wait_for_fails_naming_the_tasks_not_seen_and_what_was(reader: MonitorReader) -> None:
    """A task never sent: after the timeout, the missing ids and every record read."""
    send(reader, "a")

    with pytest.raises(AssertionError) as raised:
        reader.wait_for(["a", "never"], timeout=0.3)

    assert str(raised.value) == (
        "the monitor queue monitor received no copy of 1 task(s) within 0.3 s: never; "
        "it received 1 message(s):\n  1. export.render[a] parent=p1 root=r1"
    )

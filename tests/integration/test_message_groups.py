"""
MONITOR_MESSAGE_GROUP on the SQS endpoint: the monitor's FIFO copies carry the group.

Messages are sent through Celery and kombu's real SQS transport, and read back with
boto3's ``ReceiveMessage``, asking SQS for each message's ``MessageGroupId``. A FIFO
queue keeps the order of the messages of one group; the last test checks that the
groups made by the option keep the order in which the tasks were sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from celery import Celery

from .services import SQSEndpoint, decode_kombu_message, task_id

RECEIVE_TIMEOUT = 30.0


def receive_with_groups(
    endpoint: SQSEndpoint, queue: str, expected: int
) -> list[tuple[str | None, str]]:
    """
    Receive and delete *expected* messages of *queue*: (MessageGroupId, task id) each.

    Messages are returned in the order SQS delivered them.
    """
    client = endpoint.client()
    url = client.get_queue_url(QueueName=queue)["QueueUrl"]
    found: list[tuple[str | None, str]] = []
    deadline = time.monotonic() + RECEIVE_TIMEOUT
    while len(found) < expected and time.monotonic() < deadline:
        received = client.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=60,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["MessageGroupId"],
        ).get("Messages", [])
        for message in received:
            group = message.get("Attributes", {}).get("MessageGroupId")
            found.append((group, task_id(decode_kombu_message(message["Body"]))))
            client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


@pytest.mark.parametrize(
    ("mode", "groups"),
    [
        ("default", ["default", "default", "default"]),
        ("queue", ["export", "export", "msg"]),
        ("task", ["export.render", "export.upload", "msg.email"]),
    ],
)
def test_monitor_copies_carry_the_group(
    sqs_endpoint: SQSEndpoint,
    queue_prefix: str,
    make_sqs_app: Callable[..., Celery],
    mode: str,
    groups: list[str],
) -> None:
    """Each monitor copy is in the group the setting names; the work queues still get theirs."""
    app = make_sqs_app(MONITOR_MESSAGE_GROUP=mode)
    names = ["export.render", "export.upload", "msg.email"]
    sent = {app.send_task(name).id: name for name in names}
    received = receive_with_groups(sqs_endpoint, f"{queue_prefix}-platform.fifo", len(names))
    assert sorted((sent[tid], group) for group, tid in received) == sorted(
        zip(names, groups, strict=True)
    )
    export = [task_id(m) for m in sqs_endpoint.drain(f"{queue_prefix}-export", wait=2)]
    msg = [task_id(m) for m in sqs_endpoint.drain(f"{queue_prefix}-msg", wait=2)]
    assert sorted(export + msg) == sorted(sent)


@pytest.mark.parametrize(
    ("mode", "first", "second"),
    [("queue", "export.render", "msg.email"), ("task", "export.render", "export.upload")],
)
def test_order_is_kept_within_each_group(
    sqs_endpoint: SQSEndpoint,
    queue_prefix: str,
    make_sqs_app: Callable[..., Celery],
    mode: str,
    first: str,
    second: str,
) -> None:
    """Tasks sent alternately in two groups are read from the monitor in send order per group."""
    app = make_sqs_app(MONITOR_MESSAGE_GROUP=mode)
    count = 15
    sent: dict[str, list[str]] = {first: [], second: []}
    for index in range(count):
        for name in (first, second):
            sent[name].append(app.send_task(name, args=(index,)).id)
    group_of = {first: app.amqp.router.route({}, first)["MessageGroupId"]}
    group_of[second] = app.amqp.router.route({}, second)["MessageGroupId"]
    assert group_of[first] != group_of[second]

    received = receive_with_groups(sqs_endpoint, f"{queue_prefix}-platform.fifo", 2 * count)
    by_group: dict[Any, list[str]] = {}
    for group, tid in received:
        by_group.setdefault(group, []).append(tid)
    assert by_group == {group_of[first]: sent[first], group_of[second]: sent[second]}

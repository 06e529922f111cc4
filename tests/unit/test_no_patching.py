"""
The library patches nothing of Celery's or kombu's: no class attribute, no instance method.

Configuring apps, sending through them (with the platform's ``AMQP`` subclass too) and
running the ``worker_init`` handler leaves the classes of Celery and kombu as they were,
and leaves on an app's ``AMQP`` instance nothing but what Celery itself caches there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Celery, signals
from celery.app.amqp import AMQP
from celery.app.task import Task
from kombu.transport import SQS, memory, redis, virtual

from cadasta.workertoolbox.conf import Config
from tests.platform_apps import CircuitBreakerAMQP

#: The classes a library could be tempted to patch on the send and receive paths.
CLASSES: tuple[type, ...] = (
    AMQP,
    Celery,
    Task,
    virtual.Channel,
    SQS.Channel,
    SQS.Transport,
    memory.Channel,
    memory.Transport,
    redis.Channel,
    redis.Transport,
)


def snapshot() -> dict[type, dict[str, Any]]:
    """The attributes each class defines itself."""
    return {cls: dict(vars(cls)) for cls in CLASSES}


def test_configuring_sending_and_starting_a_worker_patch_no_class(
    make_config: Callable[..., Config], memory_queues: dict[str, Any]
) -> None:
    """Classes of Celery and kombu define the same attributes before and after."""
    before = snapshot()
    plain = Celery("plain", set_as_current=False)
    plain.config_from_object(make_config(broker_url="memory://"))
    platform = Celery("platform", amqp=CircuitBreakerAMQP, set_as_current=False)
    platform.config_from_object(make_config(broker_transport="memory"))
    # A worker on SQS: its set-up fails (nothing listens there), after any patching.
    sqs = Celery("sqs", set_as_current=False)
    sqs.config_from_object(
        make_config(
            broker_url="sqs://key:secret@127.0.0.1:1", broker_transport_options={"max_retries": 0}
        )
    )
    for app in (plain, platform):
        app.send_task("export.project")
    for app in (plain, platform, sqs):
        signals.worker_init.send(sender=type("Worker", (), {"app": app})())
    assert snapshot() == before
    assert memory_queues["export"].qsize() == memory_queues["platform.fifo"].qsize() == 2
    assert sqs.is_set_up is False
    for app in (plain, platform, sqs):
        app.close()


def test_an_apps_amqp_holds_only_what_celery_caches(make_config: Callable[..., Config]) -> None:
    """After a send, the AMQP instance's send_task_message is Celery's own function."""
    app = Celery("plain", set_as_current=False)
    app.config_from_object(make_config(broker_url="memory://"))
    assert "send_task_message" not in vars(app.amqp)
    app.send_task("export.project")
    sender = vars(app.amqp)["send_task_message"]
    assert sender.__module__ == "celery.app.amqp"
    app.close()

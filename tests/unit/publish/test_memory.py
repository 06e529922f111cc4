"""
The library's memory transport under real apps, as the platform and workers build them.

Messages land in kombu's own memory queues (the ``memory_queues`` fixture), which the
library's transport shares with kombu's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery import Celery
from kombu.transport import memory as kombu_memory

from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.publish import memory
from cadasta.workertoolbox.publish.transports import TRANSPORTS
from tests.platform_apps import APP_SHAPES, build, send


def platform_config() -> Config:
    """The platform's configuration, on the memory transport."""
    return Config(
        broker_transport="memory",
        QUEUE_PREFIX="test",
        SETUP_SENTRY_LOGGING=False,
        SETUP_FILE_LOGGING=False,
        environ={},
    )


@pytest.fixture
def platform_app(memory_queues: dict[str, Any]) -> Iterator[Callable[..., Celery]]:
    """Build apps of a shape of platform_apps, configured as the platform's; close them after."""
    apps: list[Celery] = []

    def make(shape: str) -> Celery:
        app = build(shape)
        app.config_from_object(platform_config())
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


def sent_ids(queues: dict[str, Any]) -> dict[str, list[str]]:
    """The task ids each non-empty memory queue holds, in order."""
    return {
        name: [message["headers"]["id"] for message in queue.queue]
        for name, queue in queues.items()
        if queue.qsize()
    }


def test_the_platforms_configuration_chooses_the_librarys_transport() -> None:
    """broker_transport='memory' becomes the library's memory transport; no URL is needed."""
    config = platform_config()
    assert config["broker_transport"] == TRANSPORTS["memory"]
    app = Celery("platform", set_as_current=False)
    try:
        app.config_from_object(config)
        with app.connection_for_write() as connection:
            assert isinstance(connection.transport, memory.Transport)
            assert isinstance(connection.default_channel, memory.Channel)
    finally:
        app.close()


@pytest.mark.parametrize("shape", APP_SHAPES)
def test_an_app_that_sets_itself_up_before_sending(
    platform_app: Callable[..., Celery], memory_queues: dict[str, Any], shape: str
) -> None:
    """
    The platform's pattern: set up on the first send, then call super().

    Each send is in the work queue once and in the monitor's queue once, whether the
    set-up runs in an AMQP subclass, a Celery subclass or a Task subclass.
    """
    app = platform_app(shape)
    ids = [send(app, shape, value).id for value in range(3)]
    assert app.is_set_up is True
    assert sent_ids(memory_queues) == {"platform.fifo": ids, "export": ids}


def test_a_worker_app_sends_without_setting_up(
    make_app: Callable[..., Celery], memory_queues: dict[str, Any]
) -> None:
    """A worker's app that never ran setup_app: its router declares both queues on first send."""
    app = make_app()
    first = app.send_task("export.render", args=(1,)).id
    second = app.send_task("msg.send", args=(2,)).id
    assert not getattr(app, "is_set_up", False)
    assert sent_ids(memory_queues) == {
        "platform.fifo": [first, second],
        "export": [first],
        "msg": [second],
    }


def test_an_app_sends_the_monitors_copy_first(
    make_app: Callable[..., Celery], memory_queues: dict[str, Any]
) -> None:
    """Through Celery's producer too, the monitor's copy is sent before the work queue's."""
    puts: list[str] = []

    class RecordingChannel(memory.Channel):
        """The library's memory channel, recording each call to the broker."""

        def _put(self, queue: str, message: dict[str, Any], **kwargs: Any) -> None:
            """Record the queue, then put the message."""
            puts.append(queue)
            super()._put(queue, message, **kwargs)

    class RecordingTransport(memory.Transport):
        """The library's memory transport, recording."""

        Channel = RecordingChannel

    app = make_app()
    with app.connection_for_write(transport=RecordingTransport) as connection:
        for name in ("celery", "export", "msg"):
            app.send_task(f"{name}.ping", connection=connection)
    assert puts == ["platform.fifo", "celery", "platform.fifo", "export", "platform.fifo", "msg"]


def test_the_queues_are_kombus_memory_queues(memory_queues: dict[str, Any]) -> None:
    """The library's channel keeps messages where kombu's memory channel does."""
    assert memory.Channel.queues is kombu_memory.Channel.queues
    assert memory_queues is kombu_memory.Channel.queues

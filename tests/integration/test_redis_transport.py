"""
The library's Redis transport on a real Redis server: the send path of SQS, on Redis.

kombu's Redis transport keeps its bindings in Redis and, like SQS, delivers again a
message left unacknowledged for the visibility timeout. A ``Config`` with a ``redis://``
broker chooses the library's Redis transport: each task reaches its work queue and the
monitor queue once (a Redis list each), and a task due later than the visibility
timeout allows is refused before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery import Celery

from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.exceptions import VisibilityTimeoutError
from cadasta.workertoolbox.publish.transports import TRANSPORTS

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    """A client of the test's Redis database, emptied before and after the test."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def make_redis_app(redis_url: str) -> Iterator[Callable[..., Celery]]:
    """Build apps configured with Config on the Redis broker."""
    apps: list[Celery] = []

    def make(**settings: Any) -> Celery:
        app = Celery("redis", set_as_current=False)
        app.config_from_object(
            Config(environ={}, broker_url=redis_url, result_backend="cache+memory://", **settings)
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


def test_each_task_reaches_its_queue_and_the_monitor_once(
    make_redis_app: Callable[..., Celery], redis_client: Any
) -> None:
    """Three tasks of two queues: one copy each in its work queue and in the monitor queue."""
    app = make_redis_app(QUEUES=["export", "msg"])
    assert app.conf.broker_transport == TRANSPORTS["redis"]
    sent = [app.send_task(name).id for name in ("export.a", "export.b", "msg.c")]
    assert redis_client.llen("export") == 2
    assert redis_client.llen("msg") == 1
    assert redis_client.llen("platform.fifo") == 3
    assert len(set(sent)) == 3


def test_a_task_due_too_late_is_refused_and_nothing_is_sent(
    make_redis_app: Callable[..., Celery], redis_client: Any
) -> None:
    """countdown=5000 (the default limit is 3240 s) raises; neither list holds a message."""
    app = make_redis_app(QUEUES=["export"])
    with pytest.raises(VisibilityTimeoutError, match="Redis delivers a message again"):
        app.send_task("export.late", countdown=5000)
    assert redis_client.llen("export") == redis_client.llen("platform.fifo") == 0

import dataclasses

import pytest
from kombu.entity import Exchange, Queue

from cadasta.workertoolbox.config._topology import CELERY_QUEUE, Topology


@pytest.fixture
def topology() -> Topology:
    """The default topology: two work queues and the monitor."""
    return Topology.build(["export", "msg"], "platform.fifo", "task_exchange")


def test_one_topic_exchange(topology: Topology) -> None:
    """Every queue is bound to the one topic exchange."""
    assert topology.exchange == Exchange("task_exchange", type="topic")
    for queue in topology.task_queues:
        assert queue.exchange is topology.exchange


def test_task_queues(topology: Topology) -> None:
    """task_queues is celery, the monitor bound with '#', then one queue per work queue."""
    assert topology.task_queues == (
        Queue("celery", topology.exchange, routing_key="celery"),
        Queue("platform.fifo", topology.exchange, routing_key="#"),
        Queue("export", topology.exchange, routing_key="export"),
        Queue("msg", topology.exchange, routing_key="msg"),
    )
    assert topology.platform_queue.routing_key == "#"
    assert CELERY_QUEUE == "celery"


def test_queues_by_routing_key(topology: Topology) -> None:
    """Each work queue, and celery, is found by its routing key, which is its name."""
    assert {key: q.name for key, q in topology.queues_by_routing_key.items()} == {
        "celery": "celery",
        "export": "export",
        "msg": "msg",
    }


@pytest.mark.parametrize(
    ("names", "work"),
    [
        (["export", "celery", "msg"], ("export", "msg")),
        (["export", "export", "msg"], ("export", "msg")),
        ((n for n in ["msg", "export"]), ("msg", "export")),
        ([], ()),
    ],
)
def test_build_removes_duplicates(names: list[str], work: tuple[str, ...]) -> None:
    """build() keeps each work queue once, in order, and celery only as Celery's queue."""
    topology = Topology.build(names, "platform.fifo", "task_exchange")
    assert topology.work_queue_names == work
    assert [q.name for q in topology.task_queues] == ["celery", "platform.fifo", *work]


def test_exchange_type() -> None:
    """The exchange type is configurable; topic by default."""
    topology = Topology.build(["export"], "monitor", "tasks", "direct")
    assert topology.exchange == Exchange("tasks", type="direct")
    assert topology.platform_queue == Queue("monitor", topology.exchange, routing_key="#")


def test_frozen_and_compared_by_its_arguments(topology: Topology) -> None:
    """A topology is immutable and equal to another built from the same arguments."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        topology.exchange_name = "other"  # type: ignore[misc]
    assert topology == Topology(("export", "msg"), "platform.fifo", "task_exchange")
    assert "Queue" not in repr(topology)

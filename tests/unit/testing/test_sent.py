"""The fast mode's recorder of sends (``recording_sends``), without a broker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from celery import Celery

from cadasta.workertoolbox.testing import SentTasks, recording_sends


@pytest.fixture
def app(make_app: Callable[..., Celery]) -> Celery:
    """An app of the architecture with the export queue and two tasks."""
    app = make_app(QUEUES=["export"])

    @app.task(name="export.render", shared=False)
    def render(project_id: int, fmt: str = "pdf") -> str:
        return f"{project_id}.{fmt}"

    @app.task(name="stray.job", shared=False)
    def stray() -> None:
        """Named after no queue of QUEUES."""

    return app


def test_a_send_is_recorded_with_its_queues_and_nothing_is_sent(app: Celery) -> None:
    """Name, args, kwargs, routing key, the work queue and the monitor; no broker."""
    with recording_sends(app) as sent:
        result = app.tasks["export.render"].delay(7, fmt="svg")

    (task,) = sent
    assert (task.name, task.id, task.args, task.kwargs) == (
        "export.render",
        result.id,
        (7,),
        {"fmt": "svg"},
    )
    assert (task.exchange, task.routing_key) == ("task_exchange", "export")
    assert (task.work_queues, task.monitor, task.reaches_monitor) == (
        {"export"},
        "platform.fifo",
        True,
    )
    assert (task.parent_id, task.root_id, task.group_id) == (None, result.id, None)
    assert task.options["queue"] == "export"
    assert str(task) == (
        f"export.render(7, fmt='svg') id={result.id} to exchange 'task_exchange' with "
        "routing key 'export', reaching ['export', 'platform.fifo']"
    )


def test_a_send_to_the_default_exchange_says_so(app: Celery) -> None:
    """A task published to the default exchange reaches the queue its routing key names."""
    with recording_sends(app) as sent:
        app.send_task("export.render", args=(1,), exchange="", routing_key="export")

    (task,) = sent
    assert task.exchange == ""
    assert "to the default exchange with routing key 'export'" in str(task)


def test_protocol_1_messages_are_read_too(make_app: Callable[..., Celery]) -> None:
    """Celery's protocol 1 puts args, kwargs and callbacks in a dict body: read as well."""
    app = make_app(QUEUES=["export"], task_protocol=1)

    @app.task(name="export.render", shared=False)
    def render(x: int = 0, y: int = 0) -> int:
        return x + y

    with recording_sends(app) as sent:
        render.apply_async((3,), {"y": 4}, link=render.s())
        render.apply_async()

    first, second = sent
    assert (first.args, first.kwargs) == ((3,), {"y": 4})
    assert [link["task"] for link in first.embed["callbacks"]] == ["export.render"]
    assert (second.args, second.kwargs, second.embed) == ((), {}, {})


def test_the_recorded_tasks_are_a_sequence_that_can_be_cleared(app: Celery) -> None:
    """Indexing, slicing, names, named(); clear() forgets what was sent."""
    render = app.tasks["export.render"]
    with recording_sends(app) as sent:
        assert sent.describe() == "no task was sent"
        render.delay(1)
        render.delay(2)

        assert sent.names == ["export.render"] * 2
        assert [task.args for task in sent[:1]] == [(1,)]
        assert sent[-1].args == (2,)
        assert len(sent.named("export.render")) == 2
        assert repr(sent).startswith("<SentTasks: 2 task(s) sent:\n  1. export.render(1)")
        sent.clear()
        assert (len(sent), sent.names) == (0, [])


@pytest.mark.parametrize("times", [0, 2])
def test_one_fails_listing_every_task_sent(app: Celery, times: int) -> None:
    """None or several tasks of the name: the message says how many and lists them all."""
    with recording_sends(app) as sent:
        for n in range(times):
            app.tasks["export.render"].delay(n)

        with pytest.raises(AssertionError) as raised:
            sent.one("export.render")

    message = str(raised.value)
    assert message.startswith(f"expected one task 'export.render' to be sent, found {times}; ")
    assert message.endswith(
        "no task was sent" if times == 0 else "reaching ['export', 'platform.fifo']"
    )


def test_a_task_that_reaches_no_work_queue_fails_the_test_at_once(app: Celery) -> None:
    """The conformance suite's message, with the task's id; nothing is recorded."""
    with recording_sends(app) as sent:
        with pytest.raises(pytest.fail.Exception) as raised:
            app.tasks["stray.job"].delay()

        assert len(sent) == 0
    message = str(raised.value)
    assert message.startswith("sending stray.job[")
    assert "1 task(s) reach no work queue of QUEUES" in message
    assert "Add the missing queue(s) ['stray'] to QUEUES" in message


def test_recording_twice_at_once_is_refused(app: Celery) -> None:
    """A second recorder inside the first: an error that says to use the fixture once."""
    with (
        recording_sends(app),
        pytest.raises(RuntimeError, match="once per test"),
        recording_sends(app),
    ):
        pass


def test_the_apps_sender_is_put_back(app: Celery) -> None:
    """After the block, sends go through what the app had: its class's or its own."""
    amqp = app.amqp
    with recording_sends(app):
        pass
    assert "send_task_message" not in vars(amqp)

    def own(*args: Any, **kwargs: Any) -> None:
        """The app's own sender, set on its amqp."""

    amqp.send_task_message = own
    with recording_sends(app) as sent:
        assert isinstance(sent, SentTasks)
        assert amqp.send_task_message is not own
    assert amqp.send_task_message is own


@pytest.mark.parametrize("protocol", [1, 2])
def test_a_task_due_too_late_is_refused_as_the_transport_refuses_it(
    make_app: Callable[..., Celery], protocol: int
) -> None:
    """A countdown beyond 90 % of the visibility timeout: the same error, nothing recorded."""
    from cadasta.workertoolbox.exceptions import VisibilityTimeoutError

    app = make_app(QUEUES=["export"], task_protocol=protocol, broker_url="sqs://")
    with recording_sends(app) as sent:
        app.send_task("export.render", countdown=3000)  # 3000 s: within 3240 s, recorded
        with pytest.raises(VisibilityTimeoutError, match=r"Refused to send task 'export.render'"):
            app.send_task("export.render", countdown=3600)
    assert len(sent) == 1


def test_a_late_task_on_a_broker_that_redelivers_nothing_is_recorded(app: Celery) -> None:
    """The memory transport has no visibility timeout: nothing to refuse, as in production."""
    with recording_sends(app) as sent:
        app.send_task("export.render", countdown=7200)
    assert sent.names == ["export.render"]

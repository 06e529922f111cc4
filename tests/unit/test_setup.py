import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from celery import Celery, signals
from celery.worker import WorkController
from kombu.exceptions import OperationalError
from kombu.transport import memory

from cadasta.workertoolbox.setup import (
    SETUP_STEPS,
    cap_chord_unlock_retries,
    declare_topology,
    is_configured_by_toolbox,
    setup_app,
)

pytestmark = pytest.mark.usefixtures("memory_queues")

LOGGER = "cadasta.workertoolbox.setup"
#: A broker that refuses connections at once; with no retries, connecting fails fast.
UNREACHABLE = {
    "broker_url": "amqp://guest:guest@127.0.0.1:1//",
    "broker_transport_options": {"max_retries": 0},
}
BINDINGS = {
    ("celery", "task_exchange", "celery"),
    ("platform.fifo", "task_exchange", "#"),
    ("export", "task_exchange", "export"),
    ("msg", "task_exchange", "msg"),
}


def _bindings() -> set[tuple[str, str, str]]:
    return {tuple(key) for key in memory.Transport.global_state.bindings}


class _Sender:
    """What sends worker_init: anything with the worker's app as ``app``."""

    def __init__(self, app: Celery) -> None:
        self.app = app


def _plain_app(**settings: Any) -> Celery:
    app = Celery("plain", set_as_current=False)
    app.conf.update(broker_url="memory://", **settings)
    return app


def test_steps() -> None:
    """setup_app caps chord_unlock, then declares the topology."""
    assert tuple(SETUP_STEPS) == (cap_chord_unlock_retries, declare_topology)


def test_declares_everything(make_app: Callable[..., Celery]) -> None:
    """On a memory broker, the exchange, every queue and every binding exist afterwards."""
    app = make_app()
    assert _bindings() == set()
    assert setup_app(app) is True
    assert app.is_set_up is True
    assert _bindings() == BINDINGS
    exchanges = dict(memory.Transport.global_state.exchanges or {})
    assert exchanges["task_exchange"]["type"] == "topic"
    assert {"celery", "platform.fifo", "export", "msg"} <= set(memory.Channel.queues)


def test_caps_chord_unlock(make_app: Callable[..., Celery]) -> None:
    """chord_unlock's max_retries is CHORD_UNLOCK_MAX_RETRIES after set-up."""
    app = make_app(CHORD_UNLOCK_MAX_RETRIES=9)
    setup_app(app)
    assert app.tasks["celery.chord_unlock"].max_retries == 9 == app.conf.CHORD_UNLOCK_MAX_RETRIES


@pytest.mark.parametrize(("settings", "cap"), [({}, 43200), ({"CHORD_UNLOCK_MAX_RETRIES": 5}, 5)])
def test_caps_any_app(settings: dict[str, Any], cap: int) -> None:
    """An app not configured with Config is capped at its variable, else at 43200."""
    app = _plain_app(**settings)
    try:
        assert app.tasks["celery.chord_unlock"].max_retries is None
        assert setup_app(app) is True
        assert app.tasks["celery.chord_unlock"].max_retries == cap
    finally:
        app.close()


def test_throw_reraises_the_failure(make_app: Callable[..., Celery]) -> None:
    """With throw=True (the default) a failing step raises, quickly, and is_set_up is False."""
    app = make_app(**UNREACHABLE)
    started = time.monotonic()
    with pytest.raises(OperationalError, match="Connection refused"):
        setup_app(app)
    assert time.monotonic() - started < 5
    assert app.is_set_up is False


def test_without_throw_failures_are_logged(
    make_app: Callable[..., Celery], caplog: pytest.LogCaptureFixture
) -> None:
    """With throw=False a failing step is logged with its traceback; the others still run."""
    app = make_app(CHORD_UNLOCK_MAX_RETRIES=3, **UNREACHABLE)
    app.tasks.unregister("celery.chord_unlock")
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        assert setup_app(app, throw=False) is False
    assert app.is_set_up is False
    assert [r.getMessage() for r in caplog.records] == [
        "Failed to run setup function 'cap_chord_unlock_retries'(app)",
        "Failed to run setup function 'declare_topology'(app)",
    ]
    assert all(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)


def test_one_failure_does_not_stop_the_others(
    make_app: Callable[..., Celery], caplog: pytest.LogCaptureFixture
) -> None:
    """When declaring fails, chord_unlock is still capped."""
    app = make_app(CHORD_UNLOCK_MAX_RETRIES=3, **UNREACHABLE)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        assert setup_app(app, throw=False) is False
    assert app.tasks["celery.chord_unlock"].max_retries == 3
    assert [r.getMessage() for r in caplog.records] == [
        "Failed to run setup function 'declare_topology'(app)"
    ]


def test_is_configured_by_toolbox(make_app: Callable[..., Celery]) -> None:
    """Only an app configured with Config is recognised as the toolbox's."""
    app, plain = make_app(), _plain_app()
    try:
        assert is_configured_by_toolbox(app)
        assert not is_configured_by_toolbox(plain)
    finally:
        plain.close()


def test_worker_init_sets_up_the_worker(make_app: Callable[..., Celery]) -> None:
    """A worker of an app configured with Config sets the app up as it is created."""
    app = make_app(result_backend="cache+memory://", imports=())
    WorkController(app=app, pool="solo", without_mingle=True, without_gossip=True)
    assert app.is_set_up is True
    assert _bindings() == BINDINGS


def test_worker_init_ignores_other_apps() -> None:
    """A worker of an app not configured with Config is left alone."""
    app = _plain_app(result_backend="cache+memory://")
    try:
        WorkController(app=app, pool="solo", without_mingle=True, without_gossip=True)
        assert not hasattr(app, "is_set_up")
        assert _bindings() == set()
    finally:
        app.close()


def test_worker_init_without_a_failure_escaping(
    make_app: Callable[..., Celery], caplog: pytest.LogCaptureFixture
) -> None:
    """The worker_init handler logs a failing set-up instead of raising (throw=False)."""
    app = make_app(result_backend="cache+memory://", imports=(), **UNREACHABLE)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        WorkController(app=app, pool="solo", without_mingle=True, without_gossip=True)
    assert app.is_set_up is False
    assert [r.getMessage() for r in caplog.records] == [
        "Failed to run setup function 'declare_topology'(app)"
    ]


def test_worker_init_signal_sent_by_hand(make_app: Callable[..., Celery]) -> None:
    """The handler reads the app from the signal's sender, whatever sends it."""
    app = make_app()
    signals.worker_init.send(sender=_Sender(app))
    assert app.is_set_up is True


@pytest.mark.parametrize("sender", [None, object()])
def test_worker_init_without_an_app(sender: object) -> None:
    """A worker_init sent without an app does nothing, and does not fail."""
    signals.worker_init.send(sender=sender)
    assert _bindings() == set()


def test_a_users_chord_unlock_annotation_holds_after_set_up(
    make_app: Callable[..., Celery],
) -> None:
    """setup_app fills in the cap only where the app's annotations left Celery's default."""
    app = make_app(task_annotations={"celery.chord_unlock": {"max_retries": 7}})
    setup_app(app)
    assert app.tasks["celery.chord_unlock"].max_retries == 7


def test_failures_are_logged_again_once_the_worker_logs(
    make_app: Callable[..., Celery], caplog: pytest.LogCaptureFixture
) -> None:
    """celeryd_after_setup repeats worker_init's set-up failures, with traceback, once."""
    app = make_app(**UNREACHABLE)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        assert setup_app(app, throw=False) is False
        caplog.clear()
        signals.celeryd_after_setup.send(sender="worker@host", instance=_Sender(app), conf=app.conf)
        signals.celeryd_after_setup.send(sender="worker@host", instance=_Sender(app), conf=app.conf)
    assert [r.getMessage() for r in caplog.records] == [
        "Failed to run setup function 'declare_topology'(app)"
    ]
    assert caplog.records[0].exc_info is not None
    assert caplog.records[0].exc_info[0] is OperationalError


def test_celeryd_after_setup_without_an_app() -> None:
    """A celeryd_after_setup sent without a worker instance is ignored."""
    signals.celeryd_after_setup.send(sender="worker@host", instance=None, conf=None)


def test_an_amqp_subclass_override_runs_until_the_first_send_gets_past_it(
    make_config: Callable[..., Any], memory_queues: dict[str, Any]
) -> None:
    """
    The platform's AMQP subclass: its override runs until a send gets past setup_app.

    Celery's send_task_message is a cached property: super() stores Celery's sender on
    the instance, which then hides the override (README, "setup_app and errors").
    """
    from celery.app.amqp import AMQP

    calls: list[bool] = []

    class CircuitBreakerAMQP(AMQP):  # type: ignore[misc]
        def send_task_message(self, *args: Any, **kwargs: Any) -> Any:
            calls.append(bool(getattr(self.app, "is_set_up", False)))
            if not getattr(self.app, "is_set_up", False):
                setup_app(self.app, throw=True)
            return super().send_task_message(*args, **kwargs)

    app = Celery("platform", amqp=CircuitBreakerAMQP, set_as_current=False)
    app.config_from_object(make_config(broker_url="memory://"))
    app.send_task("export.project")
    app.send_task("export.project")
    assert calls == [False]
    assert app.is_set_up is True
    assert memory_queues["export"].qsize() == memory_queues["platform.fifo"].qsize() == 2
    app.close()

"""
The send path on SQS: one copy per queue, the monitor's first, and a loud half-failure.

An app configured by ``Config`` on SQS sends with the library's transport
(``cadasta.workertoolbox.publish.sqs``), whose channel sends the platform monitor's copy
of a task first, then the work queue's, one ``SendMessage`` each, retrying each call on
its own after a passing failure. These tests send through a
:class:`~tests.integration.faulty_sqs.FaultySQS` proxy to moto's server, which fails the
calls it is told to and records every ``SendMessage`` in order:

- the platform's own shapes of app (an ``AMQP`` subclass that sets the app up before its
  first send, a ``Celery`` subclass, a ``Task`` subclass) send one copy to each queue, and
  a task due later than the visibility timeout allows reaches no queue;
- each half-failure (a leg, a way of failing, transient or persistent) has the outcome
  of the table in :func:`expected`, the same under two hash seeds (kombu gives the queues
  of a message as a ``set``); the scenarios run in subprocesses
  (``tests/integration/apps/publish_scenarios.py``);
- a message larger than a queue accepts is refused before any copy is sent.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from celery import Celery

from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.exceptions import MessageTooLargeError, VisibilityTimeoutError
from tests.platform_apps import CircuitBreakerAMQP, SetUpCelery, SetUpTask

from .apps.publish_scenarios import LEGS, TASK_NAME, scenario_names
from .apps.worker_process import REPO_ROOT, clean_environment
from .faulty_sqs import Fault, FaultySQS, faulty_sqs
from .services import SQSEndpoint, task_id, unique_prefix

pytestmark = pytest.mark.integration

MONITOR, WORK = LEGS["monitor"], LEGS["work"]
#: Two hash seeds under which kombu's ``set`` gives the two queues in opposite orders
#: (checked by :func:`test_the_hash_seeds_give_both_orders_of_kombus_set`).
HASH_SEEDS = ("0", "3")
SCENARIO_MODULE = "tests.integration.apps.publish_scenarios"
SCENARIO_TIMEOUT = 120


# -- the platform's shapes of app ---------------------------------------------------------


#: How each shape of app is built.
SHAPES: dict[str, Callable[[], Celery]] = {
    "amqp-subclass": lambda: Celery("platform", set_as_current=False, amqp=CircuitBreakerAMQP),
    "celery-subclass": lambda: SetUpCelery("platform", set_as_current=False),
    "task-subclass": lambda: Celery("platform", set_as_current=False, task_cls=SetUpTask),
}


@contextmanager
def platform_app(shape: str, broker_url: str, prefix: str) -> Iterator[Celery]:
    """An app of *shape* configured as the platform configures its own; closed after."""
    app = SHAPES[shape]()
    app.config_from_object(
        Config(
            broker_url=broker_url,
            QUEUE_PREFIX=prefix,
            SETUP_SENTRY_LOGGING=False,
            SETUP_FILE_LOGGING=False,
            environ={},
        )
    )

    @app.task(name=TASK_NAME, shared=False)
    def render(value: int) -> int:
        return value

    try:
        yield app
    finally:
        app.close()


def send(app: Celery, shape: str, sent: str, **options: Any) -> None:
    """Send ``export.render`` with the task id *sent*, the way the *shape* of app does."""
    if shape == "task-subclass":
        app.tasks[TASK_NAME].apply_async(args=[1], task_id=sent, **options)
    else:
        app.send_task(TASK_NAME, args=[1], task_id=sent, **options)


def queue_contents(endpoint: SQSEndpoint, prefix: str) -> dict[str, list[str]]:
    """Receive every message of every queue under *prefix*: name (no prefix) -> task ids."""
    return {
        name.removeprefix(f"{prefix}-"): [task_id(message) for message in endpoint.drain(name)]
        for name in endpoint.queue_names(prefix)
    }


def queues_called(proxy: FaultySQS, sent: str, prefix: str) -> list[str]:
    """The queues (no prefix) of the ``SendMessage`` calls of task *sent*, in order."""
    return [record.queue.removeprefix(f"{prefix}-") for record in proxy.sends_of(sent)]


@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_platforms_apps_send_one_copy_per_queue_and_refuse_late_tasks(
    sqs_endpoint: SQSEndpoint, queue_prefix: str, shape: str
) -> None:
    """
    Each send reaches the work queue and the monitor once; a late task reaches no queue.

    For an ``AMQP`` subclass that runs ``setup_app`` before its first send (the
    platform's circuit breaker), a ``Celery`` subclass overriding ``send_task`` and a
    ``Task`` subclass overriding ``apply_async``, all calling ``super()``: a task with
    ``countdown=5000`` (over the 3240 s a visibility timeout of 3600 s allows) raises
    ``VisibilityTimeoutError`` before any ``SendMessage``, and each of three tasks is
    sent once to ``platform.fifo``, then once to ``export``, and nowhere else.
    """
    with (
        faulty_sqs(sqs_endpoint) as proxy,
        platform_app(shape, proxy.broker_url, queue_prefix) as app,
    ):
        # The overrides are on the send path.
        assert isinstance(app.amqp, CircuitBreakerAMQP) == (shape == "amqp-subclass")
        assert isinstance(app.tasks[TASK_NAME], SetUpTask) == (shape == "task-subclass")
        refused, sent = [str(uuid.uuid4()) for _ in range(2)], [str(uuid.uuid4()) for _ in range(3)]
        # The first send sets the circuit breaker's app up, and is refused.
        with pytest.raises(VisibilityTimeoutError):
            send(app, shape, refused[0], countdown=5000)
        if shape == "amqp-subclass":
            assert app.is_set_up is True
        for task in sent:
            send(app, shape, task)
        with pytest.raises(VisibilityTimeoutError):
            send(app, shape, refused[1], countdown=5000)

        contents = queue_contents(sqs_endpoint, queue_prefix)
        assert sorted(contents[WORK]) == sorted(sent)
        assert sorted(contents[MONITOR]) == sorted(sent)
        assert not any(ids for name, ids in contents.items() if name not in (WORK, MONITOR))
        assert all(proxy.sends_of(task) == [] for task in refused)
        for task in sent:
            assert queues_called(proxy, task, queue_prefix) == [MONITOR, WORK]


# -- half-failures, under two hash seeds --------------------------------------------------


def expected(name: str) -> dict[str, Any]:
    """
    The contracted outcome of scenario *name* (``<leg>/<fault>/<variant>``).

    ``work`` is the set of acceptable counts, or ``"one per try"``: each call to the work
    queue stored a copy (a standard queue cannot deduplicate a call whose answer was lost).
    """
    returned = {"producer": "returned", "delivered": [], "missing": [], "work": {1}, "monitor": 1}
    if name == "none":
        return returned
    leg, fault, variant = name.split("/")
    stored = Fault(fault).stores
    if variant == "transient":
        # The monitor's retried copy has the same deduplication id: SQS keeps one.
        return {**returned, "work": {1, 2} if leg == "work" and stored else {1}}
    if leg == "monitor":
        return {
            "producer": "PublishError",
            "delivered": [],
            "missing": [MONITOR, WORK],
            "work": {0},
            "monitor": 1 if stored else 0,
        }
    return {
        "producer": "PublishError",
        "delivered": [MONITOR],
        "missing": [WORK],
        "work": "one per try" if stored else {0},
        "monitor": 1,
    }


def summary(name: str, outcome: dict[str, Any]) -> dict[str, Any]:
    """The outcome of a scenario as :func:`expected` states it, comparable across runs."""
    work: Any = outcome["work"]
    if expected(name)["work"] == "one per try":
        work_calls = [queue for queue, _ in outcome["calls"] if queue == WORK]
        work = "one per try" if work == len(work_calls) else work
    return {
        "producer": outcome["producer"],
        "delivered": outcome["delivered"],
        "missing": outcome["missing"],
        "work": work,
        "monitor": outcome["monitor"],
        # The queues called, in order, each once: the number of tries depends on timing.
        "queues_called": list(dict.fromkeys(queue for queue, _ in outcome["calls"])),
    }


@pytest.fixture(scope="module")
def reports(sqs_endpoint: SQSEndpoint) -> dict[str, dict[str, Any]]:
    """Run every scenario under each hash seed, in parallel subprocesses: seed -> report."""
    processes = {
        seed: subprocess.Popen(
            [sys.executable, "-m", SCENARIO_MODULE, sqs_endpoint.endpoint_url, unique_prefix()],
            env=clean_environment({"PYTHONHASHSEED": seed}),
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in HASH_SEEDS
    }
    found: dict[str, dict[str, Any]] = {}
    try:
        for seed, process in processes.items():
            out, err = process.communicate(timeout=SCENARIO_TIMEOUT)
            assert process.returncode == 0, f"PYTHONHASHSEED={seed}:\n{err}"
            found[seed] = json.loads(out.strip().splitlines()[-1])
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return found


def test_the_hash_seeds_give_both_orders_of_kombus_set(reports: dict[str, dict[str, Any]]) -> None:
    """
    Under the two seeds, kombu's own ``set`` of queues comes in opposite orders.

    So the scenarios run once with each order kombu would have sent the copies in, and
    each report comes from a process with its own seed.
    """
    assert {seed: report["hash_seed"] for seed, report in reports.items()} == {
        seed: seed for seed in HASH_SEEDS
    }
    orders = {tuple(report["kombu_order"]) for report in reports.values()}
    assert orders == {(MONITOR, WORK), (WORK, MONITOR)}


def test_the_outcomes_are_the_same_under_both_hash_seeds(
    reports: dict[str, dict[str, Any]],
) -> None:
    """Every scenario has the same outcome (producer, queues, copies, order) under each seed."""
    tables = {
        seed: {name: summary(name, outcome) for name, outcome in report["outcomes"].items()}
        for seed, report in reports.items()
    }
    first, second = (tables[seed] for seed in HASH_SEEDS)
    assert list(first) == scenario_names()
    assert first == second


@pytest.mark.parametrize("name", scenario_names())
@pytest.mark.parametrize("seed", HASH_SEEDS)
def test_a_half_failure_has_the_contracted_outcome(
    reports: dict[str, dict[str, Any]], seed: str, name: str
) -> None:
    """
    One send with a fault on one leg: the outcome of :func:`expected`, and what shows it.

    A transient fault is retried on its own (one warning) and the send returns. A
    persistent one raises ``PublishError`` (kombu's ``OperationalError``) naming the
    task, its id and both queues, logged once at ERROR; the leg sent before it is not
    sent again, neither by the library nor by Celery's publish retry (on by default),
    and the leg after it is not sent at all. The monitor's copy is always sent first.
    """
    report = reports[seed]
    assert report["task_publish_retry"] is True
    outcome = report["outcomes"][name]
    wanted = expected(name)
    work_wanted = wanted["work"]
    assert {key: outcome[key] for key in ("producer", "delivered", "missing", "monitor")} == {
        key: wanted[key] for key in ("producer", "delivered", "missing", "monitor")
    }
    calls = [queue for queue, _ in outcome["calls"]]
    if work_wanted == "one per try":
        assert outcome["work"] == calls.count(WORK) >= 1
    else:
        assert outcome["work"] in work_wanted
    assert outcome["stray"] == 0
    # The monitor's copy first: every call to the monitor comes before any to the work queue.
    assert calls == sorted(calls, key=lambda queue: queue != MONITOR)

    if name == "none":
        assert calls == [MONITOR, WORK]
        assert (outcome["error_records"], outcome["retry_warnings"]) == (0, 0)
        return
    leg, _, variant = name.split("/")
    failing, other = (MONITOR, WORK) if leg == "monitor" else (WORK, MONITOR)
    faults = [fault for queue, fault in outcome["calls"] if queue == failing]
    if variant == "transient":
        assert faults == [name.split("/")[1], None]
        assert calls.count(other) == 1
        assert (outcome["error_records"], outcome["retry_warnings"]) == (0, 1)
        return
    # Persistent: retried within the budget, every try failed, then one loud error.
    assert len(faults) >= 2
    assert set(faults) == {name.split("/")[1]}
    assert outcome["retry_warnings"] == len(faults) - 1
    assert calls.count(other) == (0 if leg == "monitor" else 1)  # never sent again
    assert outcome["operational_error"] is True
    assert outcome["names_all"] is True
    assert outcome["error_records"] == outcome["error_records_naming_task"] == 1
    # A reset leaves it unknown whether SQS stored the copy: the error says so, and a
    # standard queue's call is tried twice at most (one extra copy at most).
    lost_answer = name.split("/")[1].startswith("reset")
    assert outcome["says_may_hold"] is lost_answer
    if lost_answer and leg == "work":
        assert len(faults) == 2


# -- a message too large --------------------------------------------------------------------


def test_a_message_too_large_for_its_queues_is_refused_before_any_copy_is_sent(
    sqs_endpoint: SQSEndpoint, make_sqs_app: Callable[..., Celery], queue_prefix: str
) -> None:
    """
    With queues that accept 2 KB, a task with a 4 KB argument raises MessageTooLargeError.

    The error names the task, its id, the message's size and the limit; no
    ``SendMessage`` is made for it and neither queue holds a copy. A small task sent
    to the same queues reaches both.
    """
    with faulty_sqs(sqs_endpoint) as proxy:
        app = make_sqs_app(
            "too-large",
            broker_url=proxy.broker_url,
            imports=(),
            broker_transport_options={
                "sqs-creation-attributes": {"MaximumMessageSize": "2048"},
                "wait_time_seconds": 1,
            },
        )
        small = app.send_task(TASK_NAME, args=["x"]).id
        big = str(uuid.uuid4())
        with pytest.raises(MessageTooLargeError) as refused:
            app.send_task(TASK_NAME, args=["x" * 4096], task_id=big)

        error = refused.value
        assert (error.task_name, error.task_id, error.limit) == (TASK_NAME, big, 2048)
        assert error.size is not None
        assert error.size > 4096
        for part in (TASK_NAME, big, f"{error.size} bytes", "2048 bytes"):
            assert part in str(error)
        assert proxy.sends_of(big) == []
        for queue in (WORK, MONITOR):
            attributes = sqs_endpoint.queue_attributes(f"{queue_prefix}-{queue}")
            assert attributes["MaximumMessageSize"] == "2048"
        assert queue_contents(sqs_endpoint, queue_prefix) == {WORK: [small], MONITOR: [small]}

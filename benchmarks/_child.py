"""
One measured run, in a process of its own: ``python _child.py KIND '{json arguments}'``.

A new process per run starts with no connection, no declared queue and no cached
route, as a producer or a worker does. It prints one JSON object on its last line.

Kinds:

``publish``
    Send ``count + 1`` tasks ``export.render`` through ``app.send_task`` and time each
    send. Sides: ``ours`` (Config: the export queue and the monitor's FIFO copy, through
    the library's SQS transport), ``plain`` (Celery's defaults: one queue, ``celery``),
    ``same`` (plain Celery routed by hand to the same two queues, on the same topic
    exchange, with the transport options a Config gives kombu, through kombu's own SQS
    transport), ``ours_groups`` (Config with ``MONITOR_MESSAGE_GROUP='task'``). Each
    side's transport is checked before anything is sent.
``raw``
    The endpoint alone: boto3 ``SendMessage`` calls with a body of a Celery message's
    size, to a standard queue (``std``), or to a standard and a FIFO queue per task
    (``pair``).
``worker``
    Fill the worker's queue with ``count`` tasks, then run one worker (solo pool) and
    time it from ``worker_ready`` until the last task has run. Sides ``ours`` and
    ``plain``; both keep results in memory, so that only the broker is measured.
``route``
    Time ``app.amqp.router.route({}, name)`` for one task name per queue, in blocks.
    Sides: ``ours`` (the router a Config puts in ``task_routes``), ``plain`` (a glob
    ``task_routes`` dict).
``route_churn``
    The same, while ``threads`` threads keep creating Celery apps, configuring each with
    a Config, building its router (as a producer's first send does) and closing it.
    Sides as for ``route``; the churn is the same on both.
``suite``
    Build an app with ``queues`` queues and ``tasks`` tasks, then time
    ``build_functional_tests`` and a run of the test case it returns: the first run in
    a process, as in a worker's test suite.
``modules``
    Import the library and build ``Config()``; tell which heavy modules got imported.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections import Counter
from typing import Any

from _endpoint import AWS_KEY, AWS_REGION, AWS_SECRET

TASK = "export.render"
#: Our queues: ``QUEUES``; ``celery`` and the monitor are added by Config.
OUR_QUEUES = ["export", "msg"]
perf = time.perf_counter


#: Every AWS API call botocore made in this process, by operation name, once counted.
API_CALLS: Counter[str] = Counter()


def _count_api_calls() -> Counter[str]:
    """Count, in :data:`API_CALLS`, every AWS API call botocore makes from now on."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call
    if not getattr(original, "counted", False):

        def counted(self: Any, operation_name: str, api_params: Any) -> Any:
            API_CALLS[operation_name] += 1
            return original(self, operation_name, api_params)

        counted.counted = True  # type: ignore[attr-defined]
        BaseClient._make_api_call = counted
    return API_CALLS


#: The transport options a Config gives kombu on SQS (those kombu reads), written out for
#: the ``same`` side: its queues are created and used as ours are.
SAME_TRANSPORT_OPTIONS = {
    "region": AWS_REGION,
    "wait_time_seconds": 20,
    # The library's channel reads it (kombu's ignores it); both sides carry it.
    "turn_wait_time_seconds": 0,
    "visibility_timeout": 3600,
    "max_retries": 3,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
#: The module of the transport each publishing side must use: ours the library's,
#: the others kombu's own.
EXPECTED_TRANSPORT = {
    "ours": "cadasta.workertoolbox.publish.sqs",
    "ours_groups": "cadasta.workertoolbox.publish.sqs",
    "same": "kombu.transport.SQS",
    "plain": "kombu.transport.SQS",
}


def same_transport_options(prefix: str) -> dict[str, Any]:
    """Return the ``same`` side's transport options, for queues under *prefix*."""
    return {**SAME_TRANSPORT_OPTIONS, "queue_name_prefix": f"{prefix}-"}


def check_side(side: str, app: Any, prefix: str) -> None:
    """
    Make sure *app* is what *side* claims to be; nothing connects.

    Its transport must be the library's for ours and kombu's own otherwise, and the
    ``same`` side must give kombu the transport options our Config gives it.
    """
    with app.connection_for_write() as connection:
        module = type(connection.transport).__module__
    if module != EXPECTED_TRANSPORT[side]:
        raise RuntimeError(f"{side} publishes through {module}, not {EXPECTED_TRANSPORT[side]}")
    if side == "ours":
        from cadasta.workertoolbox.publish.sqs import RETRY_OPTION
        from cadasta.workertoolbox.publish.transports import ENV_PREFIX_OPTION

        library_only = {ENV_PREFIX_OPTION, RETRY_OPTION}  # options kombu does not read
        options = app.conf.broker_transport_options.items()
        ours = {key: value for key, value in options if key not in library_only}
        same = same_transport_options(prefix)
        if ours != same:
            raise RuntimeError(f"the same side's transport options {same} are not ours: {ours}")


def build_app(side: str, broker_url: str, prefix: str, **extra: Any) -> Any:
    """Return the Celery app of *side*, publishing under the queue prefix *prefix*."""
    from celery import Celery

    app = Celery("bench", set_as_current=False)
    if side in ("ours", "ours_groups"):
        from cadasta.workertoolbox.conf import Config

        if side == "ours_groups":
            extra["MONITOR_MESSAGE_GROUP"] = "task"
        app.config_from_object(
            Config(
                environ={},
                QUEUES=OUR_QUEUES,
                QUEUE_PREFIX=prefix,
                broker_url=broker_url,
                imports=(),
                **extra,
            )
        )
        return app
    options = {"region": AWS_REGION, "queue_name_prefix": f"{prefix}-"}
    if side == "same":
        options = same_transport_options(prefix)
    app.conf.update(broker_url=broker_url, broker_transport_options=options, **extra)
    if side == "same":
        from kombu.entity import Exchange, Queue

        exchange = Exchange("task_exchange", type="topic")
        export = Queue("export", exchange, routing_key="export")
        monitor = Queue("platform.fifo", exchange, routing_key="#")
        app.conf.update(
            task_queues=[Queue("celery", exchange, routing_key="celery"), monitor, export],
            task_default_exchange="task_exchange",
            task_default_exchange_type="topic",
            task_routes={
                "export.*": {
                    "queue": "export",
                    "routing_key": "export",
                    "declare": [export, monitor],
                }
            },
        )
    return app


def sqs_client(endpoint_url: str) -> Any:
    """Return a boto3 SQS client of the endpoint at *endpoint_url*, with dummy credentials."""
    import boto3

    return boto3.client(
        "sqs",
        endpoint_url=endpoint_url,
        region_name=AWS_REGION,
        aws_access_key_id=AWS_KEY,
        aws_secret_access_key=AWS_SECRET,
    )


def queue_depths(endpoint_url: str, prefix: str) -> dict[str, int]:
    """Return the number of messages in each queue under *prefix*, by unprefixed name."""
    client = sqs_client(endpoint_url)
    depths = {}
    for url in client.list_queues(QueueNamePrefix=f"{prefix}-").get("QueueUrls", []):
        attributes = client.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        depths[url.rsplit("/", 1)[1][len(prefix) + 1 :]] = int(
            attributes["ApproximateNumberOfMessages"]
        )
    return depths


def publish(
    side: str, broker_url: str, endpoint_url: str, prefix: str, count: int
) -> dict[str, Any]:
    """Send ``count + 1`` tasks and time each send; the first one declares the queues."""
    import boto3  # noqa: F401 (imported ahead by both sides: not part of a publish)

    app = build_app(side, broker_url, prefix)
    check_side(side, app, prefix)
    started = perf()
    app.backend  # noqa: B018 (Celery builds the result backend on the first send)
    backend_seconds = perf() - started
    calls = _count_api_calls()
    seconds = []
    calls_per_send = []
    cpu_started = 0.0
    for index in range(count + 1):
        if index == 1:
            cpu_started = time.process_time()
        before = Counter(calls)
        started = perf()
        app.send_task(TASK, args=(index,))
        seconds.append(perf() - started)
        calls_per_send.append(dict(Counter(calls) - before))
    cpu_seconds = time.process_time() - cpu_started
    app.close()
    return {
        # This process's CPU time per later send: the client's work, without the wait
        # for the endpoint (includes the bookkeeping of this loop, the same on all sides).
        "cpu_per_send": cpu_seconds / count,
        "backend_seconds": backend_seconds,
        "first_seconds": seconds[0],
        "later_seconds": seconds[1:],
        "first_calls": calls_per_send[0],
        "later_calls": dict(sum((Counter(c) for c in calls_per_send[1:]), Counter())),
        "depths": queue_depths(endpoint_url, prefix),
    }


def raw(mode: str, endpoint_url: str, prefix: str, count: int, body_size: int) -> dict[str, Any]:
    """Time boto3 SendMessage calls: to a standard queue, and (``pair``) a FIFO one too."""
    client = sqs_client(endpoint_url)
    standard = client.create_queue(QueueName=f"{prefix}-export")["QueueUrl"]
    fifo = client.create_queue(
        QueueName=f"{prefix}-platform.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    body = "x" * body_size
    standard_seconds, fifo_seconds, task_seconds = [], [], []
    for _ in range(count + 1):
        started = perf()
        client.send_message(QueueUrl=standard, MessageBody=body)
        middle = perf()
        if mode == "pair":
            client.send_message(
                QueueUrl=fifo,
                MessageBody=body,
                MessageGroupId="default",
                MessageDeduplicationId=str(uuid.uuid4()),
            )
            fifo_seconds.append(perf() - middle)
        standard_seconds.append(middle - started)
        task_seconds.append(perf() - started)
    return {
        "later_seconds": task_seconds[1:],
        "standard_seconds": standard_seconds[1:],
        "fifo_seconds": fifo_seconds[1:],
    }


def worker(
    side: str,
    broker_url: str,
    prefix: str,
    count: int,
    result_file: str,
    queues: str | None = None,
    settings: dict[str, Any] | None = None,
) -> None:
    """
    Fill the queue with *count* tasks, then run a worker until it has run them all.

    The worker consumes *queues*: by default ``celery,export`` for ours, as the README
    starts a worker of the export service, and ``celery`` for plain Celery. *settings*
    are added to the configuration.
    """
    from celery import signals

    settings = {"result_backend": "cache+memory://", **(settings or {})}
    app = build_app(side, broker_url, prefix, **settings)

    @app.task(name=TASK, shared=False)
    def render(index: int) -> int:
        return index

    for index in range(count):
        render.delay(index)
    marks: dict[str, float] = {}
    done = 0

    def on_ready(**kwargs: Any) -> None:
        marks["ready"] = perf()

    def on_prerun(**kwargs: Any) -> None:
        marks.setdefault("first", perf())

    def on_postrun(**kwargs: Any) -> None:
        nonlocal done
        done += 1
        if done == count:
            marks["last"] = perf()
            with open(result_file + ".tmp", "w") as file:
                json.dump(marks, file)
            os.replace(result_file + ".tmp", result_file)

    signals.worker_ready.connect(on_ready, weak=False)
    signals.task_prerun.connect(on_prerun, weak=False)
    signals.task_postrun.connect(on_postrun, weak=False)
    if queues is None:
        queues = "celery,export" if side == "ours" else "celery"
    app.worker_main(
        ["worker", "--pool=solo", "--loglevel=WARNING", "-Q", queues,
         "--without-heartbeat", "--without-mingle", "--without-gossip"]
    )  # fmt: skip


def routing_app(side: str, queue_names: list[str]) -> Any:
    """Return the app of a routing *side* that routes ``<queue>.*`` to each queue."""
    from celery import Celery
    from kombu.entity import Queue

    from cadasta.workertoolbox.conf import Config

    app = Celery(side, set_as_current=False)
    if side == "plain":
        every = ["celery", *queue_names]
        app.conf.update(
            broker_url="memory://",
            task_queues=[Queue(name) for name in every],
            task_routes={f"{name}.*": {"queue": name} for name in every},
        )
    elif side == "ours":
        app.config_from_object(Config(environ={}, QUEUES=queue_names, broker_url="memory://"))
    else:
        raise ValueError(f"unknown routing side {side!r}")
    return app


def routed_names(app: Any, side: str, queue_names: list[str]) -> list[str]:
    """
    Return the task names to route: one per queue, and ``celery.chord_unlock``.

    Checks first that *app* routes each to the queue of its prefix, as every side must.
    """
    names = [f"{name}.task" for name in queue_names] + ["celery.chord_unlock"]
    for name in names:
        queue = app.amqp.router.route({}, name)["queue"].name
        if queue != name.split(".")[0]:
            raise RuntimeError(f"{side} routes {name!r} to {queue!r}")
    return names


def time_routing(app: Any, names: list[str], target: float) -> float:
    """Return the seconds per ``router.route({}, name)`` call, over a block of calls."""
    route = app.amqp.router.route
    repeat = 1
    while True:
        started = perf()
        for _ in range(repeat):
            for name in names:
                route({}, name)
        elapsed = perf() - started
        if elapsed >= target or repeat >= 1 << 20:
            return elapsed / (repeat * len(names))
        repeat *= 2


def route(side: str, queue_names: list[str], seconds: float, blocks: int) -> dict[str, Any]:
    """Time the router of *side*: the median of *blocks* blocks, in microseconds per call."""
    import statistics

    app = routing_app(side, queue_names)
    names = routed_names(app, side, queue_names)
    per_call = [time_routing(app, names, seconds) for _ in range(blocks)]
    app.close()
    return {"us": statistics.median(per_call) * 1e6}


def churn_apps(queue_names: list[str], stop: Any, counts: list[int], index: int) -> None:
    """
    Until *stop* is set, create a Celery app, configure it, build its router, close it.

    Each app is configured with a Config, read (Celery loads a configuration lazily) and
    given its router, as a producer's first send does; ``counts[index]`` counts them.
    """
    from celery import Celery

    from cadasta.workertoolbox.conf import Config

    while not stop.is_set():
        app = Celery(f"churn{index}", set_as_current=False)
        app.config_from_object(Config(environ={}, QUEUES=queue_names, broker_url="memory://"))
        app.amqp.router  # noqa: B018 (built on first use, as a first send builds it)
        app.close()
        counts[index] += 1


def route_churn(
    side: str, queue_names: list[str], seconds: float, blocks: int, threads: int = 2
) -> dict[str, Any]:
    """
    Time the router of *side* while *threads* threads create and close apps.

    Returns the median of *blocks* blocks in microseconds per call (the main thread's
    wall time: it shares the interpreter with the churning threads), and the apps
    created and closed per second while the blocks ran.
    """
    import statistics
    import threading

    app = routing_app(side, queue_names)
    names = routed_names(app, side, queue_names)
    stop = threading.Event()
    counts = [0] * threads
    workers = [
        threading.Thread(target=churn_apps, args=(queue_names, stop, counts, index), daemon=True)
        for index in range(threads)
    ]
    for thread in workers:
        thread.start()
    try:
        deadline = perf() + 60.0
        while min(counts) < 2:  # every thread past its first app: the churn has started
            if perf() > deadline:
                raise RuntimeError("the churning threads did not start")
            time.sleep(0.001)
        before, started = sum(counts), perf()
        per_call = [time_routing(app, names, seconds) for _ in range(blocks)]
        churned, elapsed = sum(counts) - before, perf() - started
    finally:
        stop.set()
        for thread in workers:
            thread.join()
    app.close()
    return {"us": statistics.median(per_call) * 1e6, "apps_per_second": churned / elapsed}


def _noop() -> None:
    """The body of the suite's tasks."""


def suite(queues: int, tasks: int) -> dict[str, Any]:
    """Time the conformance suite on an app of *queues* queues and *tasks* tasks."""
    import io
    import unittest

    from celery import Celery

    from cadasta.workertoolbox.conf import Config
    from cadasta.workertoolbox.tests import build_functional_tests

    names = [f"q{index:04d}" for index in range(queues)]
    app = Celery("suite", set_as_current=False)
    # The tasks are registered here, not in a task module: nothing for the suite to import.
    app.config_from_object(Config(environ={}, QUEUES=names, broker_url="memory://", imports=()))
    for index in range(tasks):
        app.task(name=f"{names[index % queues]}.task{index}", shared=False)(_noop)
    app.finalize(auto=True)
    started = perf()
    test_case = build_functional_tests(app)
    tests = unittest.defaultTestLoader.loadTestsFromTestCase(test_case)
    result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(tests)
    seconds = perf() - started
    return {"seconds": seconds, "tests": result.testsRun, "passed": result.wasSuccessful()}


#: Modules that must not be imported by ``import`` or ``Config()``: each costs a producer
#: tenths of a second at start.
HEAVY_MODULES = ("boto3", "botocore", "sqlalchemy", "sentry_sdk", "pycurl", "kombu.transport.SQS")


def modules() -> dict[str, Any]:
    """Import the library and build Config(); return the heavy modules now imported."""
    from cadasta.workertoolbox.conf import Config

    Config()
    return {"heavy": [name for name in HEAVY_MODULES if name in sys.modules]}


def main() -> None:
    """Run the measured run named on the command line; print its result as JSON."""
    kind, arguments = sys.argv[1], json.loads(sys.argv[2])
    if kind == "publish":
        print(json.dumps(publish(**arguments)))
    elif kind == "raw":
        print(json.dumps(raw(**arguments)))
    elif kind == "worker":
        worker(**arguments)
    elif kind == "route":
        print(json.dumps(route(**arguments)))
    elif kind == "route_churn":
        print(json.dumps(route_churn(**arguments)))
    elif kind == "suite":
        print(json.dumps(suite(**arguments)))
    elif kind == "modules":
        print(json.dumps(modules()))
    else:
        raise SystemExit(f"unknown kind {kind!r}")


if __name__ == "__main__":
    main()

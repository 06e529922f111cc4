"""
The half-failure scenarios of the send path on SQS, run in a process of their own.

One send of a task is two ``SendMessage`` calls: the platform monitor's copy
(``<prefix>-platform.fifo``), then the work queue's (``<prefix>-export``). For each leg,
each way of failing of :class:`~tests.integration.faulty_sqs.Fault` and each variant
(*transient*: the call fails once; *persistent*: it fails longer than the library's
retry budget), this module sends one task through a
:class:`~tests.integration.faulty_sqs.FaultySQS` proxy to moto's server and records
what the producer saw, the copies of the task in each queue and the ``SendMessage``
calls of the task, in order. A scenario without a fault comes first.

kombu's topic exchange gives the queues of a message as a ``set``, whose order depends on
``PYTHONHASHSEED``; the test runs this module under two seeds and compares the tables::

    PYTHONHASHSEED=0 python -m tests.integration.apps.publish_scenarios URL PREFIX

with the URL of moto's server and a queue prefix of the run's own.

It prints one JSON line: the hash seed, the order of kombu's own ``set`` for the task's
routing key, Celery's ``task_publish_retry`` and the outcome of each scenario
(:func:`run_scenario`), by name ``<leg>/<fault>/<variant>``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import uuid
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from celery import Celery
from kombu.exceptions import OperationalError

from cadasta.workertoolbox.conf import Config

from ..faulty_sqs import Fault, FaultySQS, faulty_sqs
from ..services import SQSEndpoint, task_id

#: The legs of a send: what the test calls each, and the queue (without its prefix).
LEGS = {"monitor": "platform.fifo", "work": "export"}
#: How many times each variant fails the call: once, or more than the budget allows.
VARIANTS = {"transient": 1, "persistent": 1000}
#: The task sent: routed to ``export`` (and, through ``#``, to the monitor).
TASK_NAME = "export.render"
#: A retry budget of one second for one copy's call, so that a persistent failure is
#: over quickly. botocore's own retries are left as they are: the library sends copies
#: with a client of its own that tries each call once.
TRANSPORT_OPTIONS: dict[str, Any] = {
    "publish_retry_seconds": 1,
    "wait_time_seconds": 1,
    "polling_interval": 0.1,
}
#: The logger of the send path.
PUBLISH_LOGGER = "cadasta.workertoolbox.publish"


class Records(logging.Handler):
    """Keep the records of a logger, to count them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep *record*."""
        self.records.append(record)


def scenario_names() -> list[str]:
    """The names of the scenarios, in the order they run: ``<leg>/<fault>/<variant>``."""
    return ["none"] + [
        f"{leg}/{fault.value}/{variant}" for leg in LEGS for fault in Fault for variant in VARIANTS
    ]


def make_app(broker_url: str, prefix: str) -> Celery:
    """An app configured by ``Config`` on SQS, as a producer that only sends."""
    app = Celery("publish-scenarios", set_as_current=False)
    app.config_from_object(
        Config(
            environ={},
            broker_url=broker_url,
            QUEUE_PREFIX=prefix,
            SETUP_SENTRY_LOGGING=False,
            SETUP_FILE_LOGGING=False,
            result_backend="cache+memory://",
            imports=(),
            broker_transport_options=TRANSPORT_OPTIONS,
        )
    )
    return app


def kombu_order(app: Celery) -> list[str]:
    """The queues of the task's routing key in the order of kombu's own ``set``."""
    exchange = app.conf.task_default_exchange
    with app.producer_or_acquire() as producer:
        channel = producer.channel
        found = channel.typeof(exchange).lookup(
            channel.get_table(exchange), exchange, "export", None
        )
        return [str(queue) for queue in found]


def run_scenario(
    app: Celery, proxy: FaultySQS, upstream: SQSEndpoint, prefix: str, name: str
) -> dict[str, Any]:
    """
    Send one task with the fault of scenario *name*; return what happened.

    The outcome: ``producer`` (``returned`` or the exception's type), ``delivered`` and
    ``missing`` (the error's, without the prefix), ``operational_error`` (whether it is
    kombu's ``OperationalError``), ``says_may_hold`` (whether its message says the
    failing queue may hold the copy, its last answer lost), ``names_all`` (whether its
    message names the task, its id and both queues), ``error_records`` and
    ``retry_warnings`` (on the send path's logger), ``work`` and ``monitor`` (the task's
    copies in each queue), ``stray`` (other messages found there), ``calls`` (the task's
    ``SendMessage`` calls in order: ``[queue, fault or None]``) and ``seconds``.
    """
    if name != "none":
        leg, fault, variant = name.split("/")
        proxy.fail_next_sends(Fault(fault), VARIANTS[variant], f"-{LEGS[leg]}")
    records = Records()
    logger = logging.getLogger(PUBLISH_LOGGER)
    logger.addHandler(records)
    sent = str(uuid.uuid4())
    started = time.monotonic()
    error: BaseException | None = None
    try:
        app.send_task(TASK_NAME, args=[name], task_id=sent)
    except Exception as raised:
        error = raised
    finally:
        seconds = time.monotonic() - started
        logger.removeHandler(records)
        proxy.clear_faults()
    queues = {leg: f"{prefix}-{queue}" for leg, queue in LEGS.items()}
    copies = {leg: Counter(task_id(m) for m in upstream.drain(q)) for leg, q in queues.items()}

    def short(names: Any) -> list[str]:
        return [str(n).removeprefix(f"{prefix}-") for n in names or ()]

    text = str(error or "")
    return {
        "producer": "returned" if error is None else type(error).__name__,
        "delivered": short(getattr(error, "delivered", ())),
        "missing": short(getattr(error, "missing", ())),
        "operational_error": isinstance(error, OperationalError),
        "names_all": all(part in text for part in (TASK_NAME, sent, *queues.values())),
        "says_may_hold": "may hold it already" in text,
        "error_records": sum(r.levelno == logging.ERROR for r in records.records),
        "error_records_naming_task": sum(
            r.levelno == logging.ERROR and sent in r.getMessage() for r in records.records
        ),
        "retry_warnings": sum(r.levelno == logging.WARNING for r in records.records),
        "work": copies["work"][sent],
        "monitor": copies["monitor"][sent],
        "stray": sum(sum(c.values()) - c[sent] for c in copies.values()),
        "calls": [
            [record.queue.removeprefix(f"{prefix}-"), record.fault and record.fault.value]
            for record in proxy.sends_of(sent)
        ],
        "seconds": round(seconds, 2),
    }


def main(endpoint_url: str, prefix: str) -> None:
    """Run every scenario against moto's server at *endpoint_url*; print one JSON line."""
    parts = urlsplit(endpoint_url)
    upstream = SQSEndpoint(host=str(parts.hostname), port=int(parts.port or 80), server=None)
    with faulty_sqs(upstream) as proxy:
        app = make_app(proxy.broker_url, prefix)
        try:
            app.send_task(TASK_NAME, args=["warm-up"])  # creates the queues
            for queue in LEGS.values():
                upstream.drain(f"{prefix}-{queue}")
            report = {
                "hash_seed": os.environ.get("PYTHONHASHSEED"),
                "kombu_order": kombu_order(app),
                "task_publish_retry": app.conf.task_publish_retry,
                "outcomes": {
                    name: run_scenario(app, proxy, upstream, prefix, name)
                    for name in scenario_names()
                },
            }
        finally:
            app.close()
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

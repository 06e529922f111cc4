"""
A worker whose SQS poll gets a server error goes on polling (works around a kombu 5.7 bug).

A proxy in front of moto's server answers a ``ReceiveMessage`` call with HTTP 503, as SQS
does now and then. kombu's asynchronous SQS client turns such an answer into ``[]``, which
kombu's ``Channel._on_messages_ready`` reads as a dict: the poll raises, and the worker
stops polling the queue (or exits). A worker of an app configured by ``Config`` on SQS
uses the library's SQS transport, whose channel takes such an answer as an empty poll
(``cadasta.workertoolbox.publish.sqs``); the negative control makes that channel use
kombu's own method while the worker runs, and the task sent after the error does not run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

import pytest
from celery import Celery
from celery.exceptions import TimeoutError

from .apps.worker_tasks import FAST_SQS_SETTINGS, running_worker
from .faulty_sqs import faulty_sqs
from .services import SQSEndpoint

pytestmark = pytest.mark.integration

#: How long a task may take to run once sent, when the worker polls.
TIMEOUT = 15
#: How long the negative control waits for a task that must not run.
CONTROL_TIMEOUT = 8


def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    """Wait until *condition* holds; fail after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {timeout} s: {condition}")
        time.sleep(0.05)


@contextmanager
def kombus_own_poll_handling() -> Iterator[None]:
    """
    Make the library's SQS channel use kombu's own ``_on_messages_ready`` for the block.

    The negative control: the library's method is put back afterwards.
    """
    from kombu.transport import SQS

    from cadasta.workertoolbox.publish import sqs

    replacement = sqs.Channel.__dict__["_on_messages_ready"]
    sqs.Channel._on_messages_ready = SQS.Channel._on_messages_ready  # type: ignore[method-assign]
    try:
        yield
    finally:
        sqs.Channel._on_messages_ready = replacement  # type: ignore[method-assign]


@pytest.mark.parametrize("handling", ["library", "kombu"])
def test_worker_runs_a_task_sent_after_its_poll_got_a_server_error(
    sqs_endpoint: SQSEndpoint,
    make_sqs_app: Callable[..., Celery],
    caplog: pytest.LogCaptureFixture,
    handling: str,
) -> None:
    """
    A task sent after a poll answered with 503 runs; with kombu's own handling, it does not.

    The worker logs a warning naming the queue. The negative control shows the kombu
    5.7 bug the library works around: the worker polls no more, and the task waits in SQS.
    """
    polling_logger = logging.getLogger("cadasta.workertoolbox.publish")
    with faulty_sqs(sqs_endpoint) as proxy, captured(polling_logger, caplog.handler):
        app = make_sqs_app("server-errors", broker_url=proxy.broker_url, **FAST_SQS_SETTINGS)

        @app.task(name="export.echo", shared=False)
        def echo(value: int) -> int:
            return value

        with running_worker(app, queues=("export",)):
            # Before any error, a task runs.
            assert echo.delay(1).get(timeout=TIMEOUT) == 1
            with kombus_own_poll_handling() if handling == "kombu" else nullcontext():
                # A poll made before the block answers with the method of its time: wait
                # for two more, so that the next one is made with the method of the block.
                seen = proxy.receives
                wait_until(lambda: proxy.receives >= seen + 2, TIMEOUT)
                proxy.fail_next_receives(1)
                wait_until(lambda: proxy.receives_failed == 1, TIMEOUT)
                sent = echo.delay(2)
                if handling == "kombu":
                    with pytest.raises(TimeoutError):
                        sent.get(timeout=CONTROL_TIMEOUT)
                    return
                assert sent.get(timeout=TIMEOUT) == 2
    warnings = [r.getMessage() for r in caplog.records if r.name == polling_logger.name]
    assert any("export" in warning and "polling goes on" in warning for warning in warnings)


@contextmanager
def captured(logger: logging.Logger, handler: logging.Handler) -> Iterator[None]:
    """
    Send *logger*'s warnings to *handler* during the block.

    The test worker's logging set-up takes the handlers off the root logger (caplog's
    too) and sets it to ERROR, so the handler goes on *logger* itself.
    """
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
        logger.removeHandler(handler)

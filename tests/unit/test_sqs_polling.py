import logging
import sys
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from celery import Celery
from kombu.transport.SQS import Channel

from cadasta.workertoolbox import conf
from cadasta.workertoolbox._sqs_polling import keep_polling_after_failed_polls

#: kombu's own method, whatever an earlier test (a worker's start) put in its place.
KOMBUS_OWN = getattr(
    Channel.__dict__["_on_messages_ready"],
    "__wrapped__",
    Channel.__dict__["_on_messages_ready"],
)


@pytest.fixture(autouse=True)
def _kombus_own_method() -> Iterator[None]:
    """Give kombu's SQS channel its own method during the test, and after it what it had."""
    before = Channel.__dict__["_on_messages_ready"]
    Channel._on_messages_ready = KOMBUS_OWN  # type: ignore[method-assign]
    yield
    Channel._on_messages_ready = before  # type: ignore[method-assign]


def test_kombus_own_method_cannot_read_a_failed_poll() -> None:
    """
    The control: kombu 5.7 reads the [] of a failed poll as a dict, and raises.

    When a kombu release fixes this, this test fails: the workaround (``_sqs_polling``,
    README's Guarantees) can then go.
    """
    with pytest.raises(AttributeError, match="'list' object has no attribute 'get'"):
        Channel._on_messages_ready(None, None, "export", [])


def test_a_failed_poll_counts_as_an_empty_one_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After the change, [] brings no message, and the queue is named in a warning."""
    assert keep_polling_after_failed_polls() is True
    with caplog.at_level(logging.WARNING, logger="cadasta.workertoolbox._sqs_polling"):
        assert Channel._on_messages_ready(None, None, "b001-export", []) == 0
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "'b001-export'" in record.getMessage()
    assert "polling goes on" in record.getMessage()


def test_a_dict_goes_to_kombus_method_unchanged(caplog: pytest.LogCaptureFixture) -> None:
    """An answer that is a dict reaches kombu's method as it came, without a warning."""
    keep_polling_after_failed_polls()
    with caplog.at_level(logging.WARNING):
        assert Channel._on_messages_ready(None, None, "export", {}) == 0
        assert Channel._on_messages_ready(None, None, "export", {"Messages": []}) == 0
    assert caplog.records == []
    assert Channel._on_messages_ready.__wrapped__ is KOMBUS_OWN  # type: ignore[attr-defined]


def test_the_change_is_made_once() -> None:
    """Calling it again wraps nothing more."""
    keep_polling_after_failed_polls()
    replacement = Channel.__dict__["_on_messages_ready"]
    assert keep_polling_after_failed_polls() is True
    assert Channel.__dict__["_on_messages_ready"] is replacement


def test_nothing_to_change_without_kombus_sqs_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without boto3 kombu's SQS transport does not import: nothing is changed."""
    monkeypatch.setitem(sys.modules, "kombu.transport.SQS", None)
    assert keep_polling_after_failed_polls() is False
    assert Channel.__dict__["_on_messages_ready"] is KOMBUS_OWN


def test_nothing_to_change_when_kombu_has_no_such_method(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kombu that parses its answers elsewhere: nothing is changed, nothing is added."""
    monkeypatch.delattr(Channel, "_on_messages_ready")
    assert keep_polling_after_failed_polls() is False
    assert "_on_messages_ready" not in Channel.__dict__


@pytest.mark.parametrize(
    ("broker_url", "changed"),
    [("memory://", False), ("sqs://key:secret@127.0.0.1:1", True)],
)
def test_a_starting_worker_makes_the_change_on_sqs_only(
    make_app: Any, broker_url: str, changed: bool
) -> None:
    """The worker_init handler makes the change for an app on SQS, not on other transports."""
    app: Celery = make_app(broker_url=broker_url)
    # Nothing listens on port 1: declaring the topology fails (logged), quickly.
    conf._set_up_worker(sender=SimpleNamespace(app=app))
    assert (Channel.__dict__["_on_messages_ready"] is not KOMBUS_OWN) is changed

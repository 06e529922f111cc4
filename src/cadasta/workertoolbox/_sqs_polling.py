"""
A worker keeps polling SQS after a poll that failed on the server's side.

kombu 5.7's asynchronous SQS client answers a ``ReceiveMessage`` call that got a server
error or a timeout status (500, 502, 503, 504, 408, 599) with an empty list, so that, as
its comment says, the worker does not hang. But ``Channel._on_messages_ready``, which
receives that answer, reads it as a dictionary (``messages.get('Messages')``): it raises
``AttributeError``, the callback that schedules the next poll of the queue never runs,
and the worker either logs ``Error in timer`` and polls that queue no more, while it goes
on running, or exits with ``Unrecoverable error``. Nothing is lost (the messages wait in
SQS), but the queue's tasks wait until the worker is restarted.

:func:`keep_polling_after_failed_polls` makes that method take an answer that is not a
dictionary as a poll that brought no message, with a warning, which is what kombu
intends: the next poll follows as after an empty one. A dictionary goes through
unchanged, so a kombu that fixes the bug is not affected. The method is replaced on
kombu's class, once per process; a worker of an app configured by a
:class:`~cadasta.workertoolbox.conf.Config` on SQS does it when it starts
(``worker_init``).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["keep_polling_after_failed_polls"]

logger = logging.getLogger(__name__)

#: The attribute that marks the replacement method.
_MARK = "_cadasta_keeps_polling"
_LOCK = threading.Lock()


def _tolerant(on_messages_ready: Callable[..., int]) -> Callable[..., int]:
    """Wrap kombu's ``Channel._on_messages_ready`` to take a failed poll as an empty one."""

    @functools.wraps(on_messages_ready)
    def _on_messages_ready(self: Any, queue: Any, qname: str, messages: Any) -> int:
        if not isinstance(messages, Mapping):
            logger.warning(
                "A poll of SQS queue %r failed on the server's side (an error or timeout "
                "status); polling goes on.",
                qname,
            )
            messages = {}
        return on_messages_ready(self, queue, qname, messages)

    setattr(_on_messages_ready, _MARK, True)
    return _on_messages_ready


def keep_polling_after_failed_polls() -> bool:
    """
    Make kombu's SQS transport go on polling a queue after a poll failed on the server.

    Idempotent. Imports kombu's SQS transport (and with it boto3).

    Returns:
        Whether the transport now keeps polling; ``False`` when kombu's SQS transport
        cannot be imported (boto3 or pycurl missing) or has no such method.

    """
    try:
        from kombu.transport.SQS import Channel
    except ImportError:
        return False
    with _LOCK:
        current = getattr(Channel, "_on_messages_ready", None)
        if current is None:
            return False
        if not getattr(current, _MARK, False):
            Channel._on_messages_ready = _tolerant(current)  # type: ignore[method-assign]
    return True

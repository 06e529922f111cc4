"""
The library's memory transport: kombu's, with the send path of :mod:`._fanout`.

Messages stay in the process, in the same queues as kombu's own memory transport, so
tests that read ``kombu.transport.memory.Channel.queues`` see them. Nothing can fail
half-way here; what it shares with the SQS transport is the order of the copies (the
monitor's first), each copy a message of its own, and a task message that no queue
would receive refused instead of dropped.
"""

from __future__ import annotations

from kombu.transport import memory

from ._fanout import FanOutChannel

__all__ = ["Channel", "Transport"]


class Channel(FanOutChannel, memory.Channel):
    """kombu's memory channel with the library's send path."""


class Transport(memory.Transport):
    """kombu's memory transport, with the library's :class:`Channel`."""

    Channel = Channel

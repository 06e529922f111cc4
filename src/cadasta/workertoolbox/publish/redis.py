"""
The library's Redis transport: kombu's, with the send path of :mod:`._fanout`.

kombu's Redis transport, like SQS, delivers again a message that stays unacknowledged
for the visibility timeout, so tasks due later than it allows are refused here too.
The ``redis`` package is needed only when a connection is made, as with kombu's own.
"""

from __future__ import annotations

from kombu.transport import redis

from ._fanout import FanOutChannel

__all__ = ["Channel", "Transport"]


class Channel(FanOutChannel, redis.Channel):
    """kombu's Redis channel with the library's send path."""


class Transport(redis.Transport):
    """kombu's Redis transport, with the library's :class:`Channel`."""

    Channel = Channel

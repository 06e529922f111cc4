"""
:func:`setup_app`: what a process must do once before it runs tasks.

It caps ``celery.chord_unlock`` retries and declares the exchange and every queue on
the broker, so that the SQS queues exist (with their prefix) before the first message
is sent. A worker does this at start-up through the ``worker_init`` handler that
:mod:`cadasta.workertoolbox.conf` connects. The steps live in
:mod:`cadasta.workertoolbox.startup`.
"""

from __future__ import annotations

from .startup._setup import (
    SETUP_STEPS,
    cap_chord_unlock_retries,
    declare_topology,
    report_setup_failures,
    setup_app,
)
from .startup._setup import is_configured_by_toolbox as is_configured_by_toolbox

__all__ = [
    "SETUP_STEPS",
    "cap_chord_unlock_retries",
    "declare_topology",
    "report_setup_failures",
    "setup_app",
]

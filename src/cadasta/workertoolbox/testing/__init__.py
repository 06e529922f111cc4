"""
Testing a worker with pytest: the plugin's fixtures and what they return.

The plugin (``cadasta.workertoolbox.testing.plugin``, a ``pytest11`` entry point) gives a
worker project two ways to test its tasks on the architecture: **fast**
(``toolbox_sent_tasks``: what the app sends and where it would go, no broker) and
**real** (``toolbox_live_app``, ``toolbox_worker``, ``toolbox_monitor``: an SQS endpoint,
a worker on the pool of the test's choice, the monitor queue read as the platform does).
See README, "Testing a worker with pytest".

The names below are imported on first access: importing this package costs nothing.

May import: the base modules, ``conformance`` (the recorded sends are routed as the suite
routes them), ``config``, ``publish`` and ``startup``.

.. versionadded:: 1.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ._endpoint import Endpoint
    from ._monitor import MonitorReader, MonitorRecord
    from ._sent import SentTask, SentTasks, recording_sends
    from ._worker import Worker, WorkerError

__all__ = [
    "Endpoint",
    "MonitorReader",
    "MonitorRecord",
    "SentTask",
    "SentTasks",
    "Worker",
    "WorkerError",
    "recording_sends",
]

_LAZY: dict[str, str] = {
    "Endpoint": "_endpoint",
    "MonitorReader": "_monitor",
    "MonitorRecord": "_monitor",
    "SentTask": "_sent",
    "SentTasks": "_sent",
    "Worker": "_worker",
    "WorkerError": "_worker",
    "recording_sends": "_sent",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())

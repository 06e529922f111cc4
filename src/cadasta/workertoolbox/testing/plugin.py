"""
The pytest plugin (the ``pytest11`` entry point ``cadasta_workertoolbox``): it only imports.

.. versionadded:: 1.0
"""

from __future__ import annotations

from .fixtures import (
    toolbox_app,
    toolbox_app_import_path,
    toolbox_live_app,
    toolbox_monitor,
    toolbox_queue_prefix,
    toolbox_result_backend,
    toolbox_sent_tasks,
    toolbox_sqs_endpoint,
    toolbox_transport_options,
    toolbox_worker,
    toolbox_worker_pool,
    toolbox_worker_queues,
)

__all__ = [
    "toolbox_app",
    "toolbox_app_import_path",
    "toolbox_live_app",
    "toolbox_monitor",
    "toolbox_queue_prefix",
    "toolbox_result_backend",
    "toolbox_sent_tasks",
    "toolbox_sqs_endpoint",
    "toolbox_transport_options",
    "toolbox_worker",
    "toolbox_worker_pool",
    "toolbox_worker_queues",
]

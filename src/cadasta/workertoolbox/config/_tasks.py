"""
The task settings: Celery's defaults the architecture changes, and what the topology gives.

The exchange, ``task_queues`` and ``task_routes`` are built from the
:class:`~cadasta.workertoolbox.config._topology.Topology`; ``task_annotations`` carries
the ``celery.chord_unlock`` cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._chord_unlock import CHORD_UNLOCK_TASK, annotation
from ..exceptions import ConfigError
from ._routing import TaskRouter
from ._topology import Topology
from ._validation import check_exchange

if TYPE_CHECKING:
    from ._config import Config

__all__ = ["TASK_DEFAULTS", "set_task_settings", "task_annotations"]

#: Celery settings the configuration provides, with their defaults.
TASK_DEFAULTS: Mapping[str, Any] = {
    "task_default_exchange": "task_exchange",
    "task_default_exchange_type": "topic",
    "task_track_started": True,
    "imports": ("app.tasks",),
    # Create the result tables on first use, not when the backend is built: a producer
    # must be able to send tasks while the result database is unreachable.
    "database_create_tables_at_setup": False,
    # Keep a result while the result database is down: Celery's database backend gives
    # up after 3 tries (about 0.1 s). 130 tries, each after a random pause of at most
    # 10 s (Celery's back-off), last about 10 minutes; then the result is lost.
    "result_backend_always_retry": True,
    "result_backend_max_retries": 130,
}


def set_task_settings(config: Config) -> None:
    """Set the task defaults, ``task_queues``, ``task_routes`` and ``task_annotations``."""
    problems: list[str] = []
    for keyword, default in TASK_DEFAULTS.items():
        try:
            config.set(keyword, default)
        except ConfigError as error:
            problems.extend(error.problems)
            setattr(config, keyword, default)
    if config.SETUP_FILE_LOGGING:
        config.set("worker_hijack_root_logger", False)
    exchange_problems = check_exchange(
        config.task_default_exchange, config.task_default_exchange_type, config.ENV_PREFIX
    )
    if exchange_problems:
        problems += exchange_problems
        # Valid values, so that the topology can be built whatever was given.
        config.task_default_exchange = TASK_DEFAULTS["task_default_exchange"]
        config.task_default_exchange_type = TASK_DEFAULTS["task_default_exchange_type"]
    topology = Topology.build(
        config.QUEUES,
        config.PLATFORM_QUEUE_NAME,
        config.task_default_exchange,
        config.task_default_exchange_type,
    )
    config.set("task_queues", topology.task_queues, from_env=False)
    router = TaskRouter(topology, config.MONITOR_MESSAGE_GROUP)
    config.set("task_routes", (router,), from_env=False)
    try:
        config.task_annotations = task_annotations(config)
    except ConfigError as error:
        problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)


def task_annotations(config: Config) -> Any:
    """Return ``task_annotations``: those given, with the ``celery.chord_unlock`` cap."""
    cap = annotation(config.CHORD_UNLOCK_MAX_RETRIES)
    given = config._given.get("task_annotations")
    if given is None:
        return {CHORD_UNLOCK_TASK: cap}
    if isinstance(given, Mapping):
        own = given.get(CHORD_UNLOCK_TASK, {})
        if not isinstance(own, Mapping):
            raise ConfigError(
                f"task_annotations[{CHORD_UNLOCK_TASK!r}]={own!r} must be a dict of task "
                "attributes, e.g. {'max_retries': 100}; it is merged over the cap."
            )
        return {**given, CHORD_UNLOCK_TASK: {**cap, **own}}
    given_list = list(given) if isinstance(given, (list, tuple)) else [given]
    return ({CHORD_UNLOCK_TASK: cap}, *given_list)

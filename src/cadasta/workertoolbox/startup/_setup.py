"""
:func:`setup_app`: what a process must do once before it runs tasks.

It caps ``celery.chord_unlock`` retries and declares the exchange and every queue on
the broker, so that the SQS queues exist (with their prefix) before the first message
is sent. A worker does this at start-up through the ``worker_init`` handler that
:mod:`cadasta.workertoolbox.conf` connects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from .._chord_unlock import DEFAULT_MAX_RETRIES, apply_cap

__all__ = [
    "SETUP_STEPS",
    "cap_chord_unlock_retries",
    "declare_topology",
    "report_setup_failures",
    "setup_app",
]

logger = logging.getLogger("cadasta.workertoolbox.setup")

#: The variable only a :class:`~cadasta.workertoolbox.conf.Config` puts in ``app.conf``.
_MARKER = "PLATFORM_QUEUE_NAME"
#: Where :func:`setup_app` keeps the failures of its last run on the app.
_FAILURES = "_cadasta_setup_failures"


def is_configured_by_toolbox(app: Any) -> bool:
    """Tell whether *app* was configured with a :class:`~cadasta.workertoolbox.conf.Config`."""
    return app.conf.get(_MARKER) is not None


def cap_chord_unlock_retries(app: Any) -> None:
    """Cap ``celery.chord_unlock`` retries at ``CHORD_UNLOCK_MAX_RETRIES``."""
    apply_cap(app, app.conf.get("CHORD_UNLOCK_MAX_RETRIES", DEFAULT_MAX_RETRIES))


def declare_topology(app: Any) -> None:
    """Declare the exchange, every queue and every binding of *app* on its broker."""
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in app.amqp.queues.values():
            queue.bind(channel).declare()


#: The set-up steps, in the order :func:`setup_app` runs them.
SETUP_STEPS: Sequence[Callable[[Any], None]] = (cap_chord_unlock_retries, declare_topology)


def setup_app(app: Any, throw: bool = True) -> bool:
    """
    Set up *app*: cap ``celery.chord_unlock`` and declare the topology on the broker.

    Args:
        app: A Celery app configured with :class:`~cadasta.workertoolbox.conf.Config`.
        throw: Raise the first failure. When false, a failing step is logged (with its
            traceback) and the others still run.

    Returns:
        Whether every step succeeded; also stored as ``app.is_set_up``.

    .. versionadded:: 1.0
       The return value.

    """
    failures: list[tuple[str, BaseException]] = []
    app.is_set_up = False
    setattr(app, _FAILURES, failures)
    for step in SETUP_STEPS:
        try:
            step(app)
        except Exception as error:
            if throw:
                raise
            logger.exception("Failed to run setup function %r(app)", step.__name__)
            failures.append((step.__name__, error))
    app.is_set_up = not failures
    return not failures


def report_setup_failures(app: Any) -> None:
    """Log again each failure of the last :func:`setup_app` run on *app*, then forget them."""
    for name, error in getattr(app, _FAILURES, ()):
        logger.error(
            "Failed to run setup function %r(app)",
            name,
            exc_info=(type(error), error, error.__traceback__),
        )
    setattr(app, _FAILURES, [])

"""
The worker's hooks: set up a starting worker's app, and report what failed then.

:func:`connect_worker_signals` connects them; :mod:`cadasta.workertoolbox.conf` calls it
when it is imported, as version 0.6 did.
"""

from __future__ import annotations

from typing import Any

from celery import signals

__all__ = ["connect_worker_signals"]


def _set_up_worker(sender: Any = None, **kwargs: Any) -> None:
    """Set up the app of a starting worker, if a ``Config`` configured it."""
    from ._setup import is_configured_by_toolbox, setup_app

    app = getattr(sender, "app", None)
    if app is not None and is_configured_by_toolbox(app):
        setup_app(app, throw=False)


def _report_setup_failures(sender: Any = None, instance: Any = None, **kwargs: Any) -> None:
    """Log again, once the worker's logging is set up, what failed at ``worker_init``."""
    from ._setup import report_setup_failures

    app = getattr(instance, "app", None)
    if app is not None:
        report_setup_failures(app)


def connect_worker_signals() -> None:
    """Connect the worker's hooks (once: connecting again replaces them)."""
    signals.worker_init.connect(
        _set_up_worker, weak=False, dispatch_uid="cadasta.workertoolbox.setup_worker"
    )
    # Celery sends worker_init before it sets up the worker's logging (--logfile…), so a
    # failure logged then reaches only stderr; celeryd_after_setup comes after logging.
    signals.celeryd_after_setup.connect(
        _report_setup_failures, weak=False, dispatch_uid="cadasta.workertoolbox.report_setup"
    )

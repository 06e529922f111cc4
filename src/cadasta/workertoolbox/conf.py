"""
:class:`Config`: the diff between Celery's defaults and the architecture.

Importing this module also connects a ``worker_init`` handler that runs
:func:`~cadasta.workertoolbox.setup.setup_app` when a worker of an app configured with
a :class:`Config` starts, as version 0.6 did. How a Config resolves each setting is in
:mod:`cadasta.workertoolbox.config`; what the library does on the send path it does in
the transports a :class:`Config` chooses (:mod:`cadasta.workertoolbox.publish`).
"""

from __future__ import annotations

from .config._config import Config
from .config._variables import LIBRARY_VARIABLES
from .startup._signals import connect_worker_signals

__all__ = ["LIBRARY_VARIABLES", "Config"]

connect_worker_signals()

"""Make every Celery process follow the Cadasta asynchronous architecture.

The public names live in their own modules, kept where version 0.6 had them:
:class:`cadasta.workertoolbox.conf.Config`, :func:`cadasta.workertoolbox.setup.setup_app`,
:func:`cadasta.workertoolbox.tests.build_functional_tests` and
:mod:`cadasta.workertoolbox.utils`. This module holds only what the others share and
imports nothing heavy, so that ``import cadasta.workertoolbox`` stays cheap.
"""

from __future__ import annotations

__all__ = ["DEFAULT_QUEUES", "__version__"]

__version__ = "1.0.0.dev0"

#: The work queues a :class:`~cadasta.workertoolbox.conf.Config` declares when it is given
#: none. ``celery`` and the platform's monitor queue are always added to these.
DEFAULT_QUEUES: tuple[str, ...] = ("export", "msg")

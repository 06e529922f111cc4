"""
Make every Celery process follow the Cadasta asynchronous architecture.

The public names live in their own modules, kept where version 0.6 had them:
:class:`cadasta.workertoolbox.conf.Config`, :func:`cadasta.workertoolbox.setup.setup_app`,
:func:`cadasta.workertoolbox.tests.build_functional_tests` and
:mod:`cadasta.workertoolbox.utils`. This module holds only what the others share and
imports nothing heavy, so that ``import cadasta.workertoolbox`` stays cheap:
:func:`~cadasta.workertoolbox.provisioning.provision_result_db` and its report are
re-exported here, but their module (and SQLAlchemy) is imported on first use.

The implementation lives in subpackages, one per concern (see README, Development): the
modules named above are thin and keep their 0.6 import paths.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

if TYPE_CHECKING:
    from .provisioning import ProvisionReport, provision_result_db

__all__ = ["DEFAULT_QUEUES", "ProvisionReport", "__version__", "provision_result_db"]

__version__ = "1.0.0.dev0"

#: The work queues a :class:`~cadasta.workertoolbox.conf.Config` declares when it is given
#: none. ``celery`` and the platform's monitor queue are always added to these.
DEFAULT_QUEUES: tuple[str, ...] = ("export", "msg")

#: Public names imported on first access, and the module that defines each.
_LAZY: dict[str, str] = {
    "ProvisionReport": "provisioning",
    "provision_result_db": "provisioning",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())

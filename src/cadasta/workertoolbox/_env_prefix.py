"""
The prefix of the environment variables a configuration reads.

A :class:`~cadasta.workertoolbox.conf.Config` reads its variables with it, and the send
path and ``celery toolbox`` name them with it in the fixes they suggest.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_ENV_PREFIX", "env_prefix_of"]

#: The prefix of the environment variables the configuration reads, unless
#: ``ENV_PREFIX`` (keyword) or ``CELERY_ENV_PREFIX`` (environment) says otherwise.
DEFAULT_ENV_PREFIX = "CELERY_"


def env_prefix_of(settings: Any) -> str:
    """
    Return the prefix of the environment variables a configuration reads.

    Args:
        settings: Anything with a ``get`` (``app.conf``, a ``Config``'s settings, a
            dict); its ``ENV_PREFIX``, or ``CELERY_`` when that is unset or empty.

    """
    return str(settings.get("ENV_PREFIX") or DEFAULT_ENV_PREFIX)

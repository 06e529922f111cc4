"""
The names of the library's transports, and the kombu transport each replaces.

Importing this module imports no transport: a configuration names a transport by its
import path, and kombu imports it when it first connects.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ENV_PREFIX_OPTION", "TRANSPORTS", "transport_alias", "transport_for"]

#: The transport option in which a ``Config`` whose ``ENV_PREFIX`` is not ``CELERY_``
#: tells the transport how its variables are named, for the fixes it suggests.
ENV_PREFIX_OPTION = "cadasta_env_prefix"

#: kombu's transport name -> the import path of the library's transport that replaces it.
TRANSPORTS: Mapping[str, str] = {
    "sqs": "cadasta.workertoolbox.publish.sqs:Transport",
    "memory": "cadasta.workertoolbox.publish.memory:Transport",
    "redis": "cadasta.workertoolbox.publish.redis:Transport",
    "rediss": "cadasta.workertoolbox.publish.redis:Transport",
}

_ALIASES: dict[str, str] = {}
for _name, _path in TRANSPORTS.items():
    _ALIASES.setdefault(_path.lower(), _name)  # 'redis' rather than 'rediss'
del _name, _path


def transport_for(name: str) -> str | None:
    """Return the library's transport for kombu's transport *name*, or ``None``."""
    return TRANSPORTS.get(name.lower())


def transport_alias(transport: object) -> str:
    """
    Return kombu's name of *transport*, lowercased: ``'sqs'`` for the library's SQS one.

    Args:
        transport: A ``broker_transport`` value: a kombu name, an import path or a
            transport class.

    """
    if isinstance(transport, str):
        return _ALIASES.get(transport.lower(), transport.lower())
    return str(getattr(transport, "driver_type", "") or "").lower()

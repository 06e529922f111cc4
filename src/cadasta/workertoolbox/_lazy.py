"""
Names a package re-exports but imports on first access, so that importing it stays cheap.

Used by ``cadasta.workertoolbox`` (the provisioning helpers, which need SQLAlchemy) and
``cadasta.workertoolbox.testing`` (the plugin's classes, which need boto3 and moto).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, modules: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """
    Return a module's ``__getattr__`` and ``__dir__`` for names imported on first access.

    Args:
        package: The package's ``__name__``.
        modules: Each lazily re-exported name, and the module of *package* defining it.
        namespace: The package's ``globals()``, where a name is kept once imported.

    """

    def __getattr__(name: str) -> Any:
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{modules[name]}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *modules})

    return __getattr__, __dir__

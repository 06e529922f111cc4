"""
What a :class:`~cadasta.workertoolbox.conf.Config` is given: keywords, class attributes.

A subclass's class attributes are given like keywords, which beat them; 0.6's spellings
are accepted (:data:`ALIASES`); keywords that are neither Celery settings the
configuration reads nor library variables are kept as attributes, as 0.6 did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._secrets import protect

if TYPE_CHECKING:
    from ._config import Config

__all__ = ["ALIASES", "given_settings", "resolve_aliases", "set_other_keywords"]

#: Spellings of version 0.6 accepted as keywords: old name -> new name.
ALIASES: Mapping[str, str] = {"queues": "QUEUES", "QUEUE_NAME_PREFIX": "QUEUE_PREFIX"}


def given_settings(
    cls: type[Config], base: type[Config], settings: dict[str, Any], problems: list[str]
) -> dict[str, Any]:
    """
    Return the settings and variables given: *cls*'s class attributes, then *settings*.

    A subclass's attributes override its bases' (up to *base*), whatever their spelling.
    """
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__[: cls.__mro__.index(base)]):
        own = {
            key: value
            for key, value in vars(klass).items()
            if not key.startswith("_") and not callable(value) and not hasattr(value, "__get__")
        }
        found.update(resolve_aliases(own, problems))
    return {**found, **resolve_aliases(settings, problems)}


def resolve_aliases(settings: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """Return *settings* with 0.6's spellings renamed; giving both spellings is a problem."""
    given = dict(settings)
    for old, new in ALIASES.items():
        if old in given:
            if new in given:
                problems.append(
                    f"{old} and {new} name the same variable; give only {new}, not both "
                    f"({old}={given[old]!r}, {new}={given[new]!r})."
                )
            given[new] = given.pop(old)
    return given


def set_other_keywords(config: Config) -> None:
    """Keep the keywords no step read as attributes, as 0.6 did."""
    for keyword, value in config._given.items():
        if keyword not in vars(config):
            setattr(config, keyword, protect(keyword, value))

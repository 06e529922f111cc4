"""
Values that carry secrets, and how they are shown.

Passwords, DSNs and keys reach Celery as ordinary strings, so that every library that
uses them works unchanged, but their ``repr`` never reveals them: Celery's
``app.conf.humanize()``, pprint and log lines built with ``%r`` all go through ``repr``.
How a secret is found in a URL or a text is :mod:`._masking`'s job.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from ._masking import MASK, looks_secret, mask_text, mask_url, url_secrets

__all__ = [
    "MASK",
    "Secret",
    "SecretURL",
    "looks_secret",
    "mask_url",
    "masked",
    "masked_text",
    "protect",
    "secret_values",
]

#: Names of settings whose value is a URL that may hold a password.
_URL_NAME = re.compile(r"URL|BACKEND|URI", re.IGNORECASE)
#: A URL with userinfo somewhere in a text: ``://``, later an ``@``.
_CREDENTIALS_IN_TEXT = re.compile(r"://.*@", re.DOTALL)
#: Shorter values are not looked for in texts: masking every "abc" would hide too much.
_SHORTEST_SECRET = 4


class Secret(str):
    """A string whose ``repr`` is masked: a password, a DSN, a key."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(MASK)


class SecretURL(str):
    """A URL whose ``repr`` masks the password it may contain."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(mask_url(str(self)))


def masked(name: str, value: object) -> str:
    """
    Return the ``repr`` of *value* as it may be shown for the setting *name*.

    Secrets are masked whole; URLs lose their password and secret query parameters, and
    so does a URL in the value of any other name (a misspelt ``CELERY_BROKER_UR``).
    ``None`` (a secret that is not set) is shown as it is.
    """
    if value is None:
        return "None"
    if looks_secret(name):
        return repr(MASK)
    if isinstance(value, str) and _URL_NAME.search(name):
        return repr(mask_url(value))
    # Whatever the name: a URL's password, a secret query parameter, a secret-named key.
    return mask_text(repr(value))


def masked_text(name: str, value: object) -> str:
    """
    Return the ``repr`` of *value*, which could not be read as a value of *name*, masked.

    The secrets inside such a value (the text of a variable that does not parse, options
    that are no dict) cannot be found by their keys: it is masked whole when its name or
    its text looks secret, or when its text holds a URL with a user (and so, perhaps, a
    password).
    """
    text = value if isinstance(value, str) else repr(value)
    if looks_secret(name) or looks_secret(text) or _CREDENTIALS_IN_TEXT.search(text):
        return repr(MASK)
    return masked(name, value)


def protect(name: str, value: object) -> object:
    """
    Wrap *value* so that its ``repr`` stays safe to show for the setting *name*.

    Strings become :class:`Secret` or :class:`SecretURL` by the name they are stored
    under; the values of a dict are protected by their own keys.
    """
    if isinstance(value, dict):
        return {key: protect(str(key), item) for key, item in value.items()}
    if not isinstance(value, str) or isinstance(value, (Secret, SecretURL)):
        return value
    if looks_secret(name):
        return Secret(value)
    if _URL_NAME.search(name):
        return SecretURL(value)
    return value


def _secrets_in(name: str, value: object, depth: int = 0) -> Iterator[str]:
    if isinstance(value, str):
        if looks_secret(name):
            yield value
        if "://" in value:
            yield from url_secrets(value)
            if looks_secret(name):
                # A DSN's public key is its user.
                user = value.partition("://")[2].rpartition("@")[0].partition(":")[0]
                yield user
    elif isinstance(value, Mapping) and depth < 10:
        for key, item in value.items():
            yield from _secrets_in(str(key), item, depth + 1)
    elif isinstance(value, (list, tuple)) and depth < 10:
        for item in value:
            yield from _secrets_in(name, item, depth + 1)


def secret_values(settings: Mapping[str, object]) -> frozenset[str]:
    """
    Return the secrets *settings* hold, to be looked for and masked in any text.

    The values of secret-named settings and keys (in dicts too), and the passwords, secret
    query parameters and, for secret-named URLs such as a DSN, the users of URLs. Values
    shorter than four characters are left out.
    """
    return frozenset(
        str(secret)
        for name, value in settings.items()
        for secret in _secrets_in(name, value)
        if len(secret) >= _SHORTEST_SECRET
    )

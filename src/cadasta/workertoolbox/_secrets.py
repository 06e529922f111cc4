"""
Values that carry secrets, and how they are shown.

Passwords, DSNs and keys reach Celery as ordinary strings, so that every library that
uses them works unchanged, but their ``repr`` never reveals them: Celery's
``app.conf.humanize()``, pprint and log lines built with ``%r`` all go through ``repr``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = [
    "MASK",
    "Secret",
    "SecretURL",
    "looks_secret",
    "mask_url",
    "masked",
    "masked_text",
    "protect",
]

MASK = "********"

#: Names of settings and environment variables whose value is a secret as a whole.
_SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|DSN|API_?KEY|ACCESS_KEY|PRIVATE", re.IGNORECASE)
#: Names of settings whose value is a URL that may hold a password.
_URL_NAME = re.compile(r"URL|BACKEND|URI", re.IGNORECASE)
#: A URL with userinfo somewhere in a text: ``://``, later an ``@``.
_CREDENTIALS_IN_TEXT = re.compile(r"://.*@", re.DOTALL)


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


def mask_url(url: str) -> str:
    """
    Return *url* with its password replaced by :data:`MASK`.

    The password runs from the user's ``:`` to the last ``@``, so that one holding an
    unescaped ``/``, ``?``, ``#`` or ``@`` (which :func:`urlsplit` would cut short) is
    masked whole; an ``@`` in a path or query may then mask more than the password. A
    URL that cannot be parsed is masked whole rather than risk showing a secret.
    """
    try:
        urlsplit(url)
    except ValueError:
        return MASK
    scheme, separator, rest = url.partition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    if not separator or not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:{MASK}@{hostpart}"


def looks_secret(name: str) -> bool:
    """Tell whether the setting or variable *name* holds a secret as a whole."""
    return bool(_SECRET_NAME.search(name))


def masked(name: str, value: object) -> str:
    """
    Return the ``repr`` of *value* as it may be shown for the setting *name*.

    Secrets are masked whole; URLs lose their password. ``None`` (a secret that is not
    set) is shown as it is.
    """
    if value is None:
        return "None"
    if looks_secret(name):
        return repr(MASK)
    if isinstance(value, str) and _URL_NAME.search(name):
        return repr(mask_url(value))
    return repr(value)


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

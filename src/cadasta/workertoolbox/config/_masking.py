"""
Finding secrets in URLs, texts and dicts, and masking them.

The rules every place the library shows or reports a value by:

- a URL loses its password and the value of every query parameter whose name suggests a
  secret (``password``, ``pass``, ``pwd``, ``token``, ``secret``, ``key``, ``sig`` and
  ``signature``, ``credential``): ``sqs://AKIA:********@/?sts_token=********``;
- in a text, besides its URLs: libpq's ``password=…`` key-value pairs (and any
  ``…password=``, ``…secret…=``, ``…token…=``), and the quoted value of a quoted
  secret-named key (``{'password': '********'}``);
- in a dict, the value of every secret-named key (:func:`looks_secret`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = [
    "MASK",
    "looks_secret",
    "mask_mapping",
    "mask_text",
    "mask_url",
    "url_password",
    "url_secrets",
]

MASK = "********"

#: Names of settings, variables and dict keys whose value is a secret as a whole.
_SECRET_NAME = re.compile(
    r"PASS|SECRET|TOKEN|DSN|API[_-]?KEY|ACCESS[_-]?KEY|PRIVATE|CREDENTIAL|SIGNATURE"
    r"|AUTHORIZATION|COOKIE",
    re.IGNORECASE,
)
#: Names of URL query parameters whose value is a secret.
_SECRET_PARAMETER = re.compile(r"pass|pwd|token|secret|key|sig|credential", re.IGNORECASE)

#: ``scheme://user`` of a URL, where its password would follow a ``:``.
_HEAD = r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s'\"]*"
#: A URL that opens a quoted string: its password runs to the last ``@`` before the
#: closing quote, so that one holding blanks, ``/`` or ``@`` is masked whole.
_QUOTED_URL_PASSWORD = re.compile(
    rf"(?P<quote>['\"])(?P<head>{_HEAD}):(?:(?!(?P=quote))[^\n])*"
    r"@(?P<tail>(?:(?!(?P=quote))[^@\n])*)(?P=quote)"
)
#: A URL anywhere: its password runs to the last ``@`` before a blank; or, holding up to
#: four blanks (but no ``/``), to the first ``@``.
_URL_PASSWORD = re.compile(rf"(?P<head>{_HEAD}):(?:\S*@|[^\s/@]*(?:[ \t]+[^\s/@]+){{1,4}}@)")
#: A query parameter: ``?name=value`` or ``&name=value``.
_QUERY_PARAMETER = re.compile(r"(?P<head>[?&;](?P<name>[^=&#;?\s'\"]+)=)(?P<value>[^&#;\s'\"]+)")
#: libpq's ``password=…`` (quoted or not), and other ``…secret…=`` pairs in a text.
_KEYWORD_SECRET = re.compile(
    r"(?P<head>\b\w*?(?:pass(?:word|wd)|secret|token)\w*\s*=(?!=)\s*)"
    r"(?P<value>'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"|[^\s'\",;&)}\]]+)",
    re.IGNORECASE,
)
#: A quoted key and its quoted value, as a dict's or a JSON object's text shows them.
_QUOTED_ENTRY = re.compile(
    r"(?P<head>(?P<q>['\"])(?P<name>[^'\"\n]{1,100})(?P=q)\s*:\s*)"
    r"(?P<value>b?'(?:[^'\\\n]|\\.)*'|b?\"(?:[^\"\\\n]|\\.)*\")"
)


def looks_secret(name: str) -> bool:
    """Tell whether the setting, variable or key *name* holds a secret as a whole."""
    return bool(_SECRET_NAME.search(name))


def _mask_query(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if _SECRET_PARAMETER.search(match["name"]):
            return f"{match['head']}{MASK}"
        return match[0]

    return _QUERY_PARAMETER.sub(replace, text)


def _split_userinfo(url: str) -> tuple[str, str, str] | None:
    """
    Return ``(scheme://user:, password, @rest)`` of *url*, or ``None`` without a password.

    The password runs from the user's ``:`` to the last ``@``, so that one holding an
    unescaped ``/``, ``?``, ``#`` or ``@`` (which :func:`urlsplit` would cut short) is
    found whole; an ``@`` in a path or query may then take in more than the password.
    """
    scheme, separator, rest = url.partition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    if not separator or not at or ":" not in userinfo:
        return None
    user, _, password = userinfo.partition(":")
    return f"{scheme}://{user}:", password, f"@{hostpart}"


def url_password(url: str) -> str | None:
    """Return the password of *url* as written (see :func:`mask_url`), or ``None``."""
    parts = _split_userinfo(url)
    return None if parts is None else parts[1]


def mask_url(url: str) -> str:
    """
    Return *url* with its password and its secret query parameters replaced by :data:`MASK`.

    See :func:`_split_userinfo` for where the password ends. A URL that cannot be
    parsed is masked whole rather than risk showing a secret.
    """
    try:
        urlsplit(url)
    except ValueError:
        return MASK
    parts = _split_userinfo(url)
    if parts is None:
        return _mask_query(url)
    head, _, rest = parts
    return f"{head}{MASK}{_mask_query(rest)}"


def url_secrets(url: str) -> list[str]:
    """
    Return the secrets *url* holds: what :func:`mask_url` masks, as written and unescaped.

    A URL that cannot be parsed is a secret as a whole.
    """
    try:
        urlsplit(url)
    except ValueError:
        return [url]
    found: list[str] = []
    parts = _split_userinfo(url)
    rest = url
    if parts is not None:
        found.append(parts[1])
        rest = parts[2]
    for match in _QUERY_PARAMETER.finditer(rest):
        if _SECRET_PARAMETER.search(match["name"]):
            found.append(match["value"])
    unescaped = [unquote(secret) for secret in found]
    return [secret for secret in dict.fromkeys(found + unescaped) if secret]


def mask_text(text: str) -> str:
    """
    Return *text* with every secret it shows replaced by :data:`MASK`.

    URLs come out as :func:`mask_url` shows them (``redis://user:********@host/0``), with
    a password that holds blanks masked whole when the URL is quoted or the password
    holds no ``/``; libpq's ``password=…`` and the quoted values of quoted secret-named
    keys (``'password': '…'``) are masked too.
    """
    text = _QUOTED_URL_PASSWORD.sub(rf"\g<quote>\g<head>:{MASK}@\g<tail>\g<quote>", text)
    text = _URL_PASSWORD.sub(rf"\g<head>:{MASK}@", text)
    text = _mask_query(text)
    text = _KEYWORD_SECRET.sub(rf"\g<head>{MASK}", text)

    def entry(match: re.Match[str]) -> str:
        if not looks_secret(match["name"]):
            return match[0]
        value = match["value"]
        opening = value[: value.index(value[-1]) + 1]  # b' or '
        return f"{match['head']}{opening}{MASK}{value[-1]}"

    return _QUOTED_ENTRY.sub(entry, text)


def mask_mapping(value: Any, depth: int = 0) -> Any:
    """
    Return *value* with the values of its secret-named keys masked, in nested dicts too.

    Dicts, lists and tuples holding something to mask are copied (as a plain dict, list
    or tuple); everything else is returned as it is.
    """
    if depth > 10:
        return value
    if isinstance(value, dict):
        masked = {
            key: MASK if looks_secret(str(key)) else mask_mapping(item, depth + 1)
            for key, item in value.items()
        }
        changed = any(masked[key] is not item for key, item in value.items())
        return masked if changed else value
    if isinstance(value, (list, tuple)):
        items = [mask_mapping(item, depth + 1) for item in value]
        if any(new is not old for new, old in zip(items, value, strict=True)):
            return type(value)(items) if type(value) in (list, tuple) else tuple(items)
        return value
    return value

"""
Scrubbing what sentry-sdk sends: no secret of the configuration reaches Sentry.

sentry-sdk collects much on its own: the message and arguments of a record logged at
ERROR, the breadcrumbs of earlier records, ``sys.argv`` (which holds ``celery -b URL``),
the frames of a traceback (with their local variables, when they are on), contexts.
:class:`SecretScrubber`, installed as ``before_send`` and ``before_send_transaction``,
walks every event just before it leaves and replaces:

- every known secret of the configuration (the result database's password, the broker
  URL's password and secret query parameters, session tokens and keys of
  ``broker_transport_options``, the DSN's key), wherever it appears in a string, as
  written, URL-escaped or as ``repr`` shows it;
- whatever :func:`~._masking.mask_text` finds in a string: passwords of URLs, secret
  query parameters, libpq's ``password=…``, quoted secret-named keys;
- the value of every secret-named key (``password``, ``secret_access_key``…).

A string sentry-sdk cut short (``...``) that ends with the start of a known secret loses
that start too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from ._masking import MASK, looks_secret, mask_text

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

__all__ = ["SecretScrubber"]

#: Shorter secrets are not looked for: masking every "abc" would hide too much.
_SHORTEST_SECRET = 4
#: How sentry-sdk marks a string it cut short.
_CUT = "..."
#: Parts of an event whose keys are names of things, not of values: their keys are kept.
_KEYS_KEPT = frozenset({"modules", "_meta"})


class SecretScrubber:
    """
    A ``before_send`` callback that masks *secrets*, and every secret it can find.

    Args:
        secrets: The values to mask wherever they appear.

    """

    def __init__(self, secrets: Iterable[str]) -> None:
        variants = {
            form
            for secret in secrets
            for form in (secret, quote(secret, safe=""), repr(secret)[1:-1])
        }
        self._secrets = sorted(
            (form for form in variants if len(form) >= _SHORTEST_SECRET), key=len, reverse=True
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self._secrets)} values)"

    def __call__(self, event: Event, hint: Hint) -> Event:
        """Return *event* scrubbed; *hint* is not looked at."""
        return cast(
            "Event",
            {key: self._scrub(item, keep_keys=key in _KEYS_KEPT) for key, item in event.items()},
        )

    def text(self, text: str) -> str:
        """Return *text* with every known secret, and every secret found, masked."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        if text.endswith(_CUT):
            text = self._cut_secret(text[: -len(_CUT)]) + _CUT
        return mask_text(text)

    def _cut_secret(self, text: str) -> str:
        """Mask the start of a known secret that ends *text*."""
        for secret in self._secrets:
            for size in range(min(len(secret) - 1, len(text)), _SHORTEST_SECRET - 1, -1):
                if text.endswith(secret[:size]):
                    return text[:-size] + MASK
        return text

    def _scrub(self, value: Any, keep_keys: bool = False) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {
                key: MASK
                if not keep_keys and looks_secret(str(key))
                else self._scrub(item, keep_keys)
                for key, item in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [self._scrub(item, keep_keys) for item in value]
        return value

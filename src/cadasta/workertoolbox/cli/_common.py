"""
What the ``celery toolbox`` commands share: how they name the app and report errors.

Every command prints an expected failure as one line on standard error, never a
traceback, with passwords masked by :mod:`..config._secrets`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from ..config._masking import MASK, mask_text, mask_url, url_secrets

__all__ = [
    "broker_location",
    "first_line",
    "not_configured_note",
    "quiet_library_logs",
    "redact",
    "report_error",
]

#: The logger every module of the library logs under.
_LIBRARY_LOGGER = "cadasta.workertoolbox"


def first_line(text: str) -> str:
    """Return the first non-blank line of *text*, stripped; ``'no details'`` if none."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "no details"


def report_error(message: str, *, color: bool | None = None) -> None:
    """Print *message* on standard error as one line, prefixed with ``Error:``."""
    click.echo(f"Error: {' '.join(message.split())}", err=True, color=color)


def not_configured_note(app: Any) -> str | None:
    """Say that *app* was not configured with ``Config``, or return ``None`` if it was."""
    from ..startup._setup import is_configured_by_toolbox

    if is_configured_by_toolbox(app):
        return None
    return (
        f"app {app.main or '__main__'!r} was not configured with "
        "cadasta.workertoolbox.conf.Config (app.conf has no PLATFORM_QUEUE_NAME), so it "
        "does not follow the architecture: configure it with "
        "app.config_from_object(Config(...)), and give -A the module that does so."
    )


def broker_location(app: Any) -> str:
    """Describe the broker *app* writes to, its password masked."""
    url = app.conf.broker_write_url
    if url:
        return repr(mask_url(str(url)))
    from ..publish.transports import transport_alias

    transport = transport_alias(app.conf.broker_transport or "amqp")
    return f"the default {transport!r} broker (broker_url is not set)"


def redact(text: str, url: str | None) -> str:
    """
    Replace the secrets of *url* in *text*, and any other it shows, by the mask.

    The secrets of *url* are what :func:`~._masking.mask_url` masks (its password and
    secret query parameters), as given or %-decoded: a message may quote them either
    way. Then :func:`~._masking.mask_text` masks what else it finds.
    """
    if url and mask_url(url) == MASK:
        # mask_url could not parse the URL, so its secrets are unknown: show nothing.
        return MASK
    for secret in url_secrets(url) if url else ():
        text = text.replace(secret, MASK)
    return mask_text(text)


@contextmanager
def quiet_library_logs() -> Iterator[None]:
    """
    Silence the library's own log records while the block runs.

    The commands report what matters themselves (the conformance failures, the
    provisioning's warnings); the same news logged again would print twice.
    """
    logger = logging.getLogger(_LIBRARY_LOGGER)
    handler = logging.NullHandler()
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.propagate = propagate
        logger.removeHandler(handler)

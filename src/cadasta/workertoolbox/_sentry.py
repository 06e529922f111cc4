"""Sentry (placeholder, replaced in this session)."""

from __future__ import annotations


def init_sentry(
    dsn: str | None, name: str | None, environment: str | None, release: str | None
) -> None:
    """Initialise sentry-sdk."""
    raise NotImplementedError

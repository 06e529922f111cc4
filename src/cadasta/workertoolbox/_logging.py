"""File logging (placeholder, replaced in this session)."""

from __future__ import annotations


def configure_file_logging(log_dir: str) -> None:
    """Configure logging to files in *log_dir*."""
    raise NotImplementedError

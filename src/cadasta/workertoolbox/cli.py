"""The ``celery toolbox`` command (placeholder, being written)."""

from __future__ import annotations

import click


@click.group(name="toolbox")
def toolbox() -> None:
    """Inspect, check and set up an app configured with cadasta-workertoolbox."""

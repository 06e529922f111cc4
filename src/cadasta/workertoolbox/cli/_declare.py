"""
``celery -A APP toolbox declare``: set the app up on its broker, as a worker's start does.

It runs :func:`~cadasta.workertoolbox.setup.setup_app`: caps ``celery.chord_unlock``
retries and declares the exchange, every queue and every binding, so that the SQS queues
exist before a producer sends its first task or a deploy script checks them. A broker
that cannot be reached is reported in one line within seconds: ``Config``'s transport
options retry the connection only a few times.
"""

from __future__ import annotations

from typing import Any

import click

from .._chord_unlock import CHORD_UNLOCK_TASK
from .._env_prefix import env_prefix_of
from ._common import broker_location, first_line, not_configured_note, redact, report_error
from ._queues import format_table, topology_of

__all__ = ["declare", "failure_message"]


def failure_message(error: Exception, app: Any) -> str:
    """Say why declaring on *app*'s broker failed and what to check, password masked."""
    from kombu.exceptions import OperationalError

    where = broker_location(app)
    url = app.conf.broker_write_url
    variable = f"{env_prefix_of(app.conf)}BROKER_URL"
    if isinstance(error, (OperationalError, OSError)):
        reason = redact(first_line(str(error)), url)
        return (
            f"Cannot declare the queues: the broker at {where} cannot be reached or "
            f"refused the connection ({reason}). Check that it runs and is reachable from "
            f"here, and check broker_url (the variable {variable})."
        )
    if isinstance(error, ValueError):
        # kombu's message may quote a fragment of a password it could not parse.
        return (
            f"Cannot declare the queues: kombu cannot read broker_url {where} "
            f"({type(error).__name__}). Give it as scheme://user:password@host:port, with "
            f"'/', '@', ':' and '%' in the password %-escaped (the variable {variable})."
        )
    reason = redact(first_line(str(error)), url)
    return (
        f"Declaring the queues on the broker at {where} failed: "
        f"{type(error).__name__}: {reason}. Check broker_url (the variable {variable}) "
        "and the permissions of its credentials."
    )


def declare(app: Any, *, color: bool | None = None) -> int:
    """
    Set *app* up on its broker and print what was declared.

    Args:
        app: A Celery app configured with :class:`~cadasta.workertoolbox.conf.Config`.
        color: Passed to :func:`click.echo`.

    Returns:
        The exit status: 0 when everything was declared, 1 otherwise.

    """
    from ..startup._setup import setup_app

    note = not_configured_note(app)
    if note is not None:
        report_error(
            f"declare sets up only apps configured with Config, as a worker's start does: {note}",
            color=color,
        )
        return 1
    topology = topology_of(app)
    try:
        setup_app(app)
    except Exception as error:
        report_error(failure_message(error, app), color=color)
        return 1
    click.echo(f"Declared on the broker at {broker_location(app)}:", color=color)
    click.echo(f"  {topology.describe()}", color=color)
    for line in format_table([row.cells() for row in topology.rows]):
        click.echo(f"  {line}", color=color)
    retries = app.tasks[CHORD_UNLOCK_TASK].max_retries
    click.echo(
        f"Capped {CHORD_UNLOCK_TASK} at {retries} retries (CHORD_UNLOCK_MAX_RETRIES).",
        color=color,
    )
    return 0

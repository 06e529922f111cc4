"""
The ``celery toolbox`` command: ``celery -A APP toolbox show|check|declare|…``.

Celery loads :data:`toolbox` through the ``celery.commands`` entry point
(``cadasta.workertoolbox.cli``, which imports it from here). This module only wires click
to the implementation, which each command imports when it runs (``_show``, ``_check``,
``_declare``, ``_provision``), so that loading the plugin keeps ``celery --help`` fast.
"""

from __future__ import annotations

import os
from typing import Any

import click

__all__ = ["toolbox"]


def _app(ctx: click.Context) -> Any:
    """Return the app ``celery -A`` loaded."""
    app = getattr(ctx.obj, "app", None)
    if app is None:
        raise click.UsageError("run it as a sub-command of celery: celery -A APP toolbox ...")
    return app


def _color(ctx: click.Context) -> bool | None:
    """Return ``False`` under ``celery --no-color``, else let click decide."""
    return False if getattr(ctx.obj, "no_color", False) else None


@click.group(name="toolbox")
def toolbox() -> None:
    """Inspect, check and set up an app configured with cadasta-workertoolbox."""


@toolbox.command(name="show")
@click.pass_context
def show_command(ctx: click.Context) -> None:
    """Print the app's settings, the library's variables and the queues, secrets masked."""
    from ._show import show

    ctx.exit(show(_app(ctx), environ=os.environ, color=_color(ctx)))


@toolbox.command(name="check")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead.")
@click.option(
    "--producer",
    is_flag=True,
    help="Check a process that only sends tasks, without a worker's set-up.",
)
@click.option(
    "--module",
    "modules",
    multiple=True,
    metavar="MODULE",
    help=(
        "Import this task module before checking (repeatable); by default a worker's "
        "imports and include, and none with --producer."
    ),
)
@click.pass_context
def check_command(
    ctx: click.Context, as_json: bool, producer: bool, modules: tuple[str, ...]
) -> None:
    """Run the conformance suite on the app: exit 0 if it conforms, 1 if not."""
    from ._check import check

    ctx.exit(
        check(
            _app(ctx),
            as_json=as_json,
            is_worker=not producer,
            task_modules=modules or None,
            color=_color(ctx),
        )
    )


@toolbox.command(name="declare")
@click.pass_context
def declare_command(ctx: click.Context) -> None:
    """Declare the exchange and every queue on the broker, as a worker's start does."""
    from ._declare import declare

    ctx.exit(declare(_app(ctx), color=_color(ctx)))


@toolbox.command(name="provision-result-db")
@click.option(
    "--admin-url",
    required=True,
    metavar="URL",
    help="The database owner's URL, naming the result database; leave its password out "
    "to have libpq read PGPASSWORD or ~/.pgpass.",
)
@click.option("--role", metavar="NAME", help="The workers' role [default: result_backend's user]")
@click.option("--schema", default="public", show_default=True, help="The result tables' schema.")
@click.option(
    "--password-from-env",
    "password_variable",
    metavar="VAR",
    help="Set the role's password from the variable VAR [default: result_backend's password].",
)
@click.option("--keep-password", is_flag=True, help="Leave the role's password as it is.")
@click.pass_context
def provision_command(
    ctx: click.Context,
    admin_url: str,
    role: str | None,
    schema: str,
    password_variable: str | None,
    keep_password: bool,
) -> None:
    """Create the result tables and confine the workers' role to them."""
    if password_variable and keep_password:
        raise click.UsageError("give --password-from-env or --keep-password, not both")
    from ._provision import provision

    code = provision(
        _app(ctx),
        admin_url=admin_url,
        role=role,
        password_variable=password_variable,
        keep_password=keep_password,
        schema=schema,
        environ=os.environ,
        color=_color(ctx),
    )
    ctx.exit(code)

"""
``celery -A APP toolbox provision-result-db``: provision the app's result database.

It runs :func:`~cadasta.workertoolbox.provisioning.provision_result_db` as the
database's owner (``--admin-url``) for the workers' role, which defaults to the user of
the app's ``result_backend``.

The role's password: the workers connect with the password in their
``result_backend`` (``RESULT_DB_PASS``), so when the role is that user, provisioning
sets that password, and the role works for them at once. ``--password-from-env VAR``
takes it from the variable ``VAR`` instead, and ``--keep-password`` leaves it as it is
(a new role then gets none). A password is never printed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import click

from .._env_prefix import env_prefix_of
from ..config._secrets import masked
from ..config._variables import LIBRARY_VARIABLES
from ..exceptions import ConfigError
from ._common import not_configured_note, quiet_library_logs, report_error

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

    from ..resultdb._provision import ProvisionReport

__all__ = ["provision", "workers_url"]

_FROM_BACKEND = "the password of the app's result_backend (RESULT_DB_PASS)"


def workers_url(app: Any) -> URL | None:
    """Return the database URL of *app*'s ``result_backend``, if it is the database backend."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    backend = app.conf.result_backend
    if not isinstance(backend, str) or not backend.startswith("db+"):
        return None
    try:
        return make_url(backend.removeprefix("db+"))
    except (ArgumentError, ValueError):
        return None


def _password(
    role: str,
    backend: URL | None,
    variable: str | None,
    keep: bool,
    environ: Mapping[str, str],
) -> tuple[str | None, str]:
    """
    Return the role's password and where it comes from.

    Raises:
        ConfigError: The variable *variable* is not set.

    """
    if keep:
        return None, ""
    if variable is not None:
        value = environ.get(variable)
        if not value:
            raise ConfigError(
                f"--password-from-env names the variable {variable}, which is not set or "
                "empty; set it to the role's password, or leave the option out to use "
                "the password of the app's result_backend."
            )
        return value, f"the variable {variable}"
    if backend is not None and backend.username == role and backend.password:
        return str(backend.password), _FROM_BACKEND
    return None, ""


def _warnings(
    app: Any, report: ProvisionReport, backend: URL | None, source: str, password: str | None
) -> Iterator[str]:
    """Yield what deserves a second look before the workers use the role."""
    prefix = env_prefix_of(app.conf)
    if source == _FROM_BACKEND and password == LIBRARY_VARIABLES["RESULT_DB_PASS"]:
        yield (
            "the role got the default password of RESULT_DB_PASS, which anyone can read in "
            f"the library's source: set {prefix}RESULT_DB_PASS to a secret of your own for "
            "the workers and run this again."
        )
    if backend is not None and backend.database != report.database:
        yield (
            f"--admin-url names the database {report.database!r}, but the app's "
            f"result_backend stores results in {backend.database!r} "
            f"({prefix}RESULT_DB_NAME): the workers will not find the tables provisioned here."
        )
    for access in report.other_access:
        yield (
            f"role {report.role!r} can also reach {access}, through PUBLIC, a role it belongs "
            "to or an earlier grant; provisioning does not revoke that: review it."
        )
    for privilege in report.cluster_privileges:
        yield (
            f"role {report.role!r} holds {privilege}; provisioning does not remove that: review it."
        )
    if report.other_databases:
        yield (
            f"role {report.role!r} can connect to other databases of the cluster: "
            f"{', '.join(report.other_databases)}; provisioning looks only at "
            f"{report.database!r}. Revoke CONNECT where the workers have no business "
            "(REVOKE CONNECT ON DATABASE … FROM PUBLIC, and from the role)."
        )


def _role_line(report: ProvisionReport, source: str) -> str:
    if report.role_created:
        if report.password_set:
            return f"created, with {source}"
        return "created, without a password (give one with --password-from-env VAR)"
    if report.password_set:
        return f"existed; its password is now {source}"
    return "existed; its password is unchanged"


def provision(
    app: Any,
    *,
    admin_url: str,
    role: str | None = None,
    password_variable: str | None = None,
    keep_password: bool = False,
    schema: str = "public",
    environ: Mapping[str, str],
    color: bool | None = None,
) -> int:
    """
    Provision the result database of *app* and print the report.

    Args:
        app: The Celery app whose workers store their results in the database.
        admin_url: The URL of the database's owner.
        role: The workers' role; the user of the app's ``result_backend`` when ``None``.
        password_variable: The environment variable holding the role's password.
        keep_password: Leave the role's password as it is.
        schema: The schema holding the result tables.
        environ: Where *password_variable* is read.
        color: Passed to :func:`click.echo`.

    Returns:
        The exit status: 0 when the database was provisioned, 1 otherwise.

    """
    from ..resultdb._provision import provision_result_db

    note = not_configured_note(app)
    if note is not None:
        click.echo(f"Warning: {note}", err=True, color=color)
    backend = workers_url(app)
    role = role or (backend.username if backend is not None else None)
    if not role:
        shown = masked("result_backend", app.conf.result_backend)
        report_error(
            f"The app's result_backend {shown} names no user to take as the workers' "
            "role: give the role with --role NAME (the workers' RESULT_DB_USER).",
            color=color,
        )
        return 1
    try:
        password, source = _password(role, backend, password_variable, keep_password, environ)
        with quiet_library_logs():
            report = provision_result_db(admin_url, role, password=password, schema=schema)
    except ConfigError as error:
        report_error(" ".join(error.problems), color=color)
        return 1
    click.echo(
        f"Provisioned the result tables of database {report.database!r}, schema "
        f"{report.schema!r}, for role {report.role!r}:",
        color=color,
    )
    created = ", ".join(report.created) or "nothing (all existed)"
    click.echo(f"  created: {created}", color=color)
    click.echo(f"  role: {_role_line(report, source)}", color=color)
    for warning in _warnings(app, report, backend, source, password):
        click.echo(f"Warning: {warning}", err=True, color=color)
    return 0

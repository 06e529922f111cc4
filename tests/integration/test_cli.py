"""
`celery -A APP toolbox declare` on an SQS endpoint, `provision-result-db` on PostgreSQL.

Each test runs the command as a user does, in a subprocess configured by ``CELERY_*``
variables alone, or in this process on an app of its own (for the variants). Roles are
cluster-wide: each test drops the roles it made.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy
from celery import Celery
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from cadasta.workertoolbox.conf import Config
from tests.cli_apps.runner import invoke, run_toolbox

from .services import SQSEndpoint

PASSWORD = "Cli-R0le-Secret"


def run(url: str, statement: str, **params: Any) -> list[Any]:
    """Run *statement* on *url*, committing; return its rows (none for a command)."""
    engine = sqlalchemy.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            result = connection.execute(sqlalchemy.text(statement), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        engine.dispose()


@pytest.fixture
def make_role(database_url: str) -> Iterator[Callable[[], str]]:
    """Name roles of this test's own; drop them, and what they were granted, afterwards."""
    names: list[str] = []

    def make() -> str:
        names.append(f"cli_{uuid.uuid4().hex[:12]}")
        return names[-1]

    yield make
    for name in names:
        if run(database_url, "SELECT FROM pg_roles WHERE rolname = :name", name=name):
            run(database_url, f'REASSIGN OWNED BY "{name}" TO CURRENT_USER')
            run(database_url, f'DROP OWNED BY "{name}"')
            run(database_url, f'DROP ROLE "{name}"')


def result_db_variables(database_url: str, role: str, password: str) -> dict[str, str]:
    """The ``CELERY_RESULT_DB_*`` variables of workers storing results as *role*."""
    url = make_url(database_url)
    return {
        "CELERY_RESULT_DB_USER": role,
        "CELERY_RESULT_DB_PASS": password,
        "CELERY_RESULT_DB_HOST": url.host or "127.0.0.1",
        "CELERY_RESULT_DB_PORT": str(url.port or 5432),
        "CELERY_RESULT_DB_NAME": str(url.database),
    }


def other_database_warnings(stderr: str, role: str) -> tuple[list[str], list[str]]:
    """
    Split *stderr* into the warning about the other databases *role* may reach, and the rest.

    Every role may connect to every database of a cluster left at PostgreSQL's defaults,
    and which databases the test cluster holds is not this test's business.
    """
    prefix = f"Warning: role {role!r} can connect to other databases of the cluster: "
    lines = stderr.splitlines()
    return [line for line in lines if line.startswith(prefix)], [
        line for line in lines if not line.startswith(prefix)
    ]


def app_for(variables: dict[str, str]) -> Celery:
    """An app configured with Config from *variables* alone."""
    app = Celery("cli", set_as_current=False)
    app.config_from_object(
        Config(environ={**variables, "CELERY_BROKER_URL": "memory://"}, imports=())
    )
    return app


# -- declare ----------------------------------------------------------------------------


def test_declare_creates_the_queues_on_sqs(sqs_endpoint: SQSEndpoint, queue_prefix: str) -> None:
    """After `declare`, every queue exists with the prefix; the monitor queue is FIFO."""
    completed = run_toolbox(
        "good_app",
        "declare",
        variables={
            "CELERY_BROKER_URL": sqs_endpoint.broker_url,
            "CELERY_QUEUE_PREFIX": queue_prefix,
        },
    )
    assert completed.returncode == 0, completed.stderr
    expected = [f"{queue_prefix}-{name}" for name in ("celery", "export", "msg", "platform.fifo")]
    assert sqs_endpoint.queue_names(queue_prefix) == expected
    monitor = sqs_endpoint.queue_attributes(f"{queue_prefix}-platform.fifo")
    assert monitor["FifoQueue"] == "true"
    assert "FifoQueue" not in sqs_endpoint.queue_attributes(f"{queue_prefix}-export")
    for name in expected:
        assert f" {name} " in completed.stdout
    assert "testing-secret-value" not in completed.stdout


# -- provision-result-db ----------------------------------------------------------------


def test_provision_gives_the_workers_role_their_password(
    database_url: str, make_role: Callable[[], str]
) -> None:
    """The role is the result_backend's user, with its password: the workers can connect."""
    role = make_role()
    completed = run_toolbox(
        "good_app",
        "provision-result-db",
        "--admin-url",
        database_url,
        variables={
            "CELERY_BROKER_URL": "memory://",
            **result_db_variables(database_url, role, PASSWORD),
        },
    )
    assert completed.returncode == 0, completed.stderr
    databases, others = other_database_warnings(completed.stderr, role)
    assert others == []
    assert len(databases) == 1
    assert "REVOKE CONNECT ON DATABASE … FROM PUBLIC" in databases[0]
    database = make_url(database_url).database
    assert completed.stdout.splitlines() == [
        f"Provisioned the result tables of database {database!r}, schema 'public', for role "
        f"{role!r}:",
        "  created: public.celery_taskmeta, public.celery_tasksetmeta, "
        "public.task_id_sequence, public.taskset_id_sequence",
        "  role: created, with the password of the app's result_backend (RESULT_DB_PASS)",
    ]
    role_url = make_url(database_url).set(username=role, password=PASSWORD)
    rows = run(
        role_url.render_as_string(hide_password=False),
        "INSERT INTO celery_taskmeta (id, task_id) VALUES (nextval('task_id_sequence'), 'x')"
        " RETURNING task_id",
    )
    assert rows == [("x",)]


def test_provision_again_keeps_or_changes_the_password(
    database_url: str, make_role: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs on an existing role: --keep-password leaves it, --password-from-env sets it."""
    role = make_role()
    app = app_for(result_db_variables(database_url, role, PASSWORD))
    try:
        first = invoke(app, "provision-result-db", "--admin-url", database_url)
        kept = invoke(app, "provision-result-db", "--admin-url", database_url, "--keep-password")
        monkeypatch.setenv("CLI_ROLE_PASSWORD", "An0ther-Secret")
        changed = invoke(
            app,
            "provision-result-db",
            "--admin-url",
            database_url,
            "--password-from-env",
            "CLI_ROLE_PASSWORD",
        )
    finally:
        app.close()
    assert first.exit_code == kept.exit_code == changed.exit_code == 0
    assert kept.stdout.splitlines()[1:] == [
        "  created: nothing (all existed)",
        "  role: existed; its password is unchanged",
    ]
    assert changed.stdout.splitlines()[2] == (
        "  role: existed; its password is now the variable CLI_ROLE_PASSWORD"
    )
    for result in (first, kept, changed):
        assert PASSWORD not in result.output
        assert "An0ther-Secret" not in result.output
    role_url = make_url(database_url).set(username=role, password="An0ther-Secret")
    assert run(role_url.render_as_string(hide_password=False), "SELECT 1") == [(1,)]


def test_provision_warns_about_what_needs_a_second_look(
    database_url: str, make_role: Callable[[], str]
) -> None:
    """A role of another name, the default password, another database, more access: warned."""
    run(database_url, "CREATE TABLE platform_things (id integer)")
    run(database_url, "GRANT SELECT ON platform_things TO PUBLIC")
    backend_role, other_role = make_role(), make_role()
    variables = result_db_variables(database_url, backend_role, PASSWORD)
    del variables["CELERY_RESULT_DB_PASS"]  # the library's default, 'cadasta'
    variables["CELERY_RESULT_DB_NAME"] = "elsewhere"
    app = app_for(variables)
    try:
        other = invoke(
            app, "provision-result-db", "--admin-url", database_url, "--role", other_role
        )
        default = invoke(app, "provision-result-db", "--admin-url", database_url)
    finally:
        app.close()
    assert other.exit_code == default.exit_code == 0
    assert other.stdout.splitlines()[2] == (
        "  role: created, without a password (give one with --password-from-env VAR)"
    )
    database = make_url(database_url).database
    assert other_database_warnings(default.stderr, backend_role)[1] == [
        "Warning: the role got the default password of RESULT_DB_PASS, which anyone can read "
        "in the library's source: set CELERY_RESULT_DB_PASS to a secret of your own for the "
        "workers and run this again.",
        f"Warning: --admin-url names the database {database!r}, but the app's result_backend "
        "stores results in 'elsewhere' (CELERY_RESULT_DB_NAME): the workers will not find the "
        "tables provisioned here.",
        f"Warning: role {backend_role!r} can also reach table public.platform_things, through "
        "PUBLIC, a role it belongs to or an earlier grant; provisioning does not revoke that: "
        "review it.",
    ]


def test_provision_refuses_a_role_that_can_become_a_more_powerful_one(
    database_url: str, make_role: Callable[[], str]
) -> None:
    """A member of pg_execute_server_program: one line naming the membership, exit 1."""
    role = make_role()
    run(database_url, f'CREATE ROLE "{role}" LOGIN')
    run(database_url, f'GRANT pg_execute_server_program TO "{role}"')
    completed = run_toolbox(
        "good_app",
        "provision-result-db",
        "--admin-url",
        database_url,
        variables={
            "CELERY_BROKER_URL": "memory://",
            **result_db_variables(database_url, role, PASSWORD),
        },
    )
    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr.count("\n") == 1
    assert completed.stderr.startswith(
        f"Error: role {role!r} is a member of 'pg_execute_server_program', which may run "
        "programs on the database server (COPY … TO PROGRAM)"
    )
    assert f'REVOKE "pg_execute_server_program" FROM "{role}"' in completed.stderr
    assert PASSWORD not in completed.stderr


def test_provision_warns_about_cluster_privileges(
    database_url: str, make_role: Callable[[], str]
) -> None:
    """CREATEDB and a predefined role that does not escape: a warning each, exit 0."""
    role = make_role()
    run(database_url, f'CREATE ROLE "{role}" LOGIN CREATEDB')
    run(database_url, f'GRANT pg_signal_backend TO "{role}"')
    app = app_for(result_db_variables(database_url, role, PASSWORD))
    try:
        result = invoke(app, "provision-result-db", "--admin-url", database_url)
    finally:
        app.close()
    assert result.exit_code == 0, result.stderr
    assert other_database_warnings(result.stderr, role)[1] == [
        f"Warning: role {role!r} holds CREATEDB, with which it can create databases (ALTER "
        f'ROLE "{role}" NOCREATEDB removes it); provisioning does not remove that: review it.',
        f"Warning: role {role!r} holds the predefined role pg_signal_backend, whose members "
        "may cancel and terminate other sessions; provisioning does not remove that: review "
        "it.",
    ]

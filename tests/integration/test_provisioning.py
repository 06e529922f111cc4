"""
Scenario 5: the workers' role reaches the result tables and nothing else.

Every test provisions a fresh database (``database_url``) for a role of its own; roles
are cluster-wide, so each one is dropped afterwards with whatever it was granted.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg2.errors
import pytest
import sqlalchemy
from celery import Celery
from celery.backends.database.models import Task, TaskSet
from celery.backends.database.session import ResultModelBase, SessionManager
from celery.contrib.testing.worker import start_worker
from celery.result import GroupResult
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from cadasta.workertoolbox import ProvisionReport, provision_result_db
from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.exceptions import ConfigError

from . import services
from .services import SQSEndpoint

RESULT_TABLES = ("celery_taskmeta", "celery_tasksetmeta")
RESULT_SEQUENCES = ("task_id_sequence", "taskset_id_sequence")
PASSWORD = "Pr0vision-me"


# -- helpers --------------------------------------------------------------------------


def engine_for(url: str) -> sqlalchemy.Engine:
    """An engine without a pool, committing each statement."""
    return sqlalchemy.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def run(url: str, statement: str, **params: Any) -> list[Any]:
    """Run *statement* on *url* and return its rows (none for a command)."""
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            result = connection.execute(sqlalchemy.text(statement), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        engine.dispose()


def as_role(database_url: str, role: str, password: str = PASSWORD) -> str:
    """The URL of the test database for *role*."""
    url = make_url(database_url).set(username=role, password=password)
    return url.render_as_string(hide_password=False)


def drop_roles(database_url: str, names: list[str]) -> None:
    """Drop *names* and whatever they own or were granted in the test database."""
    for name in names:
        if run(database_url, "SELECT FROM pg_roles WHERE rolname = :name", name=name):
            quoted = '"' + name.replace('"', '""') + '"'
            run(database_url, f"REASSIGN OWNED BY {quoted} TO CURRENT_USER")
            run(database_url, f"DROP OWNED BY {quoted}")
            run(database_url, f"DROP ROLE {quoted}")


def denied(url: str, statement: str) -> bool:
    """Tell whether running *statement* on *url* fails for lack of privilege."""
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(statement)
    except sqlalchemy.exc.DBAPIError as error:
        return isinstance(error.orig, psycopg2.errors.InsufficientPrivilege)
    finally:
        engine.dispose()
    return False


def scram_matches(verifier: str, password: str) -> bool:
    """Tell whether a stored SCRAM-SHA-256 verifier was made from *password* (RFC 5802)."""
    method, rest = verifier.split("$", 1)
    iterations_salt, keys = rest.split("$")
    iterations, salt = iterations_salt.split(":")
    stored_key, server_key = keys.split(":")
    salted = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(salt), int(iterations)
    )
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    return (
        method == "SCRAM-SHA-256"
        and base64.b64decode(stored_key) == hashlib.sha256(client_key).digest()
        and base64.b64decode(server_key) == hmac.digest(salted, b"Server Key", "sha256")
    )


def privileges(database_url: str, role: str) -> dict[str, list[Any]]:
    """Everything the role holds or is, and the objects of the public schema."""
    queries = {
        "table grants": """
            SELECT table_schema, table_name, privilege_type, is_grantable
              FROM information_schema.role_table_grants WHERE grantee = :role""",
        "usage grants": """
            SELECT object_schema, object_name, object_type, privilege_type
              FROM information_schema.usage_privileges WHERE grantee = :role""",
        "acls": """
            SELECT c.relname, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a
             WHERE a.grantee = (SELECT oid FROM pg_roles WHERE rolname = :role)
            UNION ALL
            SELECT 'schema ' || n.nspname, a.privilege_type
              FROM pg_namespace n, aclexplode(n.nspacl) a
             WHERE a.grantee IN (0, (SELECT oid FROM pg_roles WHERE rolname = :role))
            UNION ALL
            SELECT 'database', a.privilege_type FROM pg_database d, aclexplode(d.datacl) a
             WHERE d.datname = current_database()
               AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = :role)""",
        "role": """
            SELECT rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
                   rolreplication, rolbypassrls, rolconnlimit
              FROM pg_roles WHERE rolname = :role""",
        "memberships": """
            SELECT roleid::regrole::text FROM pg_auth_members
             WHERE member = (SELECT oid FROM pg_roles WHERE rolname = :role)""",
        "objects": """
            SELECT c.relname, c.relkind, c.relowner::regrole::text FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace""",
        "columns": """
            SELECT table_name, column_name, data_type, character_maximum_length, is_nullable
              FROM information_schema.columns WHERE table_schema = 'public'""",
    }
    return {name: sorted(run(database_url, query, role=role)) for name, query in queries.items()}


def result_backend_config(
    database_url: str, role: str, password: str = PASSWORD, **settings: Any
) -> Config:
    """A Config whose default result_backend connects to the test database as *role*."""
    url = make_url(database_url)
    return Config(
        environ={},
        RESULT_DB_USER=role,
        RESULT_DB_PASS=password,
        RESULT_DB_HOST=url.host or "127.0.0.1",
        RESULT_DB_PORT=str(url.port or 5432),
        RESULT_DB_NAME=url.database,
        imports=(),
        **settings,
    )


@pytest.fixture
def make_role(database_url: str) -> Iterator[Callable[..., str]]:
    """Name roles for this test (``worker_<hex>`` unless given); drop them afterwards."""
    names: list[str] = []

    def make(name: str | None = None, prefix: str = "worker") -> str:
        names.append(name or f"{prefix}_{uuid.uuid4().hex[:12]}")
        return names[-1]

    yield make
    drop_roles(database_url, names)


@pytest.fixture
def role(make_role: Callable[..., str]) -> str:
    """A role name of this test's own."""
    return make_role()


@pytest.fixture
def restore_celery_models() -> Iterator[None]:
    """Put Celery's result models back in the default schema after the test."""
    yield
    Task.configure()
    TaskSet.configure()


# -- a worker as the role -------------------------------------------------------------


@pytest.mark.parametrize("extended", [False, True], ids=["result_extended=False", "True"])
def test_a_worker_stores_and_reads_results_as_the_provisioned_role(
    database_url: str, role: str, sqs_endpoint: SQSEndpoint, queue_prefix: str, extended: bool
) -> None:
    """
    A real worker on the default result_backend URL, as the role, stores results.

    The result row is in ``celery_taskmeta``; ``AsyncResult.get()`` reads it back as the
    role; groups are saved and restored, and results forgotten and cleaned up — what
    Celery's database backend does, with or without ``result_extended``.
    """
    report = provision_result_db(database_url, role, password=PASSWORD)
    database = make_url(database_url).database
    # PostgreSQL lets PUBLIC connect to every database: the others of this cluster.
    assert "postgres" in report.other_databases
    assert database not in report.other_databases
    assert dataclasses.replace(report, other_databases=()) == ProvisionReport(
        database=database,
        schema="public",
        role=role,
        role_created=True,
        password_set=True,
        created=(
            "public.celery_taskmeta",
            "public.celery_tasksetmeta",
            "public.task_id_sequence",
            "public.taskset_id_sequence",
        ),
        other_access=(),
    )
    config = result_backend_config(
        database_url,
        role,
        broker_url=sqs_endpoint.broker_url,
        QUEUE_PREFIX=queue_prefix,
        result_extended=extended,
    )
    backend_url = make_url(str(config.result_backend).removeprefix("db+"))
    assert (backend_url.username, backend_url.drivername) == (role, "postgresql+psycopg2")
    app = Celery("provisioned", set_as_current=False)
    app.config_from_object(config)

    @app.task(name="export.add", shared=False)
    def add(x: int, y: int) -> int:
        return x + y

    try:
        with start_worker(app, perform_ping_check=False, queues=["export"]):
            result = add.delay(2, 3)
            assert result.get(timeout=30) == 5
        rows = run(
            database_url,
            "SELECT status, name FROM celery_taskmeta WHERE task_id = :id",
            id=result.id,
        )
        assert rows == [("SUCCESS", "export.add" if extended else None)]

        group = GroupResult(str(uuid.uuid4()), [result], app=app)
        group.save()
        restored = GroupResult.restore(group.id, app=app)
        assert [child.id for child in restored.results] == [result.id]
        result.forget()
        app.backend.cleanup()
        group.delete()
    finally:
        app.close()
    assert run(database_url, "SELECT count(*) FROM celery_taskmeta")[0][0] == 0
    assert run(database_url, "SELECT count(*) FROM celery_tasksetmeta")[0][0] == 0


def test_celerys_create_all_only_reads_the_catalog_once_the_tables_exist(
    database_url: str, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Celery's table set-up, run as the role, succeeds without creating or altering."""
    provision_result_db(database_url, role, password=PASSWORD)
    before = privileges(database_url, role)
    engine = sqlalchemy.create_engine(as_role(database_url, role), poolclass=NullPool)
    try:
        ResultModelBase.metadata.create_all(engine)
        with caplog.at_level(logging.WARNING, logger="celery.backends.database.session"):
            SessionManager().prepare_models(engine)
    finally:
        engine.dispose()
    assert not [r for r in caplog.records if r.name.startswith("celery.backends")]
    assert privileges(database_url, role) == before


def table_shapes(database_url: str, schema: str) -> dict[str, list[Any]]:
    """The columns, constraints, indexes and sequences in *schema*, schema name left out."""
    queries = {
        "columns": """
            SELECT table_name, column_name, ordinal_position, data_type,
                   character_maximum_length, is_nullable, column_default
              FROM information_schema.columns WHERE table_schema = :schema""",
        "constraints": """
            SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
              FROM pg_constraint WHERE connamespace = CAST(:schema AS regnamespace)""",
        "indexes": """
            SELECT tablename, indexname, replace(indexdef, :schema || '.', '')
              FROM pg_indexes WHERE schemaname = :schema""",
        "sequences": """
            SELECT sequence_name, data_type, start_value, minimum_value, maximum_value,
                   increment, cycle_option
              FROM information_schema.sequences WHERE sequence_schema = :schema""",
    }
    shapes = {}
    for name, query in queries.items():
        rows = run(f"{database_url}?options=-csearch_path%3D{schema}", query, schema=schema)
        shapes[name] = sorted(rows)
    return shapes


def test_the_tables_are_the_ones_celery_creates(database_url: str, role: str) -> None:
    """
    Provisioned tables match, column for column and index for index, Celery's own.

    The reference is made by Celery's ``SessionManager.prepare_models`` as the owner, in
    a schema of its own.
    """
    run(database_url, "CREATE SCHEMA reference")
    engine = sqlalchemy.create_engine(
        database_url, poolclass=NullPool, connect_args={"options": "-csearch_path=reference"}
    )
    try:
        SessionManager().prepare_models(engine)
    finally:
        engine.dispose()
    provision_result_db(database_url, role)
    reference = table_shapes(database_url, "reference")
    assert {row[0] for row in reference["columns"]} == set(RESULT_TABLES)
    assert {row[0] for row in reference["sequences"]} == set(RESULT_SEQUENCES)
    assert table_shapes(database_url, "public") == reference


# -- least privilege ------------------------------------------------------------------


@dataclass
class Confined:
    """A provisioned database with a table of the platform's own, and the role's URL."""

    admin_url: str
    role_url: str
    report: ProvisionReport


@pytest.fixture(scope="module")
def confined(postgres_admin_url: str) -> Iterator[Confined]:
    """One database for the least-privilege checks, provisioned once."""
    name = f"toolbox_{uuid.uuid4().hex[:12]}"
    admin_url = services.create_database(postgres_admin_url, name)
    role = f"worker_{uuid.uuid4().hex[:12]}"
    try:
        run(admin_url, "CREATE TABLE platform_secrets (id integer PRIMARY KEY, secret text)")
        run(admin_url, "INSERT INTO platform_secrets VALUES (1, 'the platform''s own')")
        report = provision_result_db(admin_url, role, password=PASSWORD)
        yield Confined(admin_url, as_role(admin_url, role), report)
    finally:
        drop_roles(admin_url, [role])
        services.drop_database(postgres_admin_url, name)


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM platform_secrets",
        "INSERT INTO platform_secrets VALUES (2, 'planted')",
        "UPDATE platform_secrets SET secret = 'changed'",
        "DELETE FROM platform_secrets",
        "TRUNCATE platform_secrets",
        "DROP TABLE platform_secrets",
        "CREATE TABLE worker_table (id integer)",
        "CREATE TABLE public.worker_table (id integer)",
        "CREATE VIEW worker_view AS SELECT 1 AS one",
        "CREATE SCHEMA worker_schema",
        "DROP TABLE celery_taskmeta",
        "DROP TABLE celery_tasksetmeta",
        "TRUNCATE celery_taskmeta",
        "TRUNCATE celery_tasksetmeta",
        "ALTER TABLE celery_taskmeta ADD COLUMN extra integer",
        "ALTER TABLE celery_tasksetmeta RENAME TO renamed",
        "CREATE INDEX ON celery_taskmeta (status)",
        "DROP SEQUENCE task_id_sequence",
        "SELECT setval('task_id_sequence', 1)",
        "SELECT last_value FROM taskset_id_sequence",
    ],
)
def test_the_role_is_denied_everything_else(confined: Confined, statement: str) -> None:
    """The role cannot read, write, create, drop, truncate or alter beyond its grants."""
    assert denied(confined.role_url, statement)
    rows = run(confined.admin_url, "SELECT id, secret FROM platform_secrets")
    assert rows == [(1, "the platform's own")]


def test_the_role_can_do_what_storing_results_needs(confined: Confined) -> None:
    """Numbering, inserting, locking, updating, reading and deleting result rows works."""
    statements = [
        "INSERT INTO celery_taskmeta (id, task_id) VALUES (nextval('task_id_sequence'), 'p')",
        "SELECT * FROM celery_taskmeta WHERE task_id = 'p' FOR UPDATE",
        "UPDATE celery_taskmeta SET status = 'SUCCESS' WHERE task_id = 'p'",
        "DELETE FROM celery_taskmeta WHERE task_id = 'p'",
        "INSERT INTO celery_tasksetmeta (id, taskset_id)"
        " VALUES (nextval('taskset_id_sequence'), 'p')",
        "SELECT * FROM celery_tasksetmeta WHERE taskset_id = 'p' FOR UPDATE",
        "UPDATE celery_tasksetmeta SET result = NULL WHERE taskset_id = 'p'",
        "DELETE FROM celery_tasksetmeta WHERE taskset_id = 'p'",
    ]
    engine = sqlalchemy.create_engine(confined.role_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()
    assert confined.report.other_access == ()


# -- idempotency ----------------------------------------------------------------------


def test_provisioning_twice_succeeds_and_changes_nothing(database_url: str, role: str) -> None:
    """
    A second run creates nothing and leaves exactly the same privileges.

    The role then holds CONNECT on the database, USAGE on the schema, SELECT, INSERT,
    UPDATE and DELETE on the two tables and USAGE on the two sequences — no more.
    """
    provision_result_db(database_url, role, password=PASSWORD)
    first = privileges(database_url, role)
    again = provision_result_db(database_url, role)
    assert (again.role_created, again.password_set, again.created) == (False, False, ())
    assert privileges(database_url, role) == first

    assert {(row[1], row[2]) for row in first["table grants"]} == {
        (table, privilege)
        for table in RESULT_TABLES
        for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE")
    }
    assert {(row[1], row[3]) for row in first["usage grants"]} == {
        (sequence, "USAGE") for sequence in RESULT_SEQUENCES
    }
    assert ("database", "CONNECT") in first["acls"]
    assert [acl for acl in first["acls"] if acl[0] == "schema public"] == [
        ("schema public", "USAGE"),
        ("schema public", "USAGE"),  # PUBLIC's, and the role's own
    ]
    assert first["role"] == [(False, True, False, False, True, False, False, -1)]
    assert first["memberships"] == []


def test_the_password_is_stored_as_a_scram_verifier_and_never_shown(
    database_url: str, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    """
    The role gets the password as a SCRAM-SHA-256 verifier; no log or report shows it.

    SQLAlchemy's own statement log included: the verifier travels as a hidden parameter.
    """
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
        try:
            report = provision_result_db(database_url, role, password=PASSWORD)
        finally:
            logging.getLogger("sqlalchemy.engine").setLevel(logging.NOTSET)
    ((stored,),) = run(database_url, "SELECT rolpassword FROM pg_authid WHERE rolname = :r", r=role)
    assert scram_matches(stored, PASSWORD)
    assert not scram_matches(stored, PASSWORD + "x")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert 'CREATE ROLE "' in logged
    assert "PASSWORD '********'" in logged
    assert PASSWORD not in logged
    assert stored.split("$")[-1] not in logged
    assert PASSWORD not in repr(report)

    provision_result_db(database_url, role, password="An0ther-one")
    ((changed,),) = run(
        database_url, "SELECT rolpassword FROM pg_authid WHERE rolname = :r", r=role
    )
    assert scram_matches(changed, "An0ther-one")


def test_an_existing_role_is_given_login_and_keeps_its_password(
    database_url: str, role: str
) -> None:
    """A role made beforehand without LOGIN can log in afterwards; its password is kept."""
    run(database_url, f"CREATE ROLE \"{role}\" NOLOGIN PASSWORD '{PASSWORD}'")
    ((before,),) = run(database_url, "SELECT rolpassword FROM pg_authid WHERE rolname = :r", r=role)
    report = provision_result_db(database_url, role)
    assert (report.role_created, report.password_set) == (False, False)
    rows = run(
        database_url, "SELECT rolcanlogin, rolpassword FROM pg_authid WHERE rolname = :r", r=role
    )
    assert rows == [(True, before)]
    assert not denied(as_role(database_url, role), "SELECT count(*) FROM celery_taskmeta")


# -- names, schemas, URLs and older tables --------------------------------------------


def test_a_hostile_role_name_is_one_quoted_identifier(
    database_url: str, make_role: Callable[..., str]
) -> None:
    """
    A role name with quotes, ``%`` and SQL in it names that role and nothing else.

    Config escapes it in the result_backend URL, and Celery's backend stores and reads
    results as that role.
    """
    role = make_role(f'Wkr "{uuid.uuid4().hex[:6]}" 5%; DROP TABLE platform_secrets; --')
    run(database_url, "CREATE TABLE platform_secrets (id integer)")
    report = provision_result_db(database_url, role, password=PASSWORD)
    assert report.role == role
    assert run(database_url, "SELECT rolcanlogin FROM pg_roles WHERE rolname = :r", r=role) == [
        (True,)
    ]
    assert run(database_url, "SELECT to_regclass('platform_secrets') IS NOT NULL") == [(True,)]
    app = Celery("hostile", set_as_current=False)
    app.config_from_object(result_backend_config(database_url, role))
    try:
        app.backend.store_result("hostile-task", 42, "SUCCESS")
        assert app.backend.get_task_meta("hostile-task")["result"] == 42
    finally:
        app.close()
    assert denied(as_role(database_url, role), "SELECT * FROM platform_secrets")


def test_the_tables_can_live_in_a_schema_of_their_own(
    database_url: str, role: str, restore_celery_models: None
) -> None:
    """
    With ``schema``, the tables and sequences are created in that schema.

    Celery finds them through ``database_table_schemas``; the role cannot create
    objects in that schema either.
    """
    run(database_url, "CREATE SCHEMA results")
    report = provision_result_db(database_url, role, password=PASSWORD, schema="results")
    assert report.schema == "results"
    assert set(report.created) == {f"results.{name}" for name in RESULT_TABLES + RESULT_SEQUENCES}
    public = run(
        database_url, "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace"
    )
    assert public == []
    indexes = run(database_url, "SELECT indexname FROM pg_indexes WHERE schemaname = 'results'")
    assert {"ix_celery_taskmeta_date_done", "ix_celery_tasksetmeta_date_done"} <= {
        row[0] for row in indexes
    }
    schemas = {"task": "results", "group": "results"}
    app = Celery("schema", set_as_current=False)
    app.config_from_object(
        result_backend_config(database_url, role, database_table_schemas=schemas)
    )
    try:
        app.backend.store_result("in-results", "done", "SUCCESS")
        assert app.backend.get_task_meta("in-results")["status"] == "SUCCESS"
    finally:
        app.close()
    assert run(database_url, "SELECT count(*) FROM results.celery_taskmeta") == [(1,)]
    assert denied(as_role(database_url, role), "CREATE TABLE results.worker_table (id integer)")


@pytest.mark.parametrize(
    "scheme", ["db+postgresql://", "postgresql://", "postgres://", "db+postgresql+psycopg2://"]
)
def test_admin_urls_in_celery_and_driverless_forms_are_accepted(
    database_url: str, role: str, scheme: str
) -> None:
    """``db+``-prefixed and driver-less PostgreSQL URLs are pinned to psycopg2."""
    admin_url = scheme + database_url.split("://", 1)[1]
    report = provision_result_db(admin_url, role)
    assert report.database == make_url(database_url).database
    assert run(database_url, "SELECT to_regclass('celery_taskmeta') IS NOT NULL") == [(True,)]


def test_tables_made_by_an_older_celery_get_the_missing_columns(
    database_url: str, role: str
) -> None:
    """
    Nullable columns a newer Celery writes are added, as Celery would add them itself.

    The workers' role could not, and every result it stores writes those columns.
    """
    run(database_url, "CREATE SEQUENCE task_id_sequence")
    run(
        database_url,
        """CREATE TABLE celery_taskmeta (
               id integer PRIMARY KEY, task_id varchar(155) UNIQUE, status varchar(50),
               result bytea, date_done timestamp, traceback text)""",
    )
    report = provision_result_db(database_url, role, password=PASSWORD)
    assert report.created == (
        "public.celery_tasksetmeta",
        "public.taskset_id_sequence",
        *(
            f"public.celery_taskmeta.{column}"
            for column in (
                "children",
                "name",
                "args",
                "kwargs",
                "worker",
                "retries",
                "queue",
                "stamps",
            )
        ),
    )
    app = Celery("older", set_as_current=False)
    app.config_from_object(result_backend_config(database_url, role))
    try:
        app.backend.store_result("after-upgrade", [1, 2], "SUCCESS")
        assert app.backend.get_task_meta("after-upgrade")["result"] == [1, 2]
    finally:
        app.close()


def test_other_access_reports_what_public_grants_reach(
    database_url: str, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    """
    Privileges the role gets through PUBLIC are reported and logged, not revoked.

    Reading or writing another table or sequence, creating objects in a schema, or
    creating schemas in the database.
    """
    run(database_url, "CREATE TABLE shared_lookup (id integer)")
    run(database_url, "GRANT SELECT ON shared_lookup TO PUBLIC")
    run(database_url, "CREATE SEQUENCE shared_numbers")
    run(database_url, "GRANT USAGE ON SEQUENCE shared_numbers TO PUBLIC")
    run(database_url, "CREATE SCHEMA scratch")
    run(database_url, "GRANT CREATE ON SCHEMA scratch TO PUBLIC")
    database = make_url(database_url).database
    run(database_url, f'GRANT CREATE ON DATABASE "{database}" TO PUBLIC')
    with caplog.at_level(logging.WARNING, logger="cadasta.workertoolbox.provisioning"):
        report = provision_result_db(database_url, role)
    assert report.other_access == (
        f"database {database} (CREATE)",
        "schema scratch (CREATE)",
        "sequence public.shared_numbers",
        "table public.shared_lookup",
    )
    assert f"Role {role!r} can also reach: database {database} (CREATE)" in caplog.text
    assert not denied(as_role(database_url, role), "SELECT * FROM shared_lookup")


# -- refusals and failures ------------------------------------------------------------


def test_an_unreachable_database_is_a_config_error_without_the_password() -> None:
    """A connection failure names the masked URL and what to check."""
    admin_url = f"postgresql://owner:{PASSWORD}@127.0.0.1:{services.free_port()}/cadasta"
    with pytest.raises(ConfigError, match="Cannot connect to admin_url") as info:
        provision_result_db(admin_url, "worker")
    message = str(info.value)
    assert "owner:********@127.0.0.1" in message
    assert PASSWORD not in message
    assert "database's owner" in message


def test_a_superuser_role_is_refused_and_nothing_is_created(database_url: str) -> None:
    """Giving the workers a superuser would defeat the purpose: refused, nothing changed."""
    ((superuser,),) = run(database_url, "SELECT current_user")
    with pytest.raises(ConfigError, match="is a superuser"):
        provision_result_db(database_url, superuser)
    assert run(database_url, "SELECT to_regclass('celery_taskmeta') IS NULL") == [(True,)]


def test_an_unsafe_existing_role_is_refused_with_every_reason(database_url: str, role: str) -> None:
    """
    A role able to create roles, owning the database and a result table is refused.

    One ConfigError lists each reason; nothing is created or granted.
    """
    database = make_url(database_url).database
    run(database_url, f'CREATE ROLE "{role}" LOGIN CREATEROLE')
    run(database_url, "CREATE TABLE celery_tasksetmeta (id integer)")
    run(database_url, f'ALTER TABLE celery_tasksetmeta OWNER TO "{role}"')
    run(database_url, f'ALTER DATABASE "{database}" OWNER TO "{role}"')
    with pytest.raises(ConfigError) as info:
        provision_result_db(database_url, role, password=PASSWORD)
    first, second = info.value.problems
    assert "has the CREATEROLE attribute" in first
    assert "NOCREATEROLE" in first
    assert f"owns (itself or through a role it belongs to) database {database}" in second
    assert "table public.celery_tasksetmeta" in second
    assert run(database_url, "SELECT to_regclass('celery_taskmeta') IS NULL") == [(True,)]
    assert PASSWORD not in str(info.value)


def test_a_missing_schema_is_refused(database_url: str, role: str) -> None:
    """The schema must exist; the message says how to create it."""
    with pytest.raises(ConfigError, match="schema 'results' does not exist") as info:
        provision_result_db(database_url, role, schema="results")
    assert 'CREATE SCHEMA "results"' in str(info.value)
    assert run(database_url, "SELECT FROM pg_roles WHERE rolname = :r", r=role) == []


def test_an_owner_without_privileges_gets_a_config_error_naming_the_failure(
    database_url: str, role: str, make_role: Callable[..., str]
) -> None:
    """An admin_url that is not the database's owner fails clearly, password masked."""
    stranger = make_role(prefix="stranger")
    run(database_url, f"CREATE ROLE \"{stranger}\" LOGIN PASSWORD '{PASSWORD}'")
    with pytest.raises(ConfigError, match="permission denied for schema public") as info:
        provision_result_db(as_role(database_url, stranger), role, password="W0rker-pw")
    message = str(info.value)
    assert "while running: CREATE SEQUENCE public.task_id_sequence" in message
    assert f"{stranger}:********@" in message
    assert PASSWORD not in message
    assert "W0rker-pw" not in message
    assert "CREATEROLE" in message


def test_grants_postgresql_ignores_are_caught_and_everything_is_rolled_back(
    database_url: str, role: str, make_role: Callable[..., str]
) -> None:
    """
    An admin that may create tables in a schema it does not own cannot grant its USAGE.

    PostgreSQL only warns; the provisioning checks the role's privileges, names the
    missing one, and rolls the whole transaction back.
    """
    creator = make_role(prefix="creator")
    run(database_url, f"CREATE ROLE \"{creator}\" LOGIN PASSWORD '{PASSWORD}'")
    run(database_url, f'CREATE ROLE "{role}" LOGIN')
    run(database_url, "CREATE SCHEMA results")
    run(database_url, f'GRANT USAGE, CREATE ON SCHEMA results TO "{creator}"')
    with pytest.raises(ConfigError, match="without USAGE on schema results") as info:
        provision_result_db(as_role(database_url, creator), role, schema="results")
    assert "owner of the database and of the schema 'results'" in str(info.value)
    assert run(database_url, "SELECT to_regclass('results.celery_taskmeta') IS NULL") == [(True,)]


# -- roles that can become more powerful ones --------------------------------------------

#: How a role reached through membership escapes the result tables: the role to grant
#: (a predefined one, or one made with the attribute), and what the refusal says of it.
ESCAPES = {
    "superuser": ("SUPERUSER", "which is a superuser"),
    "createrole": ("CREATEROLE", "which has CREATEROLE"),
    "bypassrls": ("BYPASSRLS", "which has BYPASSRLS"),
    "replication": ("REPLICATION", "which has REPLICATION"),
    "pg_execute_server_program": (None, "which may run programs on the database server"),
    "pg_read_server_files": (None, "which may read files on the database server"),
    "pg_write_server_files": (None, "which may write files on the database server"),
    "pg_read_all_data": (None, "which may read every table of every database"),
    "pg_write_all_data": (None, "which may write every table of every database"),
}


@pytest.mark.parametrize("through_a_team", [False, True], ids=["member", "member-of-a-member"])
@pytest.mark.parametrize("escape", ESCAPES)
def test_a_role_that_can_become_a_more_powerful_one_is_refused(
    database_url: str, make_role: Callable[..., str], escape: str, through_a_team: bool
) -> None:
    """
    A role that reaches, through any chain of memberships, a role that escapes is refused.

    A superuser, CREATEROLE, BYPASSRLS or REPLICATION role, or a predefined role that
    reaches the server's files or programs or every table: SET ROLE would give the
    workers' role its powers. One problem names the membership and how to revoke it;
    nothing is created.
    """
    role = make_role()
    run(database_url, f'CREATE ROLE "{role}" LOGIN')
    attribute, what = ESCAPES[escape]
    powerful = escape
    if attribute is not None:
        powerful = make_role(prefix=escape)
        run(database_url, f'CREATE ROLE "{powerful}" NOLOGIN {attribute}')
    member = role
    if through_a_team:
        team = make_role(prefix="team")
        run(database_url, f'CREATE ROLE "{team}" NOLOGIN')
        run(database_url, f'GRANT "{team}" TO "{role}"')
        member = team
    run(database_url, f'GRANT "{powerful}" TO "{member}"')

    with pytest.raises(ConfigError) as info:
        provision_result_db(database_url, role, password=PASSWORD)

    (problem,) = info.value.problems
    via = f" (through {team!r})" if through_a_team else ""
    assert problem.startswith(f"role {role!r} is a member of {powerful!r}{via}, {what}")
    assert f'SET ROLE "{powerful}"' in problem
    assert f'REVOKE "{team if through_a_team else powerful}" FROM "{role}"' in problem
    assert run(database_url, "SELECT to_regclass('celery_taskmeta') IS NULL") == [(True,)]
    assert PASSWORD not in str(info.value)


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ("BYPASSRLS", "has the BYPASSRLS attribute"),
        ("REPLICATION", "has the REPLICATION attribute"),
    ],
)
def test_a_role_that_bypasses_security_or_replicates_is_refused(
    database_url: str, role: str, attribute: str, expected: str
) -> None:
    """A role with BYPASSRLS or REPLICATION itself is refused, with how to remove it."""
    run(database_url, f'CREATE ROLE "{role}" LOGIN {attribute}')
    with pytest.raises(ConfigError) as info:
        provision_result_db(database_url, role)
    (problem,) = info.value.problems
    assert f"role {role!r} {expected}" in problem
    assert f'ALTER ROLE "{role}" NO{attribute}' in problem


def test_a_membership_granted_later_escapes_and_the_next_run_refuses_it(
    database_url: str, role: str, make_role: Callable[..., str]
) -> None:
    """
    The escape is real: a member of a superuser role alters the result table after SET ROLE.

    Provisioning the same role again then refuses it.
    """
    provision_result_db(database_url, role, password=PASSWORD)
    admins = make_role(prefix="admins")
    run(database_url, f'CREATE ROLE "{admins}" NOLOGIN SUPERUSER')
    run(database_url, f'GRANT "{admins}" TO "{role}"')
    engine = sqlalchemy.create_engine(as_role(database_url, role), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f'SET ROLE "{admins}"')
            connection.exec_driver_sql("ALTER TABLE celery_taskmeta ADD COLUMN escaped integer")
    finally:
        engine.dispose()

    with pytest.raises(ConfigError, match=f"is a member of {admins!r}, which is a superuser"):
        provision_result_db(database_url, role)


def test_createdb_predefined_roles_and_other_databases_are_reported(
    database_url: str,
    postgres_admin_url: str,
    role: str,
    make_role: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """
    What the role may do on the cluster besides escaping is reported and logged.

    CREATEDB (the role's own, or a team's), predefined roles that do not escape, and the
    other databases the role may connect to; a database whose CONNECT was revoked from
    PUBLIC is not listed. Nothing is refused.
    """
    team = make_role(prefix="team")
    run(database_url, f'CREATE ROLE "{role}" LOGIN CREATEDB')
    run(database_url, f'CREATE ROLE "{team}" NOLOGIN CREATEDB')
    run(database_url, f'GRANT "{team}", pg_signal_backend TO "{role}"')
    closed = f"toolbox_{uuid.uuid4().hex[:12]}"
    services.create_database(postgres_admin_url, closed)
    try:
        run(postgres_admin_url, f'REVOKE CONNECT ON DATABASE "{closed}" FROM PUBLIC')
        with caplog.at_level(logging.WARNING, logger="cadasta.workertoolbox.provisioning"):
            report = provision_result_db(database_url, role)
    finally:
        services.drop_database(postgres_admin_url, closed)
    assert report.cluster_privileges == (
        f'CREATEDB, with which it can create databases (ALTER ROLE "{role}" NOCREATEDB removes it)',
        "the predefined role pg_signal_backend, whose members may cancel and terminate "
        "other sessions",
        f"CREATEDB through its membership in {team!r}",
    )
    assert "postgres" in report.other_databases
    assert closed not in report.other_databases
    assert make_url(database_url).database not in report.other_databases
    assert f"Role {role!r} also holds: CREATEDB, with which it can create" in caplog.text
    assert f"Role {role!r} can connect to other databases of the cluster: " in caplog.text

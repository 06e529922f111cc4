"""
Provision the result database: Celery's tables, and a worker role confined to them.

The workers store their results in the platform's database, and their credentials should
reach only the result tables. A role that narrow cannot create the tables Celery builds on
first use, so the database's owner provisions them ahead with
:func:`provision_result_db`. In one transaction, as the owner (``admin_url``), it:

1. takes an advisory lock (``pg_advisory_xact_lock``, so concurrent runs wait their
   turn) and refuses, before changing anything, a missing schema and an existing role
   that could escape the tables, itself or through any chain of roles it belongs to
   (see :mod:`._roles`): a superuser; one with ``CREATEROLE``, ``BYPASSRLS``
   or ``REPLICATION``; a member of a predefined role that reads or writes files on the
   server, runs programs there, or reads or writes every table; one owning the
   database, the schema or a result table;
2. creates Celery's sequences, tables and indexes from Celery's own models
   (``celery.backends.database.models``), exactly as Celery's ``create_all`` would, and
   adds the nullable columns that tables made by an older Celery lack;
3. creates the role (``LOGIN``; with a password if one is given, sent as a SCRAM-SHA-256
   verifier computed by libpq, so the password itself never reaches the server, its log
   or ours), or makes an existing one able to log in;
4. grants the role what storing and reading results needs, and nothing else;
5. checks (``has_table_privilege`` and the like) that the role holds each of those
   privileges: PostgreSQL only warns when a ``GRANT`` by a non-owner is ignored.

The SQL, for the role ``worker`` in the database ``cadasta`` and the schema ``public``
(SQLAlchemy emits the ``CREATE`` statements, only for the objects that do not exist)::

    CREATE SEQUENCE public.task_id_sequence;
    CREATE TABLE public.celery_taskmeta (
        id INTEGER NOT NULL,
        task_id VARCHAR(155),
        status VARCHAR(50),
        result BYTEA,
        date_done TIMESTAMP WITHOUT TIME ZONE,
        traceback TEXT,
        children BYTEA,
        name VARCHAR(155),
        args BYTEA,
        kwargs BYTEA,
        worker VARCHAR(155),
        retries INTEGER,
        queue VARCHAR(155),
        stamps BYTEA,
        PRIMARY KEY (id),
        UNIQUE (task_id)
    );
    CREATE INDEX ix_celery_taskmeta_date_done ON public.celery_taskmeta (date_done);
    CREATE SEQUENCE public.taskset_id_sequence;
    CREATE TABLE public.celery_tasksetmeta (
        id INTEGER NOT NULL,
        taskset_id VARCHAR(155),
        result BYTEA,
        date_done TIMESTAMP WITHOUT TIME ZONE,
        PRIMARY KEY (id),
        UNIQUE (taskset_id)
    );
    CREATE INDEX ix_celery_tasksetmeta_date_done ON public.celery_tasksetmeta (date_done);

    CREATE ROLE "worker" WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:…';
    -- or, when the role exists: ALTER ROLE "worker" WITH LOGIN [PASSWORD 'SCRAM-SHA-256$…'];
    -- (run only when it cannot log in or a password is given)

    REVOKE ALL ON DATABASE "cadasta" FROM "worker";
    GRANT CONNECT ON DATABASE "cadasta" TO "worker";
    REVOKE CREATE ON SCHEMA "public" FROM PUBLIC;
    REVOKE ALL ON SCHEMA "public" FROM "worker";
    GRANT USAGE ON SCHEMA "public" TO "worker";
    REVOKE ALL ON TABLE "public"."celery_taskmeta", "public"."celery_tasksetmeta" FROM "worker";
    GRANT SELECT, INSERT, UPDATE, DELETE
        ON TABLE "public"."celery_taskmeta", "public"."celery_tasksetmeta" TO "worker";
    REVOKE ALL ON SEQUENCE "public"."task_id_sequence", "public"."taskset_id_sequence"
        FROM "worker";
    GRANT USAGE ON SEQUENCE "public"."task_id_sequence", "public"."taskset_id_sequence"
        TO "worker";

Why each privilege:

- ``SELECT``, ``INSERT``, ``UPDATE`` on both tables: Celery reads a task's row, inserts
  it, then updates it (``STARTED``, then the outcome), locking it with
  ``SELECT … FOR UPDATE``; a group's result is inserted and read.
- ``DELETE`` on both tables: the ``celery.backend_cleanup`` task (run daily by beat when
  ``result_expires`` is set, as it is by default), ``AsyncResult.forget()`` and
  ``GroupResult.delete()`` delete rows; without it they fail with "permission denied".
- ``USAGE`` on both sequences: ``nextval`` numbers the new rows. Not ``SELECT`` (reading
  the sequence) nor ``UPDATE`` (``setval``).
- ``CONNECT`` on the database and ``USAGE`` on the schema, to reach the tables.

The ``REVOKE ALL`` statements first take away whatever else the role held on these
objects, so a second run leaves exactly the same privileges. ``REVOKE CREATE ON SCHEMA …
FROM PUBLIC`` is explicit: PostgreSQL 15 and later no longer grant ``CREATE`` on
``public`` to everyone, older servers do, and there it also stops other roles that relied
on it from creating tables in that schema (grant them ``CREATE`` explicitly).

Celery still runs ``create_all`` as the role when its backend is set up
(``database_create_tables_at_setup``, true by default) or first used; with the tables in
place that only reads the catalog, which every role may do.

The table always has the columns of ``result_extended``: Celery's models share one
table whose definition includes them, so Celery creates them with or without that
setting, and the same tables serve both. A schema other than ``public`` also needs
``database_table_schemas = {'task': SCHEMA, 'group': SCHEMA}`` in the workers'
configuration; custom ``database_table_names`` are not supported, since the platform
reads ``celery_taskmeta``.

What the provisioning does not touch, and reports instead: privileges other roles
granted to ``PUBLIC`` or to a role the worker's role belongs to
(:attr:`ProvisionReport.other_access`), ``CREATEDB`` and the predefined roles it is not
refused for (:attr:`ProvisionReport.cluster_privileges`), and the other databases of the
cluster it may connect to (:attr:`ProvisionReport.other_databases`; PostgreSQL lets
``PUBLIC`` connect to every database by default). Every role also keeps PostgreSQL's
defaults for ``PUBLIC``: ``CONNECT`` and ``TEMPORARY`` (session-private temporary
tables) on the database, reading the system catalogs, running functions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

from ..config._masking import mask_text, url_password, url_secrets
from ..config._secrets import MASK, mask_url
from ..exceptions import ConfigError
from ._roles import inspect_role, other_databases
from ._sql import driver_sql as _driver_sql
from ._sql import query as _query
from ._sql import quote as _quote

if TYPE_CHECKING:
    from sqlalchemy import Connection, MetaData, Table
    from sqlalchemy.engine import URL

__all__ = ["ProvisionReport", "grant_statements", "provision_result_db"]

logger = logging.getLogger("cadasta.workertoolbox.provisioning")

#: The privileges the role gets on each result table, and on each sequence.
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
SEQUENCE_PRIVILEGES = ("USAGE",)

_EXAMPLE_URL = "postgresql+psycopg2://owner:PASSWORD@db.example.org:5432/cadasta"
_ACCEPTED_DRIVERS = frozenset({"postgresql", "postgres", "postgresql+psycopg2"})
_RESERVED_ROLES = frozenset({"public", "none", "current_user", "current_role", "session_user"})
#: PostgreSQL cuts longer names short (NAMEDATALEN - 1).
_MAX_NAME_BYTES = 63
#: Serialises concurrent provisioning runs on one server (pg_advisory_xact_lock).
_LOCK_KEY = 0x63616461_7374_6101


@dataclass(frozen=True)
class ProvisionReport:
    """
    What :func:`provision_result_db` found and did.

    Attributes:
        database: The database provisioned.
        schema: The schema holding the result tables.
        role: The workers' role.
        role_created: Whether this run created the role.
        password_set: Whether this run set the role's password.
        created: The tables, sequences and columns this run created, schema-qualified;
            empty when they all existed.
        other_access: What the role may reach besides the result tables — tables,
            views and sequences it can read or write, schemas it can create objects in,
            the database if it can create schemas —
            through ``PUBLIC``, membership in another role, or earlier grants. Empty when
            the role is confined to the result tables. Provisioning does not revoke these
            (other roles may rely on them); review them.
        cluster_privileges: What the role may do on the whole cluster, itself or
            through a role it belongs to, that provisioning does not refuse:
            ``CREATEDB``, and predefined roles such as ``pg_signal_backend``. Review them.
        other_databases: The other databases of the cluster the role may connect to
            (each followed by `` (CREATE)`` when it may create schemas there); every role
            may by default, through ``PUBLIC``. Provisioning looks at none of them.

    .. versionadded:: 1.0

    """

    database: str
    schema: str
    role: str
    role_created: bool
    password_set: bool
    created: tuple[str, ...]
    other_access: tuple[str, ...]
    cluster_privileges: tuple[str, ...] = ()
    other_databases: tuple[str, ...] = ()


def grant_statements(role: str, *, database: str, schema: str = "public") -> tuple[str, ...]:
    """
    Return the statements that confine *role* to Celery's result tables in *schema*.

    They are the ``REVOKE``/``GRANT`` part of :func:`provision_result_db`, in the order
    it runs them, as PostgreSQL reads them; each identifier is quoted.

    Args:
        role: The workers' role.
        database: The database holding the result tables.
        schema: The schema holding the result tables.

    Raises:
        ConfigError: A name PostgreSQL cannot hold, or a reserved one.

    .. versionadded:: 1.0

    """
    problems = [
        *_role_problems(role),
        *_name_problems("database", database),
        *_schema_problems(schema),
    ]
    if problems:
        raise ConfigError(problems)
    _, tables, sequences = _result_objects(schema)
    q_role, q_schema = _quote(role), _quote(schema)
    q_tables = ", ".join(_qualified(schema, table.name) for table in tables)
    q_sequences = ", ".join(_qualified(schema, name) for name in sequences)
    return (
        f"REVOKE ALL ON DATABASE {_quote(database)} FROM {q_role}",
        f"GRANT CONNECT ON DATABASE {_quote(database)} TO {q_role}",
        f"REVOKE CREATE ON SCHEMA {q_schema} FROM PUBLIC",
        f"REVOKE ALL ON SCHEMA {q_schema} FROM {q_role}",
        f"GRANT USAGE ON SCHEMA {q_schema} TO {q_role}",
        f"REVOKE ALL ON TABLE {q_tables} FROM {q_role}",
        f"GRANT {', '.join(TABLE_PRIVILEGES)} ON TABLE {q_tables} TO {q_role}",
        f"REVOKE ALL ON SEQUENCE {q_sequences} FROM {q_role}",
        f"GRANT {', '.join(SEQUENCE_PRIVILEGES)} ON SEQUENCE {q_sequences} TO {q_role}",
    )


def provision_result_db(
    admin_url: str, role: str, *, password: str | None = None, schema: str = "public"
) -> ProvisionReport:
    """
    Create Celery's result tables and confine the workers' *role* to them.

    Connects as the database's owner, creates the tables and sequences Celery's
    database backend uses (only those missing), creates *role* if it does not exist, and
    grants it only what storing and reading results needs; see the module's
    documentation for the SQL. All in one transaction: on any error nothing changes.
    Running it again succeeds and leaves the same privileges.

    Args:
        admin_url: The SQLAlchemy URL of the database's owner, naming the database the
            workers store results in (``RESULT_DB_NAME``). ``db+postgresql://…`` and
            driver-less ``postgresql://…`` are accepted and use psycopg2.
        role: The workers' role, the user of their ``result_backend``
            (``RESULT_DB_USER``).
        password: The role's password (``RESULT_DB_PASS``), set on every run when given;
            when omitted, a new role gets none and an existing one keeps its own.
        schema: The schema to create the tables in; it must exist.

    Returns:
        What was found and done.

    Raises:
        ConfigError: An argument is invalid, the database cannot be reached, the role is
            unsafe for workers (a superuser, able to create roles, bypass row-level
            security or replicate, a member of a role that is or may do so or that
            reaches the server's files or programs or every table, or owning the
            database, the schema or a result table), or the owner lacks a privilege the
            provisioning needs. The message names the problem; passwords are masked.

    .. versionadded:: 1.0

    """
    url = _check_arguments(admin_url, role, password, schema)

    import sqlalchemy
    from sqlalchemy.pool import NullPool

    masked = mask_url(admin_url)
    engine = sqlalchemy.create_engine(url, poolclass=NullPool, hide_parameters=True)
    try:
        try:
            connection = engine.connect()
        except sqlalchemy.exc.DBAPIError as error:
            raise ConfigError(
                f"Cannot connect to admin_url {masked!r}: "
                f"{_hidden(_first_line(str(error.orig)), admin_url)}. "
                "Check its host, port, database and credentials: it must name the "
                "database's owner."
            ) from None
        with connection, connection.begin():
            try:
                report = _provision(connection, role, password, schema)
            except sqlalchemy.exc.DBAPIError as error:
                raise ConfigError(
                    f"Provisioning the result tables through admin_url {masked!r} failed: "
                    f"{_hidden(_first_line(str(error.orig)), admin_url)} (while running: "
                    f"{_first_line(error.statement or '')}). admin_url must name the owner "
                    "of the database and of the schema; creating the role or setting its "
                    "password also needs the CREATEROLE attribute."
                ) from None
    finally:
        engine.dispose()
    logger.info(
        "Provisioned the result tables of database %r (schema %r) for role %r; created: %s",
        report.database,
        report.schema,
        report.role,
        ", ".join(report.created) or "nothing",
    )
    for what, found, separator in (
        ("can also reach", report.other_access, ", "),
        ("also holds", report.cluster_privileges, "; "),
        ("can connect to other databases of the cluster", report.other_databases, ", "),
    ):
        if found:
            logger.warning("Role %r %s: %s", report.role, what, separator.join(found))
    return report


def _hidden(text: str, url: str) -> str:
    """Return *text* without the secrets of *url*, nor any other it shows."""
    for secret in url_secrets(url):
        text = text.replace(secret, MASK)
    return mask_text(text)


# -- validation -----------------------------------------------------------------------


def _check_arguments(admin_url: str, role: str, password: str | None, schema: str) -> URL:
    """Return the owner's URL pinned to psycopg2, or raise every problem found at once."""
    problems = [*_role_problems(role), *_schema_problems(schema)]
    if password == "":
        problems.append(
            "password must not be empty; pass None to keep the role's password (or to "
            "create the role without one), or give RESULT_DB_PASS."
        )
    url = _parse_admin_url(admin_url)
    if isinstance(url, str):
        problems.append(url)
    if problems:
        raise ConfigError(problems)
    return cast("URL", url)


def _parse_admin_url(admin_url: str) -> URL | str:
    """Return the owner's URL pinned to psycopg2, or why *admin_url* is refused."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    masked = mask_url(admin_url)
    text = admin_url[3:] if admin_url[:3].lower() == "db+" else admin_url
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        return (
            f"admin_url {masked!r} is not a database URL; give the URL of the database's "
            f"owner, such as {_EXAMPLE_URL!r}."
        )
    if url.drivername.lower() not in _ACCEPTED_DRIVERS:
        return (
            f"admin_url {masked!r} uses {url.drivername!r}; the result database is "
            f"PostgreSQL through psycopg2: give a URL such as {_EXAMPLE_URL!r} "
            "('postgresql://…' and 'db+postgresql://…' are accepted too)."
        )
    written = url_password(text)
    if written is not None and unquote(written) != url.password:
        # SQLAlchemy ends the password at its first '@' and takes the rest for the host,
        # which the driver's errors would then show.
        return (
            f"admin_url {masked!r} holds an '@' in its password that is not escaped; "
            "write it as %40 (urllib.parse.quote(password, safe='') escapes every "
            "character that needs it), or leave the password out to have libpq read "
            "PGPASSWORD or ~/.pgpass."
        )
    if not url.database:
        return (
            f"admin_url {masked!r} names no database; end it with '/NAME', the database "
            f"the workers store results in (RESULT_DB_NAME), as in {_EXAMPLE_URL!r}."
        )
    return url.set(drivername="postgresql+psycopg2")


def _name_problems(what: str, name: str) -> list[str]:
    if not name:
        return [f"{what} must not be empty; give a PostgreSQL name."]
    if "\x00" in name:
        return [f"{what} {name!r} holds a NUL character, which PostgreSQL names cannot."]
    size = len(name.encode("utf-8"))
    if size > _MAX_NAME_BYTES:
        return [
            f"{what} {name!r} is {size} bytes long; PostgreSQL keeps at most "
            f"{_MAX_NAME_BYTES} bytes of a name and cuts the rest, so choose a shorter one."
        ]
    return []


def _role_problems(role: str) -> list[str]:
    problems = _name_problems("role", role)
    if not problems and (role.lower() in _RESERVED_ROLES or role.lower().startswith("pg_")):
        problems.append(
            f"role {role!r} is reserved by PostgreSQL (PUBLIC, NONE, CURRENT_USER, "
            "SESSION_USER, CURRENT_ROLE and names starting with 'pg_'); choose another "
            "name for the workers' role (RESULT_DB_USER), such as 'worker'."
        )
    return problems


def _schema_problems(schema: str) -> list[str]:
    problems = _name_problems("schema", schema)
    if not problems and (
        schema.lower() == "information_schema" or schema.lower().startswith("pg_")
    ):
        problems.append(
            f"schema {schema!r} is a system schema; use 'public' or a schema of your own."
        )
    return problems


# -- Celery's objects -----------------------------------------------------------------


def _result_objects(schema: str) -> tuple[MetaData, tuple[Table, ...], tuple[str, ...]]:
    """
    Return a copy of Celery's result tables placed in *schema*, and their sequences.

    The copy is placed the way Celery's ``Task.configure(schema=…)`` places its own
    tables, so indexes get the names Celery gives them; Celery's models are left as
    they are.
    """
    from celery.backends.database.models import Task, TaskSet
    from sqlalchemy import MetaData
    from sqlalchemy import Sequence as SQLSequence

    metadata = MetaData()
    tables: list[Table] = []
    sequences: list[str] = []
    for model in (Task, TaskSet):
        # name=: Celery's configure(name=…) renames the original. schema=None: copied
        # without a schema, so that index names come out as Celery's (computed on the
        # copy, they would include a schema given here); then placed as configure() does.
        table = model.__table__.to_metadata(metadata, schema=None, name=model.__tablename__)
        table.schema = schema
        for column in table.columns:
            if isinstance(column.default, SQLSequence):
                column.default.schema = schema
                sequences.append(column.default.name)
        tables.append(table)
    return metadata, tuple(tables), tuple(sequences)


def _qualified(schema: str, name: str) -> str:
    return f"{_quote(schema)}.{_quote(name)}"


# -- the transaction ------------------------------------------------------------------


def _provision(
    connection: Connection, role: str, password: str | None, schema: str
) -> ProvisionReport:
    _query(connection, "SELECT pg_advisory_xact_lock(%(key)s)", key=_LOCK_KEY)
    database, schema_exists = _query(
        connection,
        "SELECT current_database(), EXISTS (SELECT FROM pg_namespace WHERE nspname = %(s)s)",
        s=schema,
    )[0]
    metadata, tables, sequences = _result_objects(schema)
    names = [*(table.name for table in tables), *sequences]
    attributes = _query(
        connection, "SELECT rolcanlogin FROM pg_roles WHERE rolname = %(role)s", role=role
    )
    problems = [] if schema_exists else [_missing_schema(schema, database)]
    cluster_privileges: tuple[str, ...] = ()
    if attributes:
        reach = inspect_role(connection, role, schema, names)
        problems += reach.problems
        cluster_privileges = reach.cluster_privileges
    if problems:
        raise ConfigError(problems)

    before = _existing(connection, schema, names)
    metadata.create_all(connection, checkfirst=True)
    created = [f"{schema}.{name}" for name in names if name not in before]
    created += _add_missing_columns(connection, schema, tables)

    verifier = None
    if password is not None:
        from psycopg2.extensions import encrypt_password  # type: ignore[import-untyped]

        dbapi_connection = connection.connection.dbapi_connection
        verifier = str(encrypt_password(password, role, dbapi_connection, "scram-sha-256"))
    if not attributes:
        _set_role(connection, "CREATE", role, verifier)
    elif verifier is not None or not attributes[0][0]:
        _set_role(connection, "ALTER", role, verifier)

    for statement in grant_statements(role, database=database, schema=schema):
        _execute(connection, statement)
    missing = _missing_privileges(connection, role, schema, tables, sequences)
    if missing:
        raise ConfigError(
            f"The GRANT statements left role {role!r} without {', '.join(missing)}: "
            "PostgreSQL only warns when a role grants privileges it does not hold. "
            "Run the provisioning as the owner of the database and of the schema "
            f"{schema!r}."
        )
    return ProvisionReport(
        database=database,
        schema=schema,
        role=role,
        role_created=not attributes,
        password_set=verifier is not None,
        created=tuple(created),
        other_access=_other_access(connection, role, schema, names),
        cluster_privileges=cluster_privileges,
        other_databases=other_databases(connection, role),
    )


def _missing_schema(schema: str, database: str) -> str:
    return (
        f"schema {schema!r} does not exist in database {database!r}; create it first "
        f"(CREATE SCHEMA {_quote(schema)}) or use the default, 'public'."
    )


def _existing(connection: Connection, schema: str, names: Sequence[str]) -> set[str]:
    rows = _query(
        connection,
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %(schema)s AND c.relname = ANY(%(names)s)",
        schema=schema,
        names=list(names),
    )
    return {row[0] for row in rows}


def _add_missing_columns(connection: Connection, schema: str, tables: Sequence[Table]) -> list[str]:
    """Add the nullable columns a table made by an older Celery lacks, as Celery would."""
    import sqlalchemy

    inspector = sqlalchemy.inspect(connection)
    added = []
    for table in tables:
        present = {column["name"] for column in inspector.get_columns(table.name, schema)}
        for column in table.columns:
            if column.name not in present and column.nullable:
                kind = column.type.compile(dialect=connection.dialect)
                _execute(
                    connection,
                    f"ALTER TABLE {_qualified(schema, table.name)} "
                    f"ADD COLUMN {_quote(column.name)} {kind}",
                )
                added.append(f"{schema}.{table.name}.{column.name}")
    return added


def _set_role(connection: Connection, verb: str, role: str, verifier: str | None) -> None:
    statement = f"{verb} ROLE {_quote(role)} WITH LOGIN"
    if verifier is None:
        _execute(connection, statement)
        return
    logger.debug("%s PASSWORD '%s'", statement, MASK)
    # The verifier goes as a parameter, which the engine never shows (hide_parameters).
    connection.exec_driver_sql(
        f"{_driver_sql(statement)} PASSWORD %(password)s", {"password": verifier}
    )


def _missing_privileges(
    connection: Connection,
    role: str,
    schema: str,
    tables: Sequence[Table],
    sequences: Sequence[str],
) -> list[str]:
    """Return the privileges the role should hold after the grants and does not."""
    checks = [  # (what, an SQL expression telling whether the role holds it)
        (
            "CONNECT on the database",
            "has_database_privilege(%(role)s, current_database(), 'CONNECT')",
        ),
        (f"USAGE on schema {schema}", "has_schema_privilege(%(role)s, %(schema)s, 'USAGE')"),
    ]
    targets = [
        *((table.name, "has_table_privilege", p) for table in tables for p in TABLE_PRIVILEGES),
        *((name, "has_sequence_privilege", p) for name in sequences for p in SEQUENCE_PRIVILEGES),
    ]
    params: dict[str, Any] = {"role": role, "schema": schema}
    for index, (name, function, privilege) in enumerate(targets):
        params[f"o{index}"] = _qualified(schema, name)
        checks.append(
            (
                f"{privilege} on {schema}.{name}",
                f"{function}(%(role)s, %(o{index})s, '{privilege}')",
            )
        )
    expressions = ", ".join(expression for _, expression in checks)
    row = _query(connection, f"SELECT {expressions}", **params)[0]
    return [what for (what, _), held in zip(checks, row, strict=True) if not held]


def _other_access(
    connection: Connection, role: str, schema: str, names: Sequence[str]
) -> tuple[str, ...]:
    rows = _query(
        connection,
        """
        SELECT CASE c.relkind WHEN 'S' THEN 'sequence ' WHEN 'v' THEN 'view '
                              WHEN 'm' THEN 'materialized view ' WHEN 'f' THEN 'foreign table '
                              ELSE 'table ' END
               || quote_ident(n.nspname) || '.' || quote_ident(c.relname)
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
           AND n.nspname <> 'information_schema' AND left(n.nspname, 3) <> 'pg_'
           AND NOT (n.nspname = %(schema)s AND c.relname = ANY(%(names)s))
           AND CASE WHEN c.relkind = 'S'
                    THEN has_sequence_privilege(%(role)s, c.oid, 'USAGE, SELECT, UPDATE')
                    ELSE has_table_privilege(%(role)s, c.oid, 'DELETE, TRUNCATE, TRIGGER')
                         OR has_any_column_privilege(%(role)s, c.oid,
                                                     'SELECT, INSERT, UPDATE, REFERENCES')
               END
        UNION ALL
        SELECT 'database ' || quote_ident(current_database()) || ' (CREATE)'
         WHERE has_database_privilege(%(role)s, current_database(), 'CREATE')
        UNION ALL
        SELECT 'schema ' || quote_ident(nspname) || ' (CREATE)' FROM pg_namespace
         WHERE nspname <> 'information_schema' AND left(nspname, 3) <> 'pg_'
           AND has_schema_privilege(%(role)s, oid, 'CREATE')
        ORDER BY 1
        """,
        role=role,
        schema=schema,
        names=list(names),
    )
    return tuple(row[0] for row in rows)


# -- execution ------------------------------------------------------------------------


def _execute(connection: Connection, statement: str) -> None:
    logger.debug("%s", statement)
    connection.exec_driver_sql(_driver_sql(statement))


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "no details"

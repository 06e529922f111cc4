"""The parts of provisioning that need no database: the SQL, quoting, argument checks."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import cadasta.workertoolbox
from cadasta.workertoolbox.exceptions import ConfigError
from cadasta.workertoolbox.provisioning import grant_statements, provision_result_db
from cadasta.workertoolbox.resultdb import _provision as provisioning

#: A syntactically valid owner URL on a port nothing listens on: argument checks must
#: fail before any connection is attempted.
ADMIN_URL = "postgresql+psycopg2://owner:S3cr3t-pw@127.0.0.1:9/cadasta"
SECRET = "S3cr3t-pw"


def test_grant_statements_confine_the_role_to_the_result_tables():
    """The statements grant the role only what storing and reading results needs."""
    assert grant_statements("worker", database="cadasta") == (
        'REVOKE ALL ON DATABASE "cadasta" FROM "worker"',
        'GRANT CONNECT ON DATABASE "cadasta" TO "worker"',
        'REVOKE CREATE ON SCHEMA "public" FROM PUBLIC',
        'REVOKE ALL ON SCHEMA "public" FROM "worker"',
        'GRANT USAGE ON SCHEMA "public" TO "worker"',
        'REVOKE ALL ON TABLE "public"."celery_taskmeta", "public"."celery_tasksetmeta" '
        'FROM "worker"',
        "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "
        '"public"."celery_taskmeta", "public"."celery_tasksetmeta" TO "worker"',
        'REVOKE ALL ON SEQUENCE "public"."task_id_sequence", "public"."taskset_id_sequence" '
        'FROM "worker"',
        'GRANT USAGE ON SEQUENCE "public"."task_id_sequence", "public"."taskset_id_sequence" '
        'TO "worker"',
    )


def test_grant_statements_qualify_every_object_with_the_schema():
    """With another schema, the schema's privileges and every object name use it."""
    statements = grant_statements("worker", database="cadasta", schema="results")
    assert 'GRANT USAGE ON SCHEMA "results" TO "worker"' in statements
    assert 'REVOKE CREATE ON SCHEMA "results" FROM PUBLIC' in statements
    joined = "\n".join(statements)
    assert '"public"' not in joined
    for name in ("celery_taskmeta", "celery_tasksetmeta", "task_id_sequence"):
        assert f'"results"."{name}"' in joined


@pytest.mark.parametrize(
    ("role", "quoted"),
    [
        ("Worker", '"Worker"'),
        ('we"ird', '"we""ird"'),
        ("50%", '"50%"'),
        ("user", '"user"'),
        ('x" TO PUBLIC; DROP TABLE platform; --', '"x"" TO PUBLIC; DROP TABLE platform; --"'),
        ("wörker", '"wörker"'),
    ],
)
def test_role_names_are_quoted_identifiers(role, quoted):
    """
    Any role name is one double-quoted identifier, its quotes doubled, as PostgreSQL reads.

    Upper case survives, keywords stay names, and a name that tries to end the statement
    stays inside its quotes. ``%`` is not doubled: the statements are PostgreSQL's SQL,
    escaped for the driver only when run.
    """
    statements = grant_statements(role, database="cadasta")
    for statement in statements[:2] + statements[3:]:
        assert statement.endswith(f"{quoted}")
    assert statements[2].endswith("FROM PUBLIC")


def test_database_and_schema_names_are_quoted_too():
    """The database and schema names are quoted like the role's."""
    statements = grant_statements("worker", database='plat"form', schema="Results")
    assert statements[1] == 'GRANT CONNECT ON DATABASE "plat""form" TO "worker"'
    assert statements[4] == 'GRANT USAGE ON SCHEMA "Results" TO "worker"'


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("", "role must not be empty"),
        ("a\x00b", "NUL character"),
        ("w" * 64, "64 bytes long"),
        ("é" * 32, "64 bytes long"),
        ("public", "reserved by PostgreSQL"),
        ("PUBLIC", "reserved by PostgreSQL"),
        ("none", "reserved by PostgreSQL"),
        ("current_user", "reserved by PostgreSQL"),
        ("pg_worker", "reserved by PostgreSQL"),
    ],
)
def test_invalid_role_names_are_refused(role, expected):
    """A role name PostgreSQL cannot hold, or one it reserves, is a ConfigError."""
    with pytest.raises(ConfigError, match=expected) as info:
        provision_result_db(ADMIN_URL, role)
    assert info.value.problems[0].startswith("role")
    with pytest.raises(ConfigError, match=expected):
        grant_statements(role, database="cadasta")


def test_a_63_byte_role_name_is_accepted():
    """PostgreSQL keeps 63 bytes of a name: exactly that many is fine."""
    assert grant_statements("w" * 63, database="cadasta")[0].endswith(f'"{"w" * 63}"')


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ("", "schema must not be empty"),
        ("pg_catalog", "system schema"),
        ("information_schema", "system schema"),
        ("s" * 64, "64 bytes long"),
    ],
)
def test_invalid_schemas_are_refused(schema, expected):
    """A system schema, or a name PostgreSQL cannot hold, is a ConfigError."""
    with pytest.raises(ConfigError, match=expected):
        provision_result_db(ADMIN_URL, "worker", schema=schema)
    with pytest.raises(ConfigError, match=expected):
        grant_statements("worker", database="cadasta", schema=schema)


def test_an_invalid_database_name_is_refused():
    """grant_statements checks the database's name like the others."""
    with pytest.raises(ConfigError, match="database must not be empty"):
        grant_statements("worker", database="")


def test_an_empty_password_is_refused():
    """An empty password is a mistake; None is how to leave the password alone."""
    with pytest.raises(ConfigError, match="password must not be empty; pass None"):
        provision_result_db(ADMIN_URL, "worker", password="")


@pytest.mark.parametrize(
    ("admin_url", "expected"),
    [
        ("not a url", "is not a database URL"),
        (f"postgresql://owner:{SECRET}@db:port/cadasta", "is not a database URL"),
        (f"mysql://owner:{SECRET}@db/cadasta", "uses 'mysql'"),
        ("db+sqlite:///results.db", "uses 'sqlite'"),
        (f"postgresql+psycopg://owner:{SECRET}@db/cadasta", "uses 'postgresql+psycopg'"),
        (f"postgresql+psycopg2://owner:{SECRET}@db:5432", "names no database"),
        (f"db+postgresql://owner:{SECRET}@db:5432/", "names no database"),
    ],
)
def test_unusable_admin_urls_are_refused_with_the_password_masked(admin_url, expected):
    """
    The owner's URL must be PostgreSQL through psycopg2 and name a database.

    The message shows the URL with its password masked and an example of a valid one.
    """
    with pytest.raises(ConfigError, match=re.escape(expected)) as info:
        provision_result_db(admin_url, "worker")
    message = str(info.value)
    assert SECRET not in message
    assert "postgresql+psycopg2://owner:PASSWORD@db.example.org:5432/cadasta" in message


def test_every_problem_is_reported_at_once():
    """Bad role, schema, password and URL come in one ConfigError listing each."""
    with pytest.raises(ConfigError) as info:
        provision_result_db(f"mysql://u:{SECRET}@h/d", "pg_x", password="", schema="")
    assert len(info.value.problems) == 4
    assert str(info.value).startswith("4 problems in the configuration:")
    assert SECRET not in str(info.value)


def test_the_package_re_exports_provisioning_lazily():
    """``from cadasta.workertoolbox import provision_result_db`` is the module's function."""
    from cadasta.workertoolbox import ProvisionReport
    from cadasta.workertoolbox import provision_result_db as exported

    assert exported is provision_result_db
    assert ProvisionReport is provisioning.ProvisionReport
    assert {"ProvisionReport", "provision_result_db"} <= set(dir(cadasta.workertoolbox))
    assert {"ProvisionReport", "provision_result_db"} <= set(cadasta.workertoolbox.__all__)


def test_the_package_has_no_other_lazy_names():
    """Unknown names still raise AttributeError, as for any module."""
    with pytest.raises(AttributeError, match="has no attribute 'provision'"):
        _ = cadasta.workertoolbox.provision


def test_importing_the_package_does_not_import_sqlalchemy():
    """``import cadasta.workertoolbox`` stays cheap: no SQLAlchemy, no provisioning module."""
    code = (
        "import sys, cadasta.workertoolbox\n"
        "loaded = {'sqlalchemy', 'cadasta.workertoolbox.provisioning'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("at_signs", ["@", "@@", "p@ss@"])
def test_an_unescaped_at_sign_in_the_admin_password_is_refused(at_signs: str) -> None:
    """
    A password holding an unescaped '@' is refused before connecting, masked whole.

    SQLAlchemy ends the password at the first '@' and takes the rest for the host name,
    which psycopg2 then quoted in its error: the password's second half.
    """
    admin_url = f"postgresql://owner:{SECRET}{at_signs}{SECRET}@127.0.0.1:9/cadasta"
    with pytest.raises(ConfigError, match="holds an '@' in its password that is not escaped"):
        provision_result_db(admin_url, "worker")
    with pytest.raises(ConfigError) as info:
        provision_result_db(admin_url, "worker")
    assert "owner:********@127.0.0.1:9/cadasta" in str(info.value)
    assert SECRET not in str(info.value)
    assert "%40" in str(info.value)


def test_an_escaped_at_sign_is_accepted() -> None:
    """%40 is the way to write it: the URL gets as far as connecting."""
    admin_url = f"postgresql://owner:{SECRET}%40{SECRET}@127.0.0.1:9/cadasta"
    with pytest.raises(ConfigError, match="Cannot connect to admin_url") as info:
        provision_result_db(admin_url, "worker")
    assert SECRET not in str(info.value)

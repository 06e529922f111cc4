from collections.abc import Callable
from dataclasses import replace

import pytest
from celery import Celery

from cadasta.workertoolbox.cli._provision import _warnings, provision, workers_url
from cadasta.workertoolbox.provisioning import ProvisionReport
from tests.cli_apps.runner import invoke, run_toolbox
from tests.integration.services import free_port

ADMIN_SECRET = "Adm1n-Secret-x"
ROLE_SECRET = "R0le-Secret-y"


def test_an_unreachable_admin_url_fails_in_one_line() -> None:
    """Nothing listens at --admin-url: one line naming it masked, exit 1, no password shown."""
    admin_url = f"postgresql+psycopg2://owner:{ADMIN_SECRET}@127.0.0.1:{free_port()}/cadasta"
    completed = run_toolbox(
        "good_app",
        "provision-result-db",
        "--admin-url",
        admin_url,
        variables={"CELERY_BROKER_URL": "memory://", "CELERY_RESULT_DB_PASS": ROLE_SECRET},
    )
    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr.count("\n") == 1
    masked = admin_url.replace(ADMIN_SECRET, "********")
    assert completed.stderr.startswith(f"Error: Cannot connect to admin_url '{masked}': ")
    for secret in (ADMIN_SECRET, ROLE_SECRET):
        assert secret not in completed.stderr


def test_every_problem_of_the_arguments_in_one_line(make_app: Callable[..., Celery]) -> None:
    """A reserved role and a MySQL URL: both problems, one line, exit 1."""
    result = invoke(
        make_app(),
        "provision-result-db",
        "--admin-url",
        f"mysql://owner:{ADMIN_SECRET}@h/cadasta",
        "--role",
        "pg_worker",
        "--keep-password",
    )
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "role 'pg_worker' is reserved by PostgreSQL" in result.stderr
    assert "admin_url 'mysql://owner:********@h/cadasta' uses 'mysql'" in result.stderr
    assert ADMIN_SECRET not in result.stderr


def test_a_missing_password_variable(make_app: Callable[..., Celery]) -> None:
    """--password-from-env naming an unset variable: the variable is named, exit 1."""
    result = invoke(
        make_app(),
        "provision-result-db",
        "--admin-url",
        "postgresql://owner@h/cadasta",
        "--password-from-env",
        "NO_SUCH_VARIABLE_HERE",
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: --password-from-env names the variable NO_SUCH_VARIABLE_HERE, which is not set"
    )


def test_an_app_without_a_role(capsys: pytest.CaptureFixture[str]) -> None:
    """A plain app with a cache backend names no role: the command asks for --role."""
    app = Celery("plain", set_as_current=False)
    app.conf.update(broker_url="memory://", result_backend="cache+memory://")
    try:
        code = provision(app, admin_url="postgresql://owner@h/cadasta", environ={})
    finally:
        app.close()
    assert code == 1
    warning, error = capsys.readouterr().err.splitlines()
    assert warning.startswith("Warning: app 'plain' was not configured with ")
    assert error == (
        "Error: The app's result_backend 'cache+memory://' names no user to take as the "
        "workers' role: give the role with --role NAME (the workers' RESULT_DB_USER)."
    )


@pytest.mark.parametrize(
    ("backend", "user"),
    [
        ("db+postgresql+psycopg2://worker:pw@h:5432/cadasta", "worker"),
        ("db+sqlite:///results.db", None),
        ("cache+memory://", None),
        ("db+not a url", None),
        ("db+postgresql://u:pw@h:port/cadasta", None),
    ],
)
def test_workers_url(make_app: Callable[..., Celery], backend: str, user: str | None) -> None:
    """Only Celery's database backend names the workers' role, if its URL parses."""
    url = workers_url(make_app(result_backend=backend))
    assert (url.username if url is not None else None) == user


def test_cluster_privileges_and_other_databases_are_warned_about(
    make_app: Callable[..., Celery],
) -> None:
    """Each cluster privilege is a warning; the other databases make one line."""
    report = ProvisionReport(
        database="cadasta",
        schema="public",
        role="worker",
        role_created=False,
        password_set=False,
        created=(),
        other_access=(),
        cluster_privileges=("CREATEDB through its membership in 'team'",),
        other_databases=("postgres", "platform (CREATE)"),
    )
    quiet = replace(report, cluster_privileges=(), other_databases=())
    assert list(_warnings(make_app(), quiet, None, "", None)) == []
    warnings = list(_warnings(make_app(), report, None, "", None))
    assert warnings == [
        "role 'worker' holds CREATEDB through its membership in 'team'; provisioning does "
        "not remove that: review it.",
        "role 'worker' can connect to other databases of the cluster: postgres, platform "
        "(CREATE); provisioning looks only at 'cadasta'. Revoke CONNECT where the workers "
        "have no business (REVOKE CONNECT ON DATABASE … FROM PUBLIC, and from the role).",
    ]

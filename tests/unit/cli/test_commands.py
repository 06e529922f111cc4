import subprocess
import sys
from collections.abc import Callable

from celery import Celery
from click.testing import CliRunner

from cadasta.workertoolbox.cli import toolbox
from tests.cli_apps.runner import REPO_ROOT, TIMEOUT, clean_environ, invoke, run_toolbox

COMMANDS = ("check", "declare", "provision-result-db", "show")


def test_celery_finds_the_toolbox_command_through_its_entry_point() -> None:
    """`celery -A APP toolbox --help` lists the four commands."""
    completed = run_toolbox("plain_app", "--help")
    assert completed.returncode == 0, completed.stderr
    for command in COMMANDS:
        assert f"  {command} " in completed.stdout


def test_loading_the_plugin_imports_no_implementation() -> None:
    """Celery loads cli.py for every command; it imports neither the commands nor SQLAlchemy."""
    heavy = [
        "cadasta.workertoolbox.cli._show",
        "cadasta.workertoolbox.cli._check",
        "cadasta.workertoolbox.cli._declare",
        "cadasta.workertoolbox.cli._provision",
        "cadasta.workertoolbox.conf",
        "sqlalchemy",
        "celery",
    ]
    code = (
        "import sys, cadasta.workertoolbox.cli; "
        f"print([name for name in {heavy!r} if name in sys.modules])"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=clean_environ({}),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    assert completed.stdout.strip() == "[]"


def test_outside_celery_the_commands_ask_for_an_app() -> None:
    """Invoked without Celery's context (no -A), a command is a usage error, not a crash."""
    result = CliRunner().invoke(toolbox, ["show"])
    assert result.exit_code == 2
    assert "celery -A APP toolbox" in result.output


def test_colours_follow_celerys_no_color_option(make_app: Callable[..., Celery]) -> None:
    """With and without `celery --no-color`, the output is the same text."""
    app = make_app(imports=())
    plain = invoke(app, "check", no_color=True)
    default = invoke(app, "check", no_color=False)
    assert plain.exit_code == default.exit_code == 0
    assert plain.stdout == default.stdout
    assert "\x1b[" not in plain.stdout


def test_password_options_exclude_each_other() -> None:
    """--password-from-env and --keep-password together are a usage error (exit 2)."""
    arguments = ["--admin-url", "postgresql://o@h/d", "--password-from-env", "PW"]
    result = CliRunner().invoke(toolbox, ["provision-result-db", *arguments, "--keep-password"])
    assert result.exit_code == 2
    assert "not both" in result.output

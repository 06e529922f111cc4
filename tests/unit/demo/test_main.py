"""The demo's command line, where it needs no service: arguments, help, a missing moto."""

from __future__ import annotations

import runpy
import signal
import subprocess
import sys
import threading

import pytest

from cadasta.workertoolbox.demo import main
from cadasta.workertoolbox.demo._main import _password_of, _without

INSTALL_HINT = 'pip install "cadasta-workertoolbox[local]"'


def test_help_describes_the_demo_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    """--help explains what the demo does, its options, its extra and its exit status."""
    assert main(["--help"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("usage: python -m cadasta.workertoolbox.demo")
    assert "--result-backend URL" in out
    assert "--json" in out
    assert INSTALL_HINT in out
    assert "130 on Ctrl-C" in out


@pytest.mark.parametrize("argv", [["--nope"], ["--result-backend"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown option or a missing value is a usage error, reported by argparse."""
    assert main(argv) == 2
    assert "error:" in capsys.readouterr().err


def test_a_result_backend_that_is_not_a_database_is_refused_with_its_password_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Only Celery's database backend is accepted; the message masks the URL's password."""
    assert main(["--result-backend", "redis://user:s3cret@cache:6379/0"]) == 2

    err = capsys.readouterr().err
    assert "'redis://user:********@cache:6379/0' is not a URL of Celery's database backend" in err
    assert "db+postgresql+psycopg2://" in err
    assert "s3cret" not in err


def test_without_moto_one_line_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With moto unimportable the demo starts nothing, prints one line and exits 2."""
    monkeypatch.setitem(sys.modules, "moto", None)
    monkeypatch.setitem(sys.modules, "moto.server", None)
    threads = set(threading.enumerate())

    assert main([]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert captured.err.startswith("the demo needs moto's SQS server, which is missing")
    assert captured.err.rstrip().endswith(f"install the local extra: {INSTALL_HINT}")
    assert set(threading.enumerate()) == threads


@pytest.fixture
def plain_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Find modules without pytest's assertion rewriter, as ``python -m`` does.

    The package is a pytest plugin (its ``pytest11`` entry point), so pytest's rewriting
    import hook claims its modules; ``runpy`` needs the loader's ``get_code``, which
    that hook lacks in pytest 9.2.
    """
    monkeypatch.setattr(
        sys, "meta_path", [f for f in sys.meta_path if type(f).__name__ != "AssertionRewritingHook"]
    )


@pytest.mark.usefixtures("plain_imports")
def test_running_the_package_calls_main(monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m cadasta.workertoolbox.demo`` exits with main()'s status."""
    monkeypatch.setattr(sys, "argv", ["demo", "--help"])

    with pytest.raises(SystemExit) as exited:
        runpy.run_module("cadasta.workertoolbox.demo", run_name="__main__")

    assert exited.value.code == 0


@pytest.mark.usefixtures("plain_imports")
def test_importing_the_main_module_runs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """The demo runs only when __main__ is run as the program, not when imported."""
    namespace = runpy.run_module("cadasta.workertoolbox.demo.__main__")

    assert namespace["main"] is main
    assert capsys.readouterr() == ("", "")


def test_importing_the_demo_starts_and_imports_no_server() -> None:
    """Importing the demo package imports neither moto nor boto3: they load when it runs."""
    code = (
        "import sys, cadasta.workertoolbox.demo\n"
        "print('moto' in sys.modules, 'boto3' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        ("db+postgresql+psycopg2://user:p%40ss@host/name", ["p%40ss", "p@ss"]),
        ("db+postgresql+psycopg2://user@host/name", []),
        ("db+sqlite:///results.sqlite", []),
        ("", []),
    ],
)
def test_the_password_of_a_url_is_hidden_as_written_and_decoded(
    url: str, secrets: list[str]
) -> None:
    """Both spellings of a percent-encoded password are secrets; no password, no secret."""
    assert _password_of(url) == secrets


def test_without_removes_variables_during_the_block_and_restores_them() -> None:
    """The variables that would redirect Celery are gone in the block, and come back."""
    environ = {"CELERY_BROKER_URL": "amqp://elsewhere//", "HOME": "/root"}

    with _without(environ, ["CELERY_RESULT_BACKEND", "CELERY_BROKER_URL"]) as removed:
        assert removed == ["CELERY_BROKER_URL"]
        assert environ == {"HOME": "/root"}

    assert environ == {"CELERY_BROKER_URL": "amqp://elsewhere//", "HOME": "/root"}


def test_the_sigint_handler_remembers_the_interrupt() -> None:
    """The demo's Ctrl-C handler records the interrupt before raising KeyboardInterrupt."""
    from cadasta.workertoolbox.demo import _main

    _main._INTERRUPTED.clear()
    with pytest.raises(KeyboardInterrupt):
        _main._on_sigint(signal.SIGINT, None)
    assert _main._INTERRUPTED.is_set()
    _main._INTERRUPTED.clear()

"""The worker subprocess's entry: import the app by its path, point it, run the worker."""

from __future__ import annotations

import json
import sys
from types import ModuleType
from typing import Any

import pytest

from cadasta.workertoolbox.testing import _worker_main


class FakeApp:
    """What the entry calls of an app: its configuration and worker_main."""

    def __init__(self) -> None:
        self.conf: dict[str, Any] = {}
        self.argv: list[str] | None = None

    def worker_main(self, argv: list[str]) -> None:
        """Keep the worker's arguments."""
        self.argv = argv


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> FakeApp:
    """An app held by the module toolbox_fake_proj.celery, as its variable ``app``."""
    found = ModuleType("toolbox_fake_proj.celery")
    found.app = FakeApp()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "toolbox_fake_proj.celery", found)
    return found.app  # type: ignore[attr-defined, no-any-return]


SETTINGS = {"broker_url": "sqs://127.0.0.1:9", "result_backend": "db+sqlite://"}


def test_prepare_imports_the_app_and_points_it(app: FakeApp) -> None:
    """The app at module:name, with the settings of the environment, taken out of it."""
    environ = {_worker_main.SETTINGS_VARIABLE: json.dumps(SETTINGS), "HOME": "/root"}
    found, argv = _worker_main.prepare(
        ["toolbox_fake_proj.celery:app", "worker", "--pool=solo"], environ
    )
    assert found is app
    assert app.conf == SETTINGS
    assert argv == ["worker", "--pool=solo"]
    assert environ == {"HOME": "/root"}


def test_prepare_without_settings_says_whose_module_it_is(app: FakeApp) -> None:
    """Run by hand, without the variable: an exit naming it, not a KeyError."""
    with pytest.raises(SystemExit, match="CADASTA_TOOLBOX_WORKER_SETTINGS is not set"):
        _worker_main.prepare(["toolbox_fake_proj.celery:app", "worker"], {})
    assert app.conf == {}


def test_main_runs_the_worker_with_its_arguments(
    app: FakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the arguments given, else from the command line; settings from os.environ."""
    arguments = ["toolbox_fake_proj.celery:app", "worker", "--pool=threads"]
    monkeypatch.setenv(_worker_main.SETTINGS_VARIABLE, "{}")
    _worker_main.main(arguments)
    assert app.argv == ["worker", "--pool=threads"]

    monkeypatch.setenv(_worker_main.SETTINGS_VARIABLE, "{}")
    monkeypatch.setattr(sys, "argv", ["_worker_main.py", arguments[0], "worker", "-c", "2"])
    _worker_main.main()
    assert app.argv == ["worker", "-c", "2"]

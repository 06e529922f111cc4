"""
The task modules of an app, loaded as a starting worker loads them.

The modules imported here are those of ``tests/task_modules``, pointed at the test's app
by the ``task_modules`` fixture.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery import Celery

from cadasta.workertoolbox.conformance._modules import (
    TaskModules,
    load_task_modules,
    task_module_names,
)
from tests.task_modules import SECRET

UseApp = Callable[[Celery], str]


@pytest.fixture
def plain_app() -> Iterator[Callable[..., Celery]]:
    """Build plain Celery apps (keywords to Celery), closed after the test."""
    apps: list[Celery] = []

    def make(**options: Any) -> Celery:
        app = Celery("modules", set_as_current=False, **options)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


# -- which modules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("imports", "include", "expected"),
    [
        pytest.param(("a.tasks", "b.tasks"), None, ("a.tasks", "b.tasks"), id="imports"),
        pytest.param((), ["c.tasks"], ("c.tasks",), id="include"),
        pytest.param(
            ["a.tasks"], ("c.tasks", "d.tasks"), ("a.tasks", "c.tasks", "d.tasks"), id="both"
        ),
        pytest.param("a.tasks", "c.tasks", ("a.tasks", "c.tasks"), id="strings"),
        pytest.param(
            ("a.tasks", "b.tasks", "a.tasks"),
            ("b.tasks", "c.tasks"),
            ("a.tasks", "b.tasks", "c.tasks"),
            id="duplicates",
        ),
        pytest.param(None, None, (), id="none"),
        pytest.param((), (), (), id="empty"),
    ],
)
def test_task_module_names(
    plain_app: Callable[..., Celery],
    imports: Any,
    include: Any,
    expected: tuple[str, ...],
) -> None:
    """
    imports, then include, each a list or one string, in order, each module once.

    A string is one module's name, not a sequence of letters.
    """
    app = plain_app()
    app.conf.imports = imports
    app.conf.include = include
    assert task_module_names(app) == expected


def test_task_module_names_of_celerys_include_argument(plain_app: Callable[..., Celery]) -> None:
    """Celery(include=[...]) names modules a worker imports, after imports."""
    app = plain_app(include=["c.tasks"])
    app.conf.imports = ("a.tasks",)
    assert task_module_names(app) == ("a.tasks", "c.tasks")


def test_task_module_names_of_config_defaults(make_app: Callable[..., Celery]) -> None:
    """An app configured with Config's defaults names the architecture's app.tasks."""
    assert task_module_names(make_app()) == ("app.tasks",)


# -- loading them ----------------------------------------------------------------------------


def test_a_module_that_imports_registers_its_tasks(
    make_app: Callable[..., Celery], task_modules: UseApp
) -> None:
    """The module is imported as the app's loader imports it; its tasks join the app."""
    app = make_app(imports=())
    module = f"{task_modules(app)}.export_tasks"
    loaded = load_task_modules(app, [module])
    assert loaded == TaskModules((module,), (module,), (), as_worker=True)
    assert module in sys.modules
    assert module in app.loader.task_modules
    assert {"export.render", "msg.send"} <= set(app.tasks)


@pytest.mark.parametrize(
    ("module", "error"),
    [
        pytest.param(
            "nosuch",
            "ModuleNotFoundError: No module named 'tests.task_modules.nosuch'",
            id="missing",
        ),
        pytest.param(
            "broken_import",
            "ModuleNotFoundError: No module named 'tests.task_modules.not_installed'",
            id="import-error-inside",
        ),
        pytest.param(
            "exits", "SystemExit: exits.py is a script: run it with python -m", id="system-exit"
        ),
        pytest.param(
            "leaks_password",
            "RuntimeError: could not connect to postgresql://worker:********@db:5432/results",
            id="password-masked",
        ),
    ],
)
def test_a_module_that_fails_is_reported_not_raised(
    make_app: Callable[..., Celery], task_modules: UseApp, module: str, error: str
) -> None:
    """
    ImportError, SystemExit or an error of the module's own: reported with its class.

    The password of a URL in the error is masked; the modules after it are still loaded.
    """
    app = make_app(imports=())
    package = task_modules(app)
    failing, working = f"{package}.{module}", f"{package}.export_tasks"
    loaded = load_task_modules(app, [failing, working], as_worker=False)
    assert loaded == TaskModules((failing, working), (working,), ((failing, error),), False)
    assert SECRET not in repr(loaded)
    assert "export.render" in app.tasks


def test_each_module_is_loaded_once_in_order(
    make_app: Callable[..., Celery], task_modules: UseApp
) -> None:
    """A module named twice is imported once; the order asked for is kept."""
    app = make_app(imports=())
    package = task_modules(app)
    export, report = f"{package}.export_tasks", f"{package}.report_tasks"
    loaded = load_task_modules(app, (report, export, report))
    assert (loaded.requested, loaded.loaded) == ((report, export), (report, export))


def test_nothing_to_load(make_app: Callable[..., Celery]) -> None:
    """No names: nothing requested, nothing loaded, nothing failed."""
    assert load_task_modules(make_app(), ()) == TaskModules()


# -- what is said about them -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("modules", "text"),
    [
        pytest.param(TaskModules(), "no task modules were loaded", id="nothing"),
        pytest.param(
            TaskModules(("a", "b"), ("a", "b")),
            "task modules loaded as a worker loads them: a, b",
            id="worker",
        ),
        pytest.param(
            TaskModules(("a",), ("a",), as_worker=False), "task modules loaded: a", id="explicit"
        ),
        pytest.param(
            TaskModules(("a", "b"), ("a",), (("b", "ImportError: no b"),)),
            "task modules loaded as a worker loads them: a; failed: b",
            id="one-failed",
        ),
        pytest.param(
            TaskModules(("b",), (), (("b", "ImportError: no b"),), as_worker=False),
            "task modules loaded: none; failed: b",
            id="all-failed",
        ),
    ],
)
def test_describe(modules: TaskModules, text: str) -> None:
    """Which modules were loaded, how, and which failed, without their errors."""
    assert modules.describe() == text

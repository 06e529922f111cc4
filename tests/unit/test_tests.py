from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import time
import unittest
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from kombu.entity import Exchange, Queue

from cadasta.workertoolbox.conformance._modules import TaskModules
from cadasta.workertoolbox.conformance._suite import Survey
from cadasta.workertoolbox.setup import declare_topology
from cadasta.workertoolbox.tests import build_functional_tests
from tests.task_modules import SECRET as TASK_MODULE_SECRET
from tests.unit.conformance_checks import CHECKS

#: The checks that depend on where messages go.
ROUTING = frozenset(
    {
        "test_celery_routing_key_reaches_celery_queue",
        "test_chord_unlock_reaches_celery_queue",
        "test_each_work_queue_receives_its_tasks",
    }
)
TOPIC = Exchange("task_exchange", type="topic")
DIRECT = Exchange("task_exchange", type="direct")
SECRET = "Sup3r-s3cret-pw"
_MISSING = object()


@pytest.fixture
def make_app(make_app: Callable[..., Celery]) -> Callable[..., Celery]:
    """
    Build apps whose tasks the tests register by hand: no task modules unless given.

    Config's default ``imports``, ``('app.tasks',)``, names no module here: every app
    would fail ``test_task_modules_import``. A test that is about task modules gives its
    own ``imports``.
    """

    def make(
        main: str = "worker", environ: dict[str, str] | None = None, **settings: Any
    ) -> Celery:
        settings.setdefault("imports", ())
        return make_app(main, environ, **settings)

    return make


def noop() -> None:
    """Do nothing: the body of the tasks the tests register."""


def add_tasks(app: Celery, *names: str) -> Celery:
    """Register tasks under *names* on *app* only (not as shared tasks)."""
    for name in names:
        app.task(name=name, shared=False)(noop)
    return app


def run(test_case: type[unittest.TestCase]) -> unittest.TestResult:
    """Run *test_case* with unittest, class fixtures included."""
    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(test_case).run(result)
    return result


def failures(result: unittest.TestResult) -> dict[str, str]:
    """Map the name of each failed check to its report."""
    assert not result.errors, result.errors
    return {test._testMethodName: report for test, report in result.failures}


def outcomes(result: unittest.TestResult) -> dict[str, str]:
    """Map each failed or erroring test's id to the last line of its report."""
    return {
        test.id(): report.strip().splitlines()[-1]
        for test, report in (*result.failures, *result.errors)
    }


def standard_queues(exchange: Exchange = TOPIC, platform_key: str = "#") -> list[Queue]:
    """The queues Config declares, on *exchange*, with the monitor bound by *platform_key*."""
    return [
        Queue("celery", exchange, routing_key="celery"),
        Queue("platform.fifo", exchange, routing_key=platform_key),
        Queue("export", exchange, routing_key="export"),
        Queue("msg", exchange, routing_key="msg"),
    ]


def remove_annotations(app: Celery) -> None:
    """Drop the task_annotations Config sets (before the app is finalized)."""
    app.conf.task_annotations = None


def direct_default_exchange(app: Celery) -> None:
    """Set task_default_exchange_type='direct' on *app*, past Config, which refuses it."""
    app.conf.task_default_exchange_type = "direct"


#: A broker URL on SQS that nothing listens on: the suite never connects.
SQS_URL = "sqs://key:secret@127.0.0.1:1"


def add_late_retrying_tasks(app: Celery) -> None:
    """Register tasks whose retries are due later than the default visibility timeout allows."""
    app.task(name="export.poll", shared=False, default_retry_delay=4000)(noop)
    app.task(name="export.sync", shared=False, retry_backoff=True, retry_backoff_max=5000)(noop)


# -- a conforming app passes -------------------------------------------------------------


@pytest.mark.parametrize("is_worker", [True, False])
@pytest.mark.parametrize(
    ("settings", "tasks"),
    [
        pytest.param({}, (), id="defaults"),
        pytest.param({}, ("export.render", "msg.send"), id="tasks"),
        pytest.param({"QUEUES": ["export", "msg", "report"]}, ("report.build",), id="report"),
        pytest.param({"PLATFORM_QUEUE_NAME": "monitor.fifo"}, (), id="platform-name"),
        pytest.param(
            {"result_backend": "db+postgresql+psycopg2://u:p@db:5432/results"}, (), id="db-url"
        ),
        pytest.param({"result_backend": "db+sqlite:///results.db"}, (), id="sqlite"),
    ],
)
def test_conforming_app_passes_every_check(
    make_app: Callable[..., Celery],
    settings: dict[str, Any],
    tasks: tuple[str, ...],
    is_worker: bool,
) -> None:
    """An app configured with Config passes each of the checks, worker or not."""
    app = add_tasks(make_app(**settings), *tasks)
    result = run(build_functional_tests(app, is_worker=is_worker))
    assert result.testsRun == len(CHECKS)
    assert failures(result) == {}
    assert result.wasSuccessful()


def test_each_check_is_a_test_method(make_app: Callable[..., Celery]) -> None:
    """The returned class is a TestCase named FunctionalTests with one method per check."""
    test_case = build_functional_tests(make_app())
    assert issubclass(test_case, unittest.TestCase)
    assert test_case.__name__ == test_case.__qualname__ == "FunctionalTests"
    assert test_case.__module__ == __name__
    assert set(unittest.defaultTestLoader.getTestCaseNames(test_case)) == CHECKS


def test_a_database_backend_class_given_to_celery_passes(make_config: Callable[..., Any]) -> None:
    """A backend given as a class deriving from DatabaseBackend is a database backend."""
    from celery.backends.database import DatabaseBackend

    class PlatformDatabase(DatabaseBackend):  # type: ignore[misc]
        """A project's own database backend."""

    class WorkerApp(Celery):  # type: ignore[misc]
        backend_cls = PlatformDatabase

    app = WorkerApp("worker", set_as_current=False)
    app.config_from_object(make_config(broker_url="memory://", imports=()))
    try:
        assert failures(run(build_functional_tests(app))) == {}
    finally:
        app.close()


# -- task modules ----------------------------------------------------------------------------


def skips(result: unittest.TestResult) -> dict[str, str]:
    """Map the name of each skipped check to the reason given."""
    return {test._testMethodName: reason for test, reason in result.skipped}


@pytest.mark.parametrize("setting", ["imports", "include"])
def test_the_suite_imports_the_task_modules_a_worker_imports(
    make_app: Callable[..., Celery], task_modules: Callable[[Celery], str], setting: str
) -> None:
    """
    As a worker, the modules of imports and include are imported before the checks.

    Their tasks are checked: every check passes and none is skipped. What was imported
    stays on the class, as loaded_task_modules.
    """
    app = make_app()
    module = f"{task_modules(app)}.export_tasks"
    app.conf[setting] = (module,)
    test_case = build_functional_tests(app)
    assert test_case.loaded_task_modules == TaskModules()  # type: ignore[attr-defined]
    result = run(test_case)
    assert (result.testsRun, failures(result), skips(result)) == (len(CHECKS), {}, {})
    assert {"export.render", "msg.send"} <= set(app.tasks)
    assert test_case.loaded_task_modules == TaskModules(  # type: ignore[attr-defined]
        (module,), (module,), (), as_worker=True
    )


def test_a_task_of_a_task_module_is_checked(
    make_app: Callable[..., Celery], task_modules: Callable[[Celery], str]
) -> None:
    """
    report.build, defined only in a module of imports, fails the task check.

    A test module that only imports the app would not see it: the suite would pass.
    """
    app = make_app()
    package = task_modules(app)
    app.conf.imports = (f"{package}.export_tasks", f"{package}.report_tasks")
    assert "report.build" not in app.tasks
    found = failures(run(build_functional_tests(app)))
    assert set(found) == {"test_every_task_reaches_a_work_queue"}
    assert "'report.build' goes to" in found["test_every_task_reaches_a_work_queue"]


def test_a_producer_imports_the_task_modules_it_is_given(
    make_app: Callable[..., Celery], task_modules: Callable[[Celery], str]
) -> None:
    """
    With is_worker=False, task_modules= are imported instead of the app's (none by default).

    They are the caller's, not loaded as a worker loads them; the app's imports are not
    imported.
    """
    app = make_app()
    package = task_modules(app)
    app.conf.imports = (f"{package}.export_tasks",)
    module = f"{package}.report_tasks"
    test_case = build_functional_tests(app, is_worker=False, task_modules=iter([module]))
    found = failures(run(test_case))
    assert set(found) == {"test_every_task_reaches_a_work_queue"}
    assert test_case.loaded_task_modules == TaskModules(  # type: ignore[attr-defined]
        (module,), (module,), (), as_worker=False
    )
    assert "export.render" not in app.tasks
    assert test_case.loaded_task_modules.describe() == (  # type: ignore[attr-defined]
        f"task modules loaded: {module}"
    )


def test_task_modules_given_replace_a_workers_own(
    make_app: Callable[..., Celery], task_modules: Callable[[Celery], str]
) -> None:
    """As a worker too, task_modules= are imported instead of imports and include."""
    app = make_app(imports=("tests.task_modules.nosuch",))
    module = f"{task_modules(app)}.export_tasks"
    test_case = build_functional_tests(app, task_modules=[module])
    result = run(test_case)
    assert (failures(result), skips(result)) == ({}, {})
    assert test_case.loaded_task_modules.requested == (module,)  # type: ignore[attr-defined]


def test_a_module_that_fails_to_import_fails_its_check_only(
    make_app: Callable[..., Celery], task_modules: Callable[[Celery], str]
) -> None:
    """
    A module that fails to import fails test_task_modules_import, naming it and its error.

    The modules after it are imported, and the other checks run on their tasks.
    """
    app = make_app()
    package = task_modules(app)
    broken = f"{package}.broken_import"
    app.conf.imports = (broken, f"{package}.export_tasks", f"{package}.report_tasks")
    result = run(build_functional_tests(app))
    assert result.testsRun == len(CHECKS)
    found = failures(result)
    assert set(found) == {"test_task_modules_import", "test_every_task_reaches_a_work_queue"}
    assert (
        f"1 task module(s) of the app failed to import, so a worker would not start, or "
        f"would run without their tasks:\n  - {broken!r}: ModuleNotFoundError: No module "
        f"named '{package}.not_installed'\n"
    ) in found["test_task_modules_import"]
    assert (
        f"Loaded: {package}.export_tasks, {package}.report_tasks."
        in found["test_task_modules_import"]
    )


def test_the_error_of_a_module_shows_no_password(
    make_app: Callable[..., Celery], task_modules: Callable[[Celery], str]
) -> None:
    """A URL in a module's error is shown with its password masked."""
    app = make_app()
    app.conf.imports = (f"{task_modules(app)}.leaks_password",)
    found = failures(run(build_functional_tests(app)))
    assert set(found) == {"test_task_modules_import"}
    assert "postgresql://worker:********@db:5432/results" in found["test_task_modules_import"]
    assert TASK_MODULE_SECRET not in found["test_task_modules_import"]


@pytest.mark.parametrize(
    ("settings", "is_worker", "imported"),
    [
        pytest.param({}, True, "no task modules were loaded", id="worker-without-modules"),
        pytest.param(
            {"imports": ("tests.task_modules.nosuch",)},
            False,
            "no task modules were loaded",
            id="producer",
        ),
    ],
)
def test_nothing_to_import_and_no_task_are_visible_skips(
    make_app: Callable[..., Celery], settings: dict[str, Any], is_worker: bool, imported: str
) -> None:
    """
    Nothing to import, and no task outside celery.*, skip their checks, saying why.

    A skip is no failure: the suite is successful, and unittest and pytest show it.
    """
    result = run(build_functional_tests(make_app(**settings), is_worker=is_worker))
    assert result.wasSuccessful()
    assert result.testsRun == len(CHECKS)
    skipped = skips(result)
    assert set(skipped) == {"test_task_modules_import", "test_every_task_reaches_a_work_queue"}
    assert skipped["test_task_modules_import"] == (
        "no task modules to import: the suite checks a process that only sends tasks "
        "(is_worker=False), or an app whose imports and include are empty"
    )
    assert skipped["test_every_task_reaches_a_work_queue"] == (
        f"the app has no task outside celery.*, so no task was checked ({imported}). A "
        "worker's suite loads its task modules from imports and include: name them there, "
        "or pass task_modules=(...) to build_functional_tests."
    )


def test_no_task_in_the_modules_loaded_is_said_in_the_skip(
    make_app: Callable[..., Celery], task_modules: Callable[[Celery], str]
) -> None:
    """Modules that register no task: the skip names those that were loaded."""
    app = make_app()
    module = f"{task_modules(app)}.worker"
    skipped = skips(run(build_functional_tests(app, task_modules=[module])))
    assert list(skipped) == ["test_every_task_reaches_a_work_queue"]
    assert f"(task modules loaded: {module})" in skipped["test_every_task_reaches_a_work_queue"]


def test_config_defaults_name_a_task_module_that_must_exist(
    make_config: Callable[..., Any],
) -> None:
    """
    Config's default imports, app.tasks, is checked as a worker would import it.

    There is no such module here: the check fails, as the worker's start would.
    """
    app = Celery("defaults", set_as_current=False)
    app.config_from_object(make_config(broker_url="memory://"))
    add_tasks(app, "export.render")
    try:
        found = failures(run(build_functional_tests(app)))
    finally:
        app.close()
    assert set(found) == {"test_task_modules_import"}
    report = found["test_task_modules_import"]
    assert "'app.tasks': ModuleNotFoundError: No module named 'app'" in report


# -- each check fails on an app broken in its way -------------------------------------------


@dataclass
class Broken:
    """An app broken in one way, and the checks that must fail, with phrases they show."""

    settings: dict[str, Any]
    failing: dict[str, tuple[str, ...]]
    tweak: Callable[[Celery], None] | None = None
    is_worker: bool = True
    tasks: tuple[str, ...] = ("export.render",)
    also_failing: frozenset[str] = field(default_factory=frozenset)


BROKEN = {
    "default-queue": Broken(
        {"task_default_queue": "other"},
        {
            "test_default_queue_is_celery": (
                "task_default_queue='other'",
                "Set task_default_queue='celery'",
            )
        },
    ),
    # Config refuses a non-topic exchange type: a setting changed after it is checked.
    "exchange-type": Broken(
        {},
        {
            "test_default_exchange_is_topic": (
                "task_default_exchange_type='direct'",
                "Set task_default_exchange_type='topic'",
                "remove the override",
            ),
        },
        tweak=direct_default_exchange,
    ),
    "queues-on-direct-exchange": Broken(
        {"task_queues": standard_queues(DIRECT)},
        {
            "test_default_exchange_is_topic": (
                "task_queues binds 'celery' to 'task_exchange' (direct)",
                "Exchange('task_exchange', type='topic')",
            )
        },
        also_failing=ROUTING,
    ),
    "task-without-queue": Broken(
        {},
        {
            "test_every_task_reaches_a_work_queue": (
                "2 task(s) reach no work queue of QUEUES, so no worker would ever run them",
                "'report.build' goes to exchange 'task_exchange' with routing key 'report', "
                "which reaches ['platform.fifo'] of the app's queues",
                "'report.publish' goes to",
                "The router declares a queue named after an unknown routing key when it "
                "first sends such a task",
                "setup_app and `celery toolbox declare` do not create it",
                "Add the missing queue(s) ['report'] to QUEUES",
            )
        },
        tasks=("export.render", "report.build", "report.publish"),
    ),
    "no-platform-queue": Broken(
        {"task_queues": [q for q in standard_queues() if q.name != "platform.fifo"]},
        {
            "test_platform_queue_receives_every_task": (
                "task_queues declares no queue 'platform.fifo' (PLATFORM_QUEUE_NAME",
                "Queue('platform.fifo', Exchange('task_exchange', type='topic'), routing_key='#')",
            ),
            "test_each_work_queue_receives_its_tasks": (
                "tasks named 'export.*' go to exchange 'task_exchange' with routing key "
                "'export' and reach ['export'], not ['export', 'platform.fifo']",
            ),
        },
        also_failing=ROUTING,
    ),
    "platform-queue-elsewhere": Broken(
        {"PLATFORM_QUEUE_NAME": "monitor.fifo", "task_queues": standard_queues()},
        {
            "test_platform_queue_receives_every_task": (
                "declares no queue 'monitor.fifo' (PLATFORM_QUEUE_NAME",
            )
        },
        also_failing=ROUTING,
    ),
    "platform-queue-bound-to-export": Broken(
        {"task_queues": standard_queues(platform_key="export.#")},
        {
            "test_platform_queue_receives_every_task": (
                "'platform.fifo' (PLATFORM_QUEUE_NAME) is bound to 'task_exchange' (topic) "
                "with key 'export.#', not to the exchange 'task_exchange'",
                "routing_key='#'",
            ),
            "test_each_work_queue_receives_its_tasks": ("tasks named 'msg.*'",),
        },
        also_failing=ROUTING,
    ),
    "cache-backend": Broken(
        {"result_backend": "cache+memory://"},
        {
            "test_result_backend_is_database": (
                "result_backend='cache+memory://' selects celery.backends.cache.CacheBackend",
                "result_backend='db+postgresql+psycopg2://",
            )
        },
    ),
    "unknown-backend": Broken(
        {"result_backend": "nosuch://host/"},
        {
            "test_result_backend_is_database": (
                "result_backend='nosuch://host/' names no backend Celery can load "
                "(ModuleNotFoundError)",
            )
        },
    ),
    "backend-not-a-class": Broken(
        {"result_backend": "os.path:join"},
        {
            "test_result_backend_is_database": (
                "result_backend='os.path:join' names a function, not a backend class",
            )
        },
    ),
    "track-started-off": Broken(
        {"task_track_started": False},
        {
            "test_task_track_started": (
                "task_track_started=False",
                "Set task_track_started=True",
            )
        },
    ),
    "chord-unlock-uncapped": Broken(
        {},
        {
            "test_chord_unlock_retries_are_capped": (
                "celery.chord_unlock has max_retries=None",
                "CHORD_UNLOCK_MAX_RETRIES",
                "task_annotations",
            )
        },
        tweak=remove_annotations,
        is_worker=False,
    ),
    "everything-to-one-queue": Broken(
        {"task_routes": ({"*": {"queue": "export"}},)},
        {
            "test_each_work_queue_receives_its_tasks": (
                "1 queue(s) of QUEUES would not receive their tasks",
                "tasks named 'msg.*' go to exchange 'task_exchange' with routing key 'export'",
                "task_routes",
            ),
            "test_chord_unlock_reaches_celery_queue": (
                "reaches ['export', 'platform.fifo'], not ['celery', 'platform.fifo']",
                "task_routes",
            ),
        },
    ),
    "no-celery-queue": Broken(
        {"task_queues": [q for q in standard_queues() if q.name != "celery"]},
        {
            "test_celery_routing_key_reaches_celery_queue": (
                "exchange 'task_exchange' with routing key 'celery' (task_default_exchange) "
                "reaches ['platform.fifo'], not ['celery', 'platform.fifo']",
                "Queue('celery', Exchange('task_exchange', type='topic'), routing_key='celery')",
            ),
            "test_chord_unlock_reaches_celery_queue": ("reaches ['platform.fifo']",),
        },
    ),
    "queue-of-QUEUES-not-declared": Broken(
        {"QUEUES": ["export", "msg", "report"], "task_queues": standard_queues()},
        {
            "test_each_work_queue_receives_its_tasks": (
                "tasks named 'report.*' go to exchange 'task_exchange' with routing key "
                "'report' and reach ['platform.fifo'], not ['platform.fifo', 'report']",
            )
        },
    ),
    "queue-catching-everything": Broken(
        {"task_queues": [*standard_queues(), Queue("spy", TOPIC, routing_key="#")]},
        {
            "test_each_work_queue_receives_its_tasks": (
                "reach ['export', 'platform.fifo', 'spy'], not ['export', 'platform.fifo']",
            )
        },
        also_failing=ROUTING,
    ),
    "queue-on-fanout-exchange": Broken(
        {
            "task_queues": [
                *standard_queues(),
                Queue("spy", Exchange("task_exchange", type="fanout"), routing_key="spy"),
            ]
        },
        {
            "test_default_exchange_is_topic": (
                "task_queues binds 'spy' to 'task_exchange' (fanout) with key 'spy'",
            ),
            "test_celery_routing_key_reaches_celery_queue": (
                "reaches ['celery', 'platform.fifo', 'spy']",
            ),
        },
        also_failing=ROUTING,
    ),
    "route-gives-only-a-routing-key": Broken(
        {"task_routes": ({"export.*": {"routing_key": "msg"}},)},
        {
            "test_each_work_queue_receives_its_tasks": (
                "tasks named 'export.*' go to exchange 'task_exchange' with routing key 'msg' "
                "and reach ['msg', 'platform.fifo'], not ['export', 'platform.fifo']",
            )
        },
    ),
    "retry-delays-beyond-visibility-timeout": Broken(
        {"broker_url": SQS_URL},
        {
            "test_retry_delays_fit_the_visibility_timeout": (
                "2 task retry delay(s) exceed the 3240 s allowed by "
                "broker_transport_options['visibility_timeout']=3600 (90% of it)",
                "'export.poll': default_retry_delay=4000",
                "'export.sync': retry_backoff_max=5000",
                "Give these tasks retry delays of at most 3240 s",
                "raise broker_transport_options['visibility_timeout'] to 5580 or more",
                "CELERY_BROKER_TRANSPORT_OPTIONS=\"{'visibility_timeout': 5580}\"",
            )
        },
        tweak=add_late_retrying_tasks,
    ),
    "task-module-missing": Broken(
        {"imports": ("tests.task_modules.nosuch",), "include": ("tests.task_modules.exits",)},
        {
            "test_task_modules_import": (
                "2 task module(s) of the app failed to import, so a worker would not start",
                "- 'tests.task_modules.nosuch': ModuleNotFoundError: No module named "
                "'tests.task_modules.nosuch'\n",
                "- 'tests.task_modules.exits': SystemExit: exits.py is a script",
                "Fix the module, or the name in imports/include (Config(imports=(...)) or "
                "the CELERY_IMPORTS variable). Loaded: none.",
            )
        },
    ),
    "router-raises": Broken(
        {"task_routes": ({"*": {"queue": "nowhere"}},), "task_create_missing_queues": False},
        {
            "test_every_task_reaches_a_work_queue": (
                "'export.render' goes to nowhere: routing it raised QueueNotFound",
            ),
            "test_each_work_queue_receives_its_tasks": ("routing it raised QueueNotFound",),
            "test_chord_unlock_reaches_celery_queue": ("routing it raised QueueNotFound",),
        },
    ),
}


@pytest.mark.parametrize("case", BROKEN.values(), ids=BROKEN.keys())
def test_each_check_fails_on_an_app_broken_its_way(
    make_app: Callable[..., Celery], case: Broken
) -> None:
    """The checks a breakage concerns fail, and their messages say what is wrong and the fix."""
    app = add_tasks(make_app(**case.settings), *case.tasks)
    if case.tweak is not None:
        case.tweak(app)
    found = failures(run(build_functional_tests(app, is_worker=case.is_worker)))
    assert set(found) == set(case.failing) | case.also_failing
    for check, phrases in case.failing.items():
        for phrase in phrases:
            assert phrase in found[check]


def test_every_check_has_a_breakage_that_fails_it() -> None:
    """The cases above make each check fail at least once."""
    covered = set().union(*(case.failing for case in BROKEN.values()))
    assert covered == CHECKS


def test_backend_set_by_the_app_class_is_checked(make_config: Callable[..., Any]) -> None:
    """A backend an app class sets (backend_cls) is checked and shown as Celery(backend=...)."""

    class WorkerApp(Celery):  # type: ignore[misc]
        backend_cls = "cache+memory://"

    app = WorkerApp("worker", set_as_current=False)
    app.config_from_object(make_config(broker_url="memory://", imports=()))
    try:
        found = failures(run(build_functional_tests(app)))
    finally:
        app.close()
    assert set(found) == {"test_result_backend_is_database"}
    assert (
        "Celery(backend=...)='cache+memory://' selects" in found["test_result_backend_is_database"]
    )


def test_plain_celery_app_fails_with_a_message_for_each_rule() -> None:
    """An app on Celery's defaults fails the rules it breaks, each with its own message."""
    app = Celery("plain", set_as_current=False)
    add_tasks(app, "export.render")
    try:
        found = failures(run(build_functional_tests(app, is_worker=False)))
    finally:
        app.close()
    assert set(found) == CHECKS - {
        "test_default_queue_is_celery",
        # A plain app has no QUEUES and declares no work queue: nothing to route.
        "test_each_work_queue_receives_its_tasks",
        # Its tasks reach the 'celery' queue, which its workers consume.
        "test_every_task_reaches_a_work_queue",
        # Its broker, AMQP, has no visibility timeout.
        "test_retry_delays_fit_the_visibility_timeout",
        # As a process that only sends tasks, it imports no task module: skipped.
        "test_task_modules_import",
    }
    assert "task_default_exchange_type='direct'" in found["test_default_exchange_is_topic"]
    assert (
        "the default exchange '' with routing key 'celery'"
        in found["test_chord_unlock_reaches_celery_queue"]
    )
    assert (
        "result_backend=None selects celery.backends.base.DisabledBackend"
        in found["test_result_backend_is_database"]
    )


def test_chord_unlock_cap_applies_as_a_worker_start_would(make_app: Callable[..., Celery]) -> None:
    """With is_worker=True the cap holds during the checks, even without annotations."""
    app = make_app()
    remove_annotations(app)
    chord_unlock = app.tasks["celery.chord_unlock"]
    seen: list[Any] = []

    class WorkerTests(build_functional_tests(app)):  # type: ignore[misc]
        def test_cap_is_applied(self) -> None:
            seen.append(chord_unlock.max_retries)

    result = run(WorkerTests)
    assert result.wasSuccessful()
    assert seen == [43200]
    assert chord_unlock.max_retries is None


# -- subclassing and test runners -----------------------------------------------------------


def test_subclass_adds_its_own_tests(make_app: Callable[..., Celery]) -> None:
    """A worker subclasses the result to add tests; its class fixtures chain with super()."""
    app = add_tasks(make_app(), "export.render")
    calls: list[str] = []

    class FunctionalTests(build_functional_tests(app)):  # type: ignore[misc]
        @classmethod
        def setUpClass(cls) -> None:
            super().setUpClass()
            calls.append("setUpClass")

        @classmethod
        def tearDownClass(cls) -> None:
            calls.append("tearDownClass")
            super().tearDownClass()

        def test_render_is_registered(self) -> None:
            assert "export.render" in self.app.tasks

    result = run(FunctionalTests)
    assert result.testsRun == len(CHECKS) + 1
    assert result.wasSuccessful()
    assert calls == ["setUpClass", "tearDownClass"]


WORKER_APP = """
from celery import Celery

from cadasta.workertoolbox.conf import Config

app = Celery("worker_app", set_as_current=False)
app.config_from_object(
    Config(environ={}, broker_url="sqs://127.0.0.1:1", imports=("worker_tasks",))
)
"""
WORKER_TASKS = """
from worker_app import app


@app.task(name="export.render", shared=False)
def render():
    return "rendered"
"""
TEST_DIRECT = """
from cadasta.workertoolbox.tests import build_functional_tests

from worker_app import app

FunctionalTests = build_functional_tests(app)
"""
TEST_EXTENDED = """
from cadasta.workertoolbox.tests import build_functional_tests

from worker_app import app


class FunctionalTests(build_functional_tests(app)):
    def test_render_is_registered(self):
        self.assertIn("export.render", self.app.tasks)
"""


@pytest.fixture
def worker_project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """
    Write a worker's app, its task module (its imports) and test modules.

    Returns the directory and the environment to run them in. The task is registered only
    when the suite imports the task module, as a starting worker does.
    """
    for name, source in {
        "worker_app.py": WORKER_APP,
        "worker_tasks.py": WORKER_TASKS,
        "test_direct.py": TEST_DIRECT,
        "test_extended.py": TEST_EXTENDED,
    }.items():
        (tmp_path / name).write_text(textwrap.dedent(source))
    path = os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p)
    return tmp_path, {**os.environ, "PYTHONPATH": path}


def run_python(project: tuple[Path, dict[str, str]], *args: str) -> tuple[str, str]:
    """Run the test interpreter in the project directory; return its stdout and stderr."""
    directory, env = project
    completed = subprocess.run(
        [sys.executable, *args],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout, completed.stderr


@pytest.mark.parametrize(
    ("args", "tests"),
    [
        pytest.param(("test_direct.py",), len(CHECKS), id="direct-as-path"),
        pytest.param(("-v", "test_direct", "test_extended"), 2 * len(CHECKS) + 1, id="both"),
    ],
)
def test_runs_under_python_m_unittest(
    worker_project: tuple[Path, dict[str, str]], args: tuple[str, ...], tests: int
) -> None:
    """``python -m unittest`` runs the checks of a module that binds or subclasses them."""
    output = "".join(run_python(worker_project, "-m", "unittest", *args))
    assert f"Ran {tests} tests" in output
    assert output.rstrip().endswith("OK")


def test_runs_under_pytest(worker_project: tuple[Path, dict[str, str]]) -> None:
    """Under pytest each check is collected once per module, and the subclass's own test."""
    pytest_args = ("-m", "pytest", "-p", "no:cacheprovider", "test_direct.py", "test_extended.py")
    collected, _ = run_python(worker_project, *pytest_args, "--collect-only", "-q")
    ids = [line for line in collected.splitlines() if "::" in line]
    assert len(ids) == len(set(ids)) == 2 * len(CHECKS) + 1
    assert {i.split("::")[0] for i in ids} == {"test_direct.py", "test_extended.py"}
    output, _ = run_python(worker_project, *pytest_args, "-q")
    assert re.search(rf"\b{2 * len(CHECKS) + 1} passed\b", output), output


# -- the app and the process are left as found ----------------------------------------------


def snapshot(app: Celery) -> dict[str, Any]:
    """Capture what the suite could change in the app and the process."""
    chord_unlock = type(app.tasks["celery.chord_unlock"])
    state = {
        "chord_unlock": {
            name: vars(chord_unlock).get(name, _MISSING) for name in ("max_retries", "on_failure")
        },
        "conf": dict(app.conf),
        "router": app.amqp.router,
        "routes": list(app.amqp.routes),
        "queues": dict(app.amqp.queues),
        "router_queues": dict(app.amqp.router.queues),
        "tasks": dict(app.tasks),
        "is_set_up": getattr(app, "is_set_up", _MISSING),
        "environ": dict(os.environ),
    }
    # Last: the look-ups above import modules that create their loggers.
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    state["handlers"] = {logger.name: list(logger.handlers) for logger in loggers}
    return state


@pytest.mark.parametrize("is_worker", [True, False])
@pytest.mark.parametrize(
    ("settings", "tweak", "tasks"),
    [
        pytest.param({}, None, ("export.render",), id="conforming"),
        pytest.param({}, remove_annotations, (), id="chord-unlock-uncapped"),
        pytest.param({}, None, ("report.build",), id="task-without-queue"),
        pytest.param(
            {"task_routes": ({"*": {"queue": "elsewhere"}},)}, None, (), id="queue-made-on-the-fly"
        ),
        pytest.param({"task_default_queue": "other"}, None, (), id="default-queue"),
    ],
)
def test_app_and_process_are_left_as_found(
    make_app: Callable[..., Celery],
    settings: dict[str, Any],
    tweak: Callable[[Celery], None] | None,
    tasks: tuple[str, ...],
    is_worker: bool,
) -> None:
    """The chord_unlock task, conf, router, queues, tasks, logging, environ are unchanged."""
    app = add_tasks(make_app(**settings), *tasks)
    if tweak is not None:
        tweak(app)
    before = snapshot(app)
    run(build_functional_tests(app, is_worker=is_worker))
    assert snapshot(app) == before


def test_task_modules_imported_stay_and_nothing_else_changes(
    make_app: Callable[..., Celery], task_modules: Callable[[Celery], str]
) -> None:
    """
    The task modules stay imported, with their tasks, as a worker's do; the rest is as found.

    A module that failed is not left half-imported.
    """
    app = make_app()
    package = task_modules(app)
    app.conf.imports = (f"{package}.export_tasks", f"{package}.broken_import")
    before = snapshot(app)
    run(build_functional_tests(app))
    after = snapshot(app)
    assert set(after.pop("tasks")) - set(before.pop("tasks")) == {"export.render", "msg.send"}
    assert after == before
    assert f"{package}.export_tasks" in sys.modules
    assert f"{package}.broken_import" not in sys.modules


def test_set_up_is_undone_when_the_survey_fails(make_app: Callable[..., Celery]) -> None:
    """A configuration Celery cannot read errors in setUpClass; the cap is removed again."""
    app = make_app(task_queues=["celery"])
    remove_annotations(app)
    chord_unlock = type(app.tasks["celery.chord_unlock"])
    before = (dict(vars(chord_unlock)), dict(app.conf))
    result = run(build_functional_tests(app))
    assert result.testsRun == 0
    [(error, report)] = result.errors
    assert "setUpClass" in str(error)
    assert "AttributeError" in report
    assert (dict(vars(chord_unlock)), dict(app.conf)) == before
    assert chord_unlock.max_retries is None


def test_answers_ignore_other_apps_on_the_memory_transport(
    make_app: Callable[..., Celery],
) -> None:
    """Another app declaring other bindings and publishing in the process changes nothing."""
    app = add_tasks(make_app(), "export.render", "report.build")
    first = outcomes(run(build_functional_tests(app)))

    other = make_app(
        "other",
        QUEUES=["report"],
        result_backend="cache+memory://",
        task_queues=[
            Queue("report", TOPIC, routing_key="#"),
            Queue("platform.fifo", TOPIC, routing_key="report"),
        ],
    )
    declare_topology(other)
    other.send_task("report.build")
    with other.connection_for_write() as connection:
        declared = connection.default_channel.queue_declare("report", passive=True)
    assert declared.message_count == 1

    assert outcomes(run(build_functional_tests(app))) == first
    assert list(first) == [f"{__name__}.FunctionalTests.test_every_task_reaches_a_work_queue"]


# -- no network, fast ------------------------------------------------------------------------


def test_unreachable_broker_is_never_contacted(make_app: Callable[..., Celery]) -> None:
    """An SQS broker on a closed port does not slow the suite down or make it fail."""
    app = add_tasks(make_app(broker_url="sqs://key:secret@127.0.0.1:1"), "export.render")
    started = time.perf_counter()
    result = run(build_functional_tests(app))
    assert time.perf_counter() - started < 1.0
    assert result.wasSuccessful()
    assert result.testsRun == len(CHECKS)


AUDITED = """
import json
import socket
import sys
import unittest

from celery import Celery

from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.tests import build_functional_tests

app = Celery("audited", set_as_current=False)
app.config_from_object(
    Config(environ={}, broker_url="sqs://key:secret@127.0.0.1:1", imports=())
)


@app.task(name="export.render", shared=False)
def render():
    return "rendered"


@app.task(name="report.build", shared=False)
def build():
    return "built"


events = []
sys.addaudithook(lambda event, args: event.startswith("socket.") and events.append(event))
result = unittest.TestResult()
unittest.defaultTestLoader.loadTestsFromTestCase(build_functional_tests(app)).run(result)
during = list(events)
socket.getaddrinfo("localhost", 1)  # the control: the hook sees a name resolution
print(json.dumps({"events": during, "control": events, "run": result.testsRun,
                  "failed": len(result.failures)}))
"""


def test_opens_no_socket(worker_project: tuple[Path, dict[str, str]]) -> None:
    """Audited in a process of its own, the suite creates no socket and resolves no name."""
    (worker_project[0] / "audited.py").write_text(textwrap.dedent(AUDITED))
    output, _ = run_python(worker_project, "audited.py")
    report = json.loads(output)
    assert report["control"] == ["socket.getaddrinfo"]
    assert report == {**report, "events": [], "run": len(CHECKS), "failed": 1}


@pytest.mark.parametrize("conforming", [True, False])
def test_fifty_queues_and_five_hundred_tasks_take_well_under_a_second(
    make_app: Callable[..., Celery], conforming: bool
) -> None:
    """The topology is computed once per class: a large app is checked quickly."""
    queues = [f"queue{number}" for number in range(50)]
    app = make_app(QUEUES=queues)
    prefixes = queues if conforming else ["report"]
    add_tasks(app, *(f"{prefixes[n % len(prefixes)]}.task{n}" for n in range(500)))
    assert len(app.tasks) > 500  # Celery builds the tasks before: not the suite's time.
    started = time.perf_counter()
    found = failures(run(build_functional_tests(app)))
    assert time.perf_counter() - started < 0.5
    if conforming:
        assert found == {}
    else:
        assert list(found) == ["test_every_task_reaches_a_work_queue"]
        report = found["test_every_task_reaches_a_work_queue"]
        assert "500 task(s) reach no work queue of QUEUES" in report


# -- secrets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "result_backend",
    [
        f"cache+memory://user:{SECRET}@cache:11211/",
        f"redis://:{SECRET}@localhost:1/0",
        f"nosuch://user:{SECRET}@host/",
        f"db+postgresql+psycopg2://user:{SECRET}@db:5432/results",
    ],
)
def test_no_secret_in_any_failure_message(
    make_app: Callable[..., Celery], result_backend: str
) -> None:
    """
    Failure reports mask the password of result_backend, whatever else is wrong.

    A task module's error that holds the password (in a URL) masks it too.
    """
    assert TASK_MODULE_SECRET == SECRET
    app = make_app(
        result_backend=result_backend,
        task_default_queue="other",
        task_track_started=False,
        RESULT_DB_PASS=SECRET,
    )
    direct_default_exchange(app)
    add_tasks(app, "report.build")
    remove_annotations(app)
    result = run(
        build_functional_tests(
            app, is_worker=False, task_modules=["tests.task_modules.leaks_password"]
        )
    )
    reports = [report for _, report in (*result.failures, *result.errors)]
    assert set(failures(result)) >= {
        "test_default_queue_is_celery",
        "test_task_track_started",
        "test_default_exchange_is_topic",
        "test_chord_unlock_retries_are_capped",
        "test_every_task_reaches_a_work_queue",
        "test_task_modules_import",
    }
    assert not [report for report in reports if SECRET in report]
    backend_report = failures(result).get("test_result_backend_is_database")
    if backend_report is not None:
        assert "********" in backend_report


# -- the survey ------------------------------------------------------------------------------


def test_survey_routes_each_task_once(make_app: Callable[..., Celery]) -> None:
    """Asking twice where a task goes returns the answer computed the first time."""
    survey = Survey(make_app())
    assert survey.route("export.render") is survey.route("export.render")


def test_survey_of_an_app_without_queues_setting(make_app: Callable[..., Celery]) -> None:
    """Without QUEUES, the work queues are the declared queues but celery and the monitor."""
    app = Celery("plain", set_as_current=False)
    app.conf.task_queues = standard_queues()
    try:
        assert Survey(app).work_queue_names() == ["export", "msg"]
    finally:
        app.close()


# -- retry delays and the visibility timeout -------------------------------------------------


def retry_delay_report(app: Celery) -> str | None:
    """Run the suite on *app*; return the report of the retry-delay check, if it failed."""
    return failures(run(build_functional_tests(app))).get(
        "test_retry_delays_fit_the_visibility_timeout"
    )


@pytest.mark.parametrize(
    ("settings", "options"),
    [
        pytest.param({"broker_url": SQS_URL}, {"default_retry_delay": 3240}, id="at-the-limit"),
        pytest.param(
            {"broker_url": SQS_URL},
            {"retry_backoff": False, "retry_backoff_max": 50000},
            id="backoff-off",
        ),
        pytest.param(
            {"broker_url": SQS_URL, "broker_transport_options": {"visibility_timeout": 43200}},
            {"default_retry_delay": 30000, "retry_backoff": True, "retry_backoff_max": 38880},
            id="longer-timeout",
        ),
        pytest.param({}, {"default_retry_delay": 50000}, id="memory-transport"),
        pytest.param(
            {"broker_url": "amqp://guest:guest@127.0.0.1:1//"},
            {"default_retry_delay": 50000},
            id="amqp",
        ),
        pytest.param({"broker_url": SQS_URL}, {"default_retry_delay": None}, id="no-default-delay"),
    ],
)
def test_retry_delays_within_the_limit_pass(
    make_app: Callable[..., Celery], settings: dict[str, Any], options: dict[str, Any]
) -> None:
    """Delays up to 90 % of the visibility timeout pass, as does a broker without one."""
    app = make_app(**settings)
    app.task(name="export.poll", shared=False, **options)(noop)
    assert retry_delay_report(app) is None


def test_celery_tasks_are_left_to_celery(make_app: Callable[..., Celery]) -> None:
    """celery.* tasks retry with delays of their own: a short timeout does not flag them."""
    app = make_app(broker_url=SQS_URL, broker_transport_options={"visibility_timeout": 100})
    assert app.tasks["celery.group"].default_retry_delay == 180
    assert retry_delay_report(app) is None


def test_redis_broker_and_own_prefix_are_named_in_the_fix(make_app: Callable[..., Celery]) -> None:
    """On Redis (kombu's default timeout of 3600 s applies) the fix names the app's prefix."""
    app = make_app(broker_url="redis://127.0.0.1:1/0", ENV_PREFIX="EXPORT_")
    app.conf.broker_transport_options = {}
    app.task(name="export.poll", shared=False, default_retry_delay=3300)(noop)
    report = retry_delay_report(app)
    assert report is not None
    assert "'export.poll': default_retry_delay=3300" in report
    assert "broker_transport_options['visibility_timeout']=3600" in report
    assert "EXPORT_BROKER_TRANSPORT_OPTIONS=\"{'visibility_timeout': 3720}\"" in report
    assert "SQS" not in report


def test_delays_beyond_what_sqs_can_hold_say_so(make_app: Callable[..., Celery]) -> None:
    """A retry delay no SQS visibility timeout can cover is reported with another remedy."""
    app = make_app(broker_url=SQS_URL)
    app.task(name="export.poll", shared=False, default_retry_delay=86400)(noop)
    report = retry_delay_report(app)
    assert report is not None
    assert "SQS accepts a visibility timeout of at most 43200 s" in report
    assert "a delay of 86400 s safe" in report
    assert "periodic task (celery beat)" in report

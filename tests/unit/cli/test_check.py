import json
from collections.abc import Callable

import pytest
from celery import Celery

from cadasta.workertoolbox._chord_unlock import CHORD_UNLOCK_TASK
from cadasta.workertoolbox.cli._check import CheckOutcome, CheckRun, check, run_checks
from cadasta.workertoolbox.conformance._modules import TaskModules
from tests.cli_apps.runner import invoke, run_toolbox
from tests.unit.conformance_checks import CHECKS

MEMORY = {"CELERY_BROKER_URL": "memory://"}
FIX = "Add the missing queue(s) ['report'] to QUEUES"
#: The task module worker_app names in imports, and another one of its tasks.
WORKER_TASKS = "tests.cli_apps.worker_tasks"
REPORT_TASKS = "tests.cli_apps.worker_report_tasks"
NO_MODULES = (
    "        no task modules to import: the suite checks a process that only sends tasks "
    "(is_worker=False), or an app whose imports and include are empty\n"
)

UseApp = Callable[[Celery], str]


def test_a_conforming_app_passes() -> None:
    """
    `check` on an app that follows the architecture: every check passes, exit 0, silent.

    Its task module (its imports) is imported as a worker's start imports it, and said so.
    """
    completed = run_toolbox("worker_app", "check", variables=MEMORY)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stderr == ""
    assert completed.stdout.splitlines()[:2] == [
        "Conformance of app 'worker' to the architecture:",
        f"  (task modules loaded as a worker loads them: {WORKER_TASKS})",
    ]
    assert completed.stdout.count("  PASS  test_") == len(CHECKS)
    count = len(CHECKS)
    assert completed.stdout.endswith(
        f"{count} checks, {count} passed, 0 failed. The app conforms.\n"
    )


def test_a_check_with_nothing_to_check_is_a_skip() -> None:
    """
    Empty imports: SKIP, with the reason under it, and the skip counted apart; still exit 0.

    The modules line says no task module was loaded.
    """
    completed = run_toolbox("good_app", "check", variables=MEMORY)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "  (no task modules were loaded)\n" in completed.stdout
    assert (
        "  SKIP  test_task_modules_import: The app's task modules import, as a starting "
        f"worker imports them (imports, include).\n{NO_MODULES}"
    ) in completed.stdout
    assert completed.stdout.count("  PASS  test_") == len(CHECKS) - 1
    passed = len(CHECKS) - 1
    assert completed.stdout.endswith(
        f"{len(CHECKS)} checks, {passed} passed, 0 failed, 1 skipped. The app conforms.\n"
    )


def test_a_producer_without_modules_skips_the_checks_of_tasks() -> None:
    """`check --producer` imports no module: both checks of tasks are skipped, with reasons."""
    completed = run_toolbox("worker_app", "check", "--producer", variables=MEMORY)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "  (no task modules were loaded)\n" in completed.stdout
    assert "  SKIP  test_every_task_reaches_a_work_queue: " in completed.stdout
    assert "        the app has no task outside celery.*, so no task was checked" in (
        completed.stdout
    )
    passed = len(CHECKS) - 2
    assert completed.stdout.endswith(
        f"{len(CHECKS)} checks, {passed} passed, 0 failed, 2 skipped. The app conforms.\n"
    )


def test_a_broken_app_fails_with_the_fix() -> None:
    """A task 'report.build' without a 'report' queue: the check fails, says the fix, exit 1."""
    completed = run_toolbox("broken_app", "check", variables=MEMORY)
    assert completed.returncode == 1
    assert completed.stderr == "", "the router's warning is not printed a second time"
    assert "  FAIL  test_every_task_reaches_a_work_queue: " in completed.stdout
    assert "        - 'report.build' goes to exchange 'task_exchange' with routing key" in (
        completed.stdout
    )
    assert "        The router declares a queue named after an unknown routing key" in (
        completed.stdout
    )
    assert FIX in completed.stdout
    passed = len(CHECKS) - 2
    assert (
        f"{passed} passed, 1 failed, 1 skipped. The app does not conform: fix the failures."
    ) in completed.stdout


def test_modules_given_replace_the_apps_own() -> None:
    """
    `check --module M --module N` imports M and N, not imports: a module that fails is named.

    The modules line says which were loaded (not as a worker) and which failed.
    """
    completed = run_toolbox(
        "worker_app",
        "check",
        "--module",
        REPORT_TASKS,
        "--module",
        "tests.cli_apps.nosuch",
        variables=MEMORY,
    )
    assert completed.returncode == 1
    assert completed.stdout.splitlines()[1] == (
        f"  (task modules loaded: {REPORT_TASKS}; failed: tests.cli_apps.nosuch)"
    )
    assert "  FAIL  test_task_modules_import: " in completed.stdout
    assert (
        "          - 'tests.cli_apps.nosuch': ModuleNotFoundError: No module named "
        "'tests.cli_apps.nosuch'\n"
    ) in completed.stdout
    assert "  FAIL  test_every_task_reaches_a_work_queue: " in completed.stdout
    assert "'report.build' goes to" in completed.stdout
    assert "'export.render'" not in completed.stdout
    assert completed.stdout.endswith(
        f"{len(CHECKS)} checks, {len(CHECKS) - 2} passed, 2 failed. "
        "The app does not conform: fix the failures.\n"
    )


@pytest.mark.parametrize(
    ("app", "conforms", "modules", "skipped"),
    [
        pytest.param(
            "worker_app",
            True,
            {
                "as_worker": True,
                "requested": [WORKER_TASKS],
                "loaded": [WORKER_TASKS],
                "failed": [],
            },
            [],
            id="worker_app",
        ),
        pytest.param(
            "broken_app",
            False,
            {"as_worker": True, "requested": [], "loaded": [], "failed": []},
            ["test_task_modules_import"],
            id="broken_app",
        ),
    ],
)
def test_json_for_machines(
    app: str, conforms: bool, modules: dict[str, list[str]], skipped: list[str]
) -> None:
    """
    `check --json` prints one JSON document; same exit status.

    The app, whether it conforms, the task modules requested, loaded and failed, and each
    check, skipped or not.
    """
    completed = run_toolbox(app, "check", "--json", variables=MEMORY)
    assert completed.returncode == (0 if conforms else 1)
    document = json.loads(completed.stdout)
    assert document["app"] == app.removesuffix("_app")
    assert document["conforms"] is conforms
    assert document["configured_with_config"] is True
    assert document["task_modules"] == modules
    assert {each["name"] for each in document["checks"]} == CHECKS
    failed = [each for each in document["checks"] if not each["passed"]]
    assert [each["name"] for each in failed] == (
        [] if conforms else ["test_every_task_reaches_a_work_queue"]
    )
    for each in failed:
        assert FIX in each["message"]
        assert each["skipped"] is False
    assert [each["name"] for each in document["checks"] if each["skipped"]] == skipped
    for each in document["checks"]:
        assert set(each) == {"name", "description", "passed", "message", "skipped"}
        assert each["description"]
        if each["skipped"]:
            assert each["passed"] is True
            assert each["message"].startswith("no task modules to import")


def test_json_names_each_module_that_failed() -> None:
    """`check --json --module`: each failed module with its error."""
    completed = run_toolbox(
        "worker_app", "check", "--json", "--module", "tests.cli_apps.nosuch", variables=MEMORY
    )
    assert completed.returncode == 1
    assert json.loads(completed.stdout)["task_modules"] == {
        "as_worker": False,
        "requested": ["tests.cli_apps.nosuch"],
        "loaded": [],
        "failed": [
            {
                "module": "tests.cli_apps.nosuch",
                "error": "ModuleNotFoundError: No module named 'tests.cli_apps.nosuch'",
            }
        ],
    }


def test_run_checks_returns_each_outcome(make_app: Callable[..., Celery]) -> None:
    """
    Every check of the suite, with its description, and what importing task modules did.

    An app without task modules or tasks: two checks skipped with their reasons, the
    others passed without a message.
    """
    run = run_checks(make_app(imports=()))
    assert isinstance(run, CheckRun)
    assert run.modules == TaskModules()
    assert {outcome.name for outcome in run.outcomes} == CHECKS
    skipped = {outcome.name for outcome in run.outcomes if outcome.skipped}
    assert skipped == {"test_task_modules_import", "test_every_task_reaches_a_work_queue"}
    for outcome in run.outcomes:
        assert outcome.passed
        assert bool(outcome.message) is outcome.skipped
    default_queue = next(o for o in run.outcomes if o.name == "test_default_queue_is_celery")
    assert default_queue.description.startswith("Tasks without a queue of their own go to")


def test_run_checks_imports_the_modules_given(
    make_app: Callable[..., Celery], task_modules: UseApp
) -> None:
    """task_modules= are imported, as the caller's: their tasks are checked."""
    app = make_app(imports=())
    module = f"{task_modules(app)}.report_tasks"
    run = run_checks(app, is_worker=False, task_modules=[module])
    assert run.modules == TaskModules((module,), (module,), (), as_worker=False)
    assert [o.name for o in run.outcomes if not o.passed] == [
        "test_every_task_reaches_a_work_queue"
    ]
    assert not any(outcome.skipped for outcome in run.outcomes)


def test_run_checks_leaves_the_app_as_it_was(make_app: Callable[..., Celery]) -> None:
    """As a producer nothing is set up; as a worker the chord_unlock cap is undone after."""
    app = make_app(imports=())
    task_class = type(app.tasks[CHORD_UNLOCK_TASK])
    before = dict(vars(task_class))
    for is_worker in (False, True):
        assert all(outcome.passed for outcome in run_checks(app, is_worker=is_worker).outcomes)
        assert dict(vars(task_class)) == before


def test_a_suite_that_cannot_start_is_a_failure(make_app: Callable[..., Celery]) -> None:
    """Nonsense in task_queues breaks the suite's set-up: one failure saying so, not a crash."""
    app = make_app(imports=())
    app.conf.task_queues = ("nonsense",)
    assert run_checks(app) == CheckRun(
        [
            CheckOutcome(
                name="setUpClass",
                description="The suite's setUpClass sets the app up for the checks.",
                passed=False,
                message="The check could not run: AttributeError: 'str' object has no "
                "attribute 'name'. The app's configuration is probably incomplete; run "
                "`celery -A APP toolbox show`.",
            )
        ],
        TaskModules(),
    )


def test_an_app_without_config(capsys: pytest.CaptureFixture[str]) -> None:
    """A plain Celery app: a warning, then the failures of the checks; exit status 1."""
    app = Celery("plain", set_as_current=False)
    app.conf.update(broker_url="memory://")
    try:
        assert check(app) == 1
        captured = capsys.readouterr()
        assert captured.err.startswith("Warning: app 'plain' was not configured with ")
        assert "  FAIL  test_platform_queue_receives_every_task: " in captured.out
        assert check(app, as_json=True) == 1
    finally:
        app.close()
    document = json.loads(capsys.readouterr().out)
    assert (document["configured_with_config"], document["conforms"]) == (False, False)


@pytest.mark.parametrize("options", [(), ("--producer",), ("--json",)])
def test_check_command(make_app: Callable[..., Celery], options: tuple[str, ...]) -> None:
    """`toolbox check` with its options runs the suite on the app Celery loaded."""
    result = invoke(make_app(imports=()), "check", *options)
    assert result.exit_code == 0
    assert "test_task_track_started" in result.stdout


def test_check_command_with_modules(make_app: Callable[..., Celery], task_modules: UseApp) -> None:
    """`toolbox check --module` (repeatable), in process: each module given is imported."""
    app = make_app(imports=())
    package = task_modules(app)
    export, report = f"{package}.export_tasks", f"{package}.report_tasks"
    result = invoke(app, "check", "--module", export, "--module", report)
    assert result.exit_code == 1
    assert f"  (task modules loaded: {export}, {report})\n" in result.stdout
    assert "'report.build' goes to" in result.stdout
    assert {"export.render", "msg.send", "report.build"} <= set(app.tasks)

import json
from collections.abc import Callable

import pytest
from celery import Celery

from cadasta.workertoolbox._chord_unlock import CHORD_UNLOCK_TASK
from cadasta.workertoolbox._cli_check import CheckOutcome, check, run_checks
from tests.cli_apps.runner import invoke, run_toolbox
from tests.unit.conformance_checks import CHECKS

MEMORY = {"CELERY_BROKER_URL": "memory://"}
FIX = "Add the missing queue(s) ['report'] to QUEUES"


def test_a_conforming_app_passes() -> None:
    """`check` on an app that follows the architecture: every check passes, exit 0, silent."""
    completed = run_toolbox("good_app", "check", variables=MEMORY)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stderr == ""
    assert completed.stdout.count("  PASS  test_") == len(CHECKS)
    count = len(CHECKS)
    assert completed.stdout.endswith(
        f"{count} checks, {count} passed, 0 failed. The app conforms.\n"
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
    assert f"        {FIX}" in completed.stdout
    passed = len(CHECKS) - 1
    assert f"{passed} passed, 1 failed. The app does not conform: fix the failures." in (
        completed.stdout
    )


@pytest.mark.parametrize(("app", "conforms"), [("good_app", True), ("broken_app", False)])
def test_json_for_machines(app: str, conforms: bool) -> None:
    """`check --json` prints one JSON document: app, conforms, each check; same exit status."""
    completed = run_toolbox(app, "check", "--json", variables=MEMORY)
    assert completed.returncode == (0 if conforms else 1)
    document = json.loads(completed.stdout)
    assert document["app"] == app.removesuffix("_app")
    assert document["conforms"] is conforms
    assert document["configured_with_config"] is True
    assert {each["name"] for each in document["checks"]} == CHECKS
    failed = [each for each in document["checks"] if not each["passed"]]
    assert [each["name"] for each in failed] == (
        [] if conforms else ["test_every_task_reaches_a_work_queue"]
    )
    for each in failed:
        assert FIX in each["message"]
    for each in document["checks"]:
        assert set(each) == {"name", "description", "passed", "message"}
        assert each["description"]


def test_run_checks_returns_each_outcome(make_app: Callable[..., Celery]) -> None:
    """Every check of the suite, each passed, with its description and no message."""
    outcomes = run_checks(make_app(imports=()))
    assert {outcome.name for outcome in outcomes} == CHECKS
    assert all(outcome.passed and not outcome.message for outcome in outcomes)
    default_queue = next(o for o in outcomes if o.name == "test_default_queue_is_celery")
    assert default_queue.description.startswith("Tasks without a queue of their own go to")


def test_run_checks_leaves_the_app_as_it_was(make_app: Callable[..., Celery]) -> None:
    """As a producer nothing is set up; as a worker the chord_unlock cap is undone after."""
    app = make_app(imports=())
    task_class = type(app.tasks[CHORD_UNLOCK_TASK])
    before = dict(vars(task_class))
    for is_worker in (False, True):
        assert all(outcome.passed for outcome in run_checks(app, is_worker=is_worker))
        assert dict(vars(task_class)) == before


def test_a_suite_that_cannot_start_is_a_failure(make_app: Callable[..., Celery]) -> None:
    """Nonsense in task_queues breaks the suite's set-up: one failure saying so, not a crash."""
    app = make_app(imports=())
    app.conf.task_queues = ("nonsense",)
    assert run_checks(app) == [
        CheckOutcome(
            name="setUpClass",
            description="The suite's setUpClass sets the app up for the checks.",
            passed=False,
            message="The check could not run: AttributeError: 'str' object has no attribute "
            "'name'. The app's configuration is probably incomplete; run `celery -A APP "
            "toolbox show`.",
        )
    ]


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

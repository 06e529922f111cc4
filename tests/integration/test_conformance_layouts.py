"""
Issue 11: the conformance suite on the projects of real users, run as they run it.

Each test writes a throwaway project in ``tmp_path`` and runs, in its folder, what its
users type: ``celery -A proj toolbox check``, ``python -m pytest tests/test_config.py``,
``python -m unittest tests.test_config``. The environment is a user's: no ``CELERY_*``
variable, so the app has the library's defaults (an SQS broker, which ``check`` never
connects to, and a PostgreSQL result backend, only named).

Two layouts used to pass whatever their tasks were, because nothing imported the tasks:

- the README's quickstart, ``proj``, whose ``Config(imports=("proj.tasks",))`` names the
  module a worker imports at start, checked with ``celery -A proj toolbox check``;
- the export worker's, ``app``, whose test module is two lines
  (``from app.celery import app``; ``FunctionalTests = build_functional_tests(app)``)
  and never imports ``app.tasks`` (``Config()``'s default ``imports``).

Both now load the task modules as a worker does, so a task ``report.build``, for which
``QUEUES`` has no ``report`` queue, fails them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .apps.projects import celery_command, run_in, write_project

# -- the README's quickstart ------------------------------------------------------------

QUICKSTART = {
    "proj/__init__.py": "",
    "proj/celery.py": """
        from celery import Celery

        from cadasta.workertoolbox.conf import Config

        app = Celery("proj")
        app.config_from_object(Config(queues=["export", "msg"], imports=("proj.tasks",)))
    """,
    "proj/tasks.py": """
        from .celery import app


        @app.task(name="export.render")
        def render(project_id):
            return f"rendered {project_id}"


        @app.task(name="msg.send")
        def send(text):
            return text
    """,
}

#: A task for which QUEUES has no queue: only the monitor would ever receive it.
REPORT_TASK = """

@app.task(name="report.build")
def build(project_id):
    return f"report {project_id}"
"""

#: What `check` prints about the stranded task, and the fix it names.
STRANDED = "'report.build' goes to exchange 'task_exchange' with routing key 'report'"
MISSING_QUEUE = "Add the missing queue(s) ['report'] to QUEUES"
SUMMARY = re.compile(r"^(\d+) checks, (\d+) passed, (\d+) failed(?:, (\d+) skipped)?\. ", re.M)


def summary(output: str) -> tuple[int, int, int, int]:
    """The counts of `check`'s last line: checks, passed, failed, skipped."""
    found = SUMMARY.search(output)
    assert found is not None, output
    checks, passed, failed, skipped = found.groups()
    return int(checks), int(passed), int(failed), int(skipped or 0)


def check(project: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """Run ``celery -A proj toolbox check *options*`` in *project*, as its user does."""
    return run_in(project, [*celery_command(), "-A", "proj", "toolbox", "check", *options])


def assert_no_crash(completed: subprocess.CompletedProcess[str]) -> None:
    """The command reported, rather than crashing with a traceback."""
    assert "Traceback" not in completed.stdout + completed.stderr, completed.stderr
    assert completed.returncode in (0, 1), completed.stderr


@pytest.fixture
def quickstart(tmp_path: Path) -> Path:
    """The quickstart project, exactly as the README lays it out."""
    return write_project(tmp_path / "quickstart", QUICKSTART)


def add_report_task(project: Path, module: str = "proj/tasks.py") -> None:
    """Append the task ``report.build`` to the tasks module of *project*."""
    with (project / module).open("a") as tasks:
        tasks.write(REPORT_TASK)


def test_projects_run_the_library_under_test(quickstart: Path) -> None:
    """A command run in a throwaway project imports the same library as the tests."""
    import cadasta.workertoolbox

    completed = run_in(
        quickstart,
        [sys.executable, "-c", "import cadasta.workertoolbox as w; print(w.__file__)"],
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == cadasta.workertoolbox.__file__


def test_quickstart_conforms_and_check_loads_its_tasks(quickstart: Path) -> None:
    """
    `celery -A proj toolbox check` on the quickstart exits 0, having loaded proj.tasks.

    It says which task modules it loaded as a worker would, and every check passes:
    none is skipped, since export.render and msg.send were there to be checked.
    """
    completed = check(quickstart)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "(task modules loaded as a worker loads them: proj.tasks)" in completed.stdout
    checks, passed, failed, skipped = summary(completed.stdout)
    assert (passed, failed, skipped) == (checks, 0, 0)
    assert "PASS  test_every_task_reaches_a_work_queue" in completed.stdout
    assert "PASS  test_task_modules_import" in completed.stdout
    assert completed.stdout.rstrip().endswith("The app conforms.")


def test_quickstart_check_fails_on_a_task_without_a_queue(quickstart: Path) -> None:
    """
    With report.build in proj/tasks.py, `check` exits 1, naming the task and the queue.

    The failure says that report.build reaches only the monitor and that the queue
    'report' is missing from QUEUES; the --json document says the same.
    """
    add_report_task(quickstart)

    completed = check(quickstart)
    document = json.loads(check(quickstart, "--json").stdout)

    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert_no_crash(completed)
    assert "FAIL  test_every_task_reaches_a_work_queue" in completed.stdout
    assert STRANDED in completed.stdout
    assert "reaches ['platform.fifo']" in completed.stdout
    assert MISSING_QUEUE in completed.stdout
    assert summary(completed.stdout)[2] == 1
    assert document["conforms"] is False
    assert document["task_modules"]["loaded"] == ["proj.tasks"]
    failed = [c for c in document["checks"] if not c["passed"]]
    assert [c["name"] for c in failed] == ["test_every_task_reaches_a_work_queue"]
    assert "'report.build'" in failed[0]["message"]


def test_producer_check_loads_task_modules_only_when_named(quickstart: Path) -> None:
    """
    `check --producer` loads no task module, so it cannot see report.build; --module can.

    A process that only sends tasks does not run a worker's imports (documented):
    plain --producer passes, with the per-task check skipped for want of tasks, while
    `--producer --module proj.tasks` loads the module and fails on report.build.
    """
    add_report_task(quickstart)

    producer = check(quickstart, "--producer")
    named = check(quickstart, "--producer", "--module", "proj.tasks")

    assert producer.returncode == 0, producer.stdout + producer.stderr
    assert "(no task modules were loaded)" in producer.stdout
    assert "report.build" not in producer.stdout
    assert "SKIP  test_every_task_reaches_a_work_queue" in producer.stdout
    assert "SKIP  test_task_modules_import" in producer.stdout
    assert summary(producer.stdout)[2:] == (0, 2)

    assert named.returncode == 1, named.stdout + named.stderr
    assert "(task modules loaded: proj.tasks)" in named.stdout
    assert STRANDED in named.stdout
    assert MISSING_QUEUE in named.stdout


def test_check_reports_a_task_module_that_does_not_import(tmp_path: Path) -> None:
    """
    A module of `imports` that raises ImportError fails `check` (exit 1), named, no crash.

    proj.tasks imports a helper module that does not exist; proj.reports, also in
    imports, still loads. The failure names the module and the error, and says which
    setting to fix.
    """
    project = write_project(
        tmp_path / "broken",
        {
            **QUICKSTART,
            "proj/celery.py": """
                from celery import Celery

                from cadasta.workertoolbox.conf import Config

                app = Celery("proj")
                app.config_from_object(
                    Config(queues=["export", "msg"], imports=("proj.tasks", "proj.reports"))
                )
            """,
            "proj/tasks.py": """
                from .celery import app
                from .renderer import render_pdf


                @app.task(name="export.render")
                def render(project_id):
                    return render_pdf(project_id)
            """,
            "proj/reports.py": """
                from .celery import app


                @app.task(name="msg.report")
                def report(project_id):
                    return project_id
            """,
        },
    )

    completed = check(project)

    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert_no_crash(completed)
    assert "loaded as a worker loads them: proj.reports; failed: proj.tasks)" in completed.stdout
    assert "FAIL  test_task_modules_import" in completed.stdout
    assert "'proj.tasks': ModuleNotFoundError: No module named 'proj.renderer'" in (
        completed.stdout
    )
    assert "CELERY_IMPORTS" in completed.stdout
    assert "PASS  test_every_task_reaches_a_work_queue" in completed.stdout
    assert summary(completed.stdout)[2] == 1


# -- the export worker's layout ---------------------------------------------------------

EXPORT_WORKER = {
    "app/__init__.py": "",
    "app/celery.py": """
        from celery import Celery

        from cadasta.workertoolbox.conf import Config

        app = Celery()
        app.config_from_object(Config())
    """,
    "app/tasks.py": """
        from .celery import app


        @app.task(name="export.project", bind=True)
        def export_project(self, project_id):
            return f"exported {project_id}"
    """,
    # The export worker's test module: it imports the app, never the tasks module.
    "tests/__init__.py": "",
    "tests/test_config.py": """
        from cadasta.workertoolbox.tests import build_functional_tests

        from app.celery import app
        FunctionalTests = build_functional_tests(app)
    """,
    # Stops pytest's search for a configuration at the project (no conftest, no options).
    "pytest.ini": "[pytest]\n",
}

#: How each runner is started in the project's folder.
RUNNERS = {
    "pytest": [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs",
               "tests/test_config.py"],
    "unittest": [sys.executable, "-m", "unittest", "-v", "tests.test_config"],
}  # fmt: skip


def run_tests(project: Path, runner: str) -> subprocess.CompletedProcess[str]:
    """Run the project's test module with *runner* in its folder; output in stdout."""
    completed = run_in(project, RUNNERS[runner])
    # unittest reports on standard error; pytest on standard output.
    return subprocess.CompletedProcess(
        completed.args, completed.returncode, completed.stdout + completed.stderr, ""
    )


@pytest.fixture
def export_worker(tmp_path: Path) -> Path:
    """The export worker's project: app/celery.py, app/tasks.py, tests/test_config.py."""
    return write_project(tmp_path / "export-worker", EXPORT_WORKER)


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_export_worker_tests_fail_on_a_task_without_a_queue(
    export_worker: Path, runner: str
) -> None:
    """
    The two-line test module fails on report.build in app/tasks.py, under either runner.

    The module imports only app.celery; the suite loads app.tasks, Config()'s default
    imports, as the worker would, and finds report.build reaching only the monitor.
    """
    add_report_task(export_worker, "app/tasks.py")

    completed = run_tests(export_worker, runner)

    assert completed.returncode == 1, completed.stdout
    assert "test_every_task_reaches_a_work_queue" in completed.stdout
    assert STRANDED in completed.stdout
    assert MISSING_QUEUE in completed.stdout
    if runner == "pytest":
        assert re.search(r"\b1 failed, \d+ passed in ", completed.stdout), completed.stdout
    else:
        assert "FAILED (failures=1)" in completed.stdout


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_export_worker_tests_pass_when_every_task_has_a_queue(
    export_worker: Path, runner: str
) -> None:
    """Without report.build the same test module passes, nothing skipped, under either runner."""
    completed = run_tests(export_worker, runner)

    assert completed.returncode == 0, completed.stdout
    if runner == "pytest":
        assert re.search(r"\b\d+ passed in ", completed.stdout), completed.stdout
        assert "skipped" not in completed.stdout
        assert "failed" not in completed.stdout
    else:
        assert re.search(r"^OK$", completed.stdout, re.M), completed.stdout


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_app_without_tasks_shows_a_skipped_check(export_worker: Path, runner: str) -> None:
    """
    An app with no task outside celery.* passes with a visible skip, and says why.

    app/tasks.py imports fine but defines no task: the per-task check has nothing to
    check, and the runner's summary shows it skipped with the reason, instead of a
    silent pass.
    """
    (export_worker / "app/tasks.py").write_text("from .celery import app  # noqa: F401\n")

    completed = run_tests(export_worker, runner)

    assert completed.returncode == 0, completed.stdout
    assert "the app has no task outside celery.*, so no task was checked" in completed.stdout
    if runner == "pytest":
        assert re.search(r"\b\d+ passed, 1 skipped in ", completed.stdout), completed.stdout
        assert "SKIPPED [1]" in completed.stdout
    else:
        assert "OK (skipped=1)" in completed.stdout
        assert "test_every_task_reaches_a_work_queue" in completed.stdout

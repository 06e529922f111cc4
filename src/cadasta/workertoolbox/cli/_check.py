"""
``celery -A APP toolbox check``: the conformance suite, run on the app in the command.

It runs the checks of :func:`~cadasta.workertoolbox.tests.build_functional_tests` with
:mod:`unittest`, silently, and prints which task modules it imported (a worker's
``imports`` and ``include``, as a starting worker does), then each check with its outcome
and, for a failure, the failure's message: what is wrong and which setting fixes it.
Nothing connects.
"""

from __future__ import annotations

import json
import unittest
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any, TypeAlias

import click

from ..conformance._modules import TaskModules
from ._common import not_configured_note, quiet_library_logs

__all__ = ["CheckOutcome", "CheckRun", "check", "run_checks"]

_ExcInfo: TypeAlias = (
    tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]
)


@dataclass(frozen=True)
class CheckOutcome:
    """
    The outcome of one check.

    Attributes:
        name: The check's test method (``setUpClass`` when the suite could not start).
        description: What the check requires: the first line of its docstring.
        passed: Whether the app passed it (a skipped check did not fail).
        message: Why it failed, or why it was skipped; empty when it passed.
        skipped: Whether it did not apply, or had nothing to check.

    """

    name: str
    description: str
    passed: bool
    message: str
    skipped: bool = False


@dataclass(frozen=True)
class CheckRun:
    """
    A run of the conformance suite: each check's outcome, and the task modules imported.

    Attributes:
        outcomes: The outcome of each check, in order.
        modules: What importing the app's task modules did.

    """

    outcomes: list[CheckOutcome]
    modules: TaskModules


class _Collector(unittest.TestResult):
    """Keep each check's outcome instead of printing it."""

    def __init__(self) -> None:
        super().__init__()
        self.outcomes: list[CheckOutcome] = []

    def _add(
        self, test: unittest.TestCase, passed: bool, message: str = "", skipped: bool = False
    ) -> None:
        name = getattr(test, "_testMethodName", None)
        description = test.shortDescription() or ""
        if name is None:
            # unittest's stand-in for setUpClass or tearDownClass when they raise.
            name = str(test).split(" ", 1)[0]
            description = f"The suite's {name} sets the app up for the checks."
        self.outcomes.append(CheckOutcome(name, description, passed, message, skipped))

    def addSuccess(self, test: unittest.TestCase) -> None:
        """Record a passed check."""
        super().addSuccess(test)
        self._add(test, True)

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        """Record a check that did not apply, or had nothing to check, with why."""
        super().addSkip(test, reason)
        self._add(test, True, reason, skipped=True)

    def addFailure(self, test: unittest.TestCase, err: _ExcInfo) -> None:
        """Record a failed check with its message."""
        super().addFailure(test, err)
        self._add(test, False, str(err[1]))

    def addError(self, test: unittest.TestCase, err: _ExcInfo) -> None:
        """Record a check that raised: the app could not be checked."""
        super().addError(test, err)
        self._add(
            test,
            False,
            f"The check could not run: {type(err[1]).__name__}: {err[1]}. The app's "
            "configuration is probably incomplete; run `celery -A APP toolbox show`.",
        )


def run_checks(
    app: Any, *, is_worker: bool = True, task_modules: Iterable[str] | None = None
) -> CheckRun:
    """
    Run the conformance suite on *app*; return each check's outcome and the modules imported.

    Args:
        app: The Celery app to check.
        is_worker: Check it as a worker (see
            :func:`~cadasta.workertoolbox.tests.build_functional_tests`).
        task_modules: The task modules to import instead of the app's.

    """
    from ..conformance._suite import build_functional_tests

    case = build_functional_tests(app, is_worker=is_worker, task_modules=task_modules)
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(case)
    collector = _Collector()
    with quiet_library_logs():
        suite.run(collector)
    modules: TaskModules = getattr(case, "loaded_task_modules", TaskModules())
    return CheckRun(collector.outcomes, modules)


def check(
    app: Any,
    *,
    as_json: bool = False,
    is_worker: bool = True,
    task_modules: Iterable[str] | None = None,
    color: bool | None = None,
) -> int:
    """
    Check *app* against the architecture and print the outcome.

    Args:
        app: The Celery app to check.
        as_json: Print one JSON document instead of text.
        is_worker: Check it as a worker, rather than as a process that only sends tasks.
        task_modules: The task modules to import instead of the app's.
        color: Passed to :func:`click.echo`.

    Returns:
        The exit status: 0 when the app passes every check, 1 otherwise.

    """
    note = not_configured_note(app)
    run = run_checks(app, is_worker=is_worker, task_modules=task_modules)
    outcomes, modules = run.outcomes, run.modules
    conforms = all(outcome.passed for outcome in outcomes)
    if as_json:
        document = {
            "app": app.main,
            "configured_with_config": note is None,
            "conforms": conforms,
            "task_modules": {
                "as_worker": modules.as_worker,
                "requested": list(modules.requested),
                "loaded": list(modules.loaded),
                "failed": [{"module": name, "error": error} for name, error in modules.failed],
            },
            "checks": [asdict(outcome) for outcome in outcomes],
        }
        click.echo(json.dumps(document, indent=2))
        return 0 if conforms else 1
    if note is not None:
        click.echo(f"Warning: {note}", err=True, color=color)
    click.echo(f"Conformance of app {app.main or '__main__'!r} to the architecture:", color=color)
    click.echo(f"  ({modules.describe()})", color=color)
    for outcome in outcomes:
        if outcome.skipped:
            mark = click.style("SKIP", fg="yellow", bold=True)
        elif outcome.passed:
            mark = click.style("PASS", fg="green", bold=True)
        else:
            mark = click.style("FAIL", fg="red", bold=True)
        click.echo(f"  {mark}  {outcome.name}: {outcome.description}", color=color)
        for line in outcome.message.splitlines():
            click.echo(f"        {line}", color=color)
    failed = sum(not outcome.passed for outcome in outcomes)
    skipped = sum(outcome.skipped for outcome in outcomes)
    passed = len(outcomes) - failed - skipped
    verdict = "The app conforms." if conforms else "The app does not conform: fix the failures."
    skips = f", {skipped} skipped" if skipped else ""
    click.echo(
        f"{len(outcomes)} checks, {passed} passed, {failed} failed{skips}. {verdict}",
        color=color,
    )
    return 0 if conforms else 1

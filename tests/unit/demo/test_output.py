"""What the demo prints: progress lines, the table, the verdict and the JSON document."""

from __future__ import annotations

import io
import json

import pytest

from cadasta.workertoolbox.demo._outcome import Report, TaskRow
from cadasta.workertoolbox.demo._output import (
    Output,
    describe_step,
    render_json,
    render_table,
    show_report,
    use_color,
    verdict,
)
from cadasta.workertoolbox.demo._scenario import Step, StepOutcome, TaskResult

MONITOR = "demo-platform.fifo"
GREEN, RED, RESET = "\033[32m", "\033[31m", "\033[0m"


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        """Claim to be a terminal."""
        return True


def row(
    task_id: str = "id-1",
    state: str = "SUCCESS",
    value: object = 3,
    messages: int = 1,
    copies: int = 1,
    stored: bool = True,
) -> TaskRow:
    """A row of the chain step's export.add task."""
    return TaskRow(
        "chain",
        task_id,
        "export.add",
        "demo-export",
        TaskResult(state, value, stored),
        messages,
        copies,
    )


def report(*rows: TaskRow, problems: tuple[str, ...] = ()) -> Report:
    """A report of *rows*."""
    return Report(rows, problems, MONITOR)


def test_output_masks_secrets_and_flushes_each_line() -> None:
    """Every secret given is masked wherever it appears; each line ends the write."""
    stream = io.StringIO()
    out = Output(stream, ["s3cret", "", "s3cret-longer"])

    out.line("db+postgresql://u:s3cret-longer@h/x and s3cret")

    assert stream.getvalue() == "db+postgresql://u:********@h/x and ********\n"


def test_progress_lines_show_the_seconds_since_the_start() -> None:
    """step() prefixes the seconds elapsed on the output's clock."""
    ticks = iter([100.0, 101.25, 101.25])
    stream = io.StringIO()
    out = Output(stream, clock=lambda: next(ticks))

    out.step("worker ready")

    assert stream.getvalue() == "  1.2 s  worker ready\n"
    assert out.elapsed == pytest.approx(1.25)


@pytest.mark.parametrize(
    ("stream", "environ", "expected"),
    [
        (Terminal(), {}, True),
        (io.StringIO(), {}, False),
        (Terminal(), {"NO_COLOR": "1"}, False),
        (Terminal(), {"NO_COLOR": ""}, True),
        (Terminal(), {"TERM": "dumb"}, False),
    ],
)
def test_colour_only_on_a_terminal_without_no_color(
    stream: io.StringIO, environ: dict[str, str], expected: bool
) -> None:
    """Colour needs a terminal; NO_COLOR (when not empty) and TERM=dumb turn it off."""
    assert use_color(stream, environ) is expected


def test_table_lists_each_task_under_a_header_without_colour() -> None:
    """One aligned line per task, with the monitor queue in the last column's title."""
    table = render_table(report(row(), row("id-2", value="x" * 40, messages=2, copies=2)))

    assert table.splitlines() == [
        "step   task id  task        work queue   state    result                            "
        "copy in demo-platform.fifo",
        "-----  -------  ----------  -----------  -------  --------------------------------  "
        "--------------------------",
        "chain  id-1     export.add  demo-export  SUCCESS  3                                 yes",
        "chain  id-2     export.add  demo-export  SUCCESS  'xxxxxxxxxxxxxxxxxxxxxxxxxxxx...  "
        "yes, all 2 messages",
    ]
    assert "\033" not in table


@pytest.mark.parametrize(
    ("task", "state_cell", "result_cell", "monitor_cell"),
    [
        (row(), f"{GREEN}SUCCESS", "3", f"{GREEN}yes"),
        (row(state="FAILURE", value=ValueError("no")), f"{RED}FAILURE", "ValueError('no')", ""),
        (row(stored=False, value=None), f"{GREEN}SUCCESS", "(not stored)", ""),
        (row(copies=0), "", "", f"{RED}MISSING (0 of 1)"),
        (row(copies=2), "", "", f"{RED}DOUBLED (2 for 1)"),
    ],
)
def test_table_cells_for_states_results_and_copies(
    task: TaskRow, state_cell: str, result_cell: str, monitor_cell: str
) -> None:
    """States and copies are green when right and red when wrong, on a terminal."""
    line = render_table(report(task), color=True).splitlines()[2]

    assert state_cell in line
    assert result_cell in line
    assert monitor_cell in line
    assert line.endswith(RESET)


def test_verdict_when_all_is_well() -> None:
    """The OK line counts tasks and messages and gives the time taken; green on a terminal."""
    ok = report(row("a"), row("b", messages=2, copies=2))

    assert verdict(ok, 4.26) == (
        f"OK: all 2 tasks succeeded, and each of their 3 messages reached {MONITOR} (4.3 s)"
    )
    assert verdict(ok, 4.26, color=True).startswith(f"{GREEN}OK: ")


def test_verdict_when_something_went_wrong() -> None:
    """The FAILED line lists every problem; red on a terminal."""
    failed = report(row(), problems=("one thing", "another"))

    assert verdict(failed, 1.0) == "FAILED: one thing; another"
    assert verdict(failed, 1.0, color=True) == f"{RED}FAILED: one thing; another{RESET}"


def test_json_holds_every_task_and_the_verdict() -> None:
    """The JSON document has the verdict, the problems and one object per task."""
    document = json.loads(
        render_json(report(row(), row("b", "FAILURE", KeyError("k")), problems=("p",)), 2.345)
    )

    assert document["ok"] is False
    assert document["seconds"] == 2.35
    assert document["monitor_queue"] == MONITOR
    assert document["problems"] == ["p"]
    assert document["tasks"][0] == {
        "step": "chain",
        "task_id": "id-1",
        "name": "export.add",
        "queue": "demo-export",
        "state": "SUCCESS",
        "result": 3,
        "result_stored": True,
        "messages": 1,
        "monitor_copies": 1,
    }
    assert document["tasks"][1]["result"] == "KeyError('k')"


def test_show_report_as_a_table_or_as_json() -> None:
    """show_report writes the table and the verdict, or the JSON document alone."""
    text, machine = io.StringIO(), io.StringIO()

    show_report(report(row()), 1.0, Output(text), as_json=False, color=False)
    show_report(report(row()), 1.0, Output(machine), as_json=True, color=False)

    lines = text.getvalue().splitlines()
    assert lines[0] == ""
    assert lines[1].startswith("step ")
    assert lines[-1].startswith("OK: all 1 tasks succeeded")
    assert json.loads(machine.getvalue())["ok"] is True


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (StepOutcome(Step("group", "g()", list), 0.4, True, [1, 4]), "group  g() -> [1, 4]"),
        (
            StepOutcome(Step("task", "t()", list), 0.4, False, ValueError("x")),
            "task   t() -> did not succeed: ValueError('x')",
        ),
        (
            StepOutcome(Step("chord", "c()", list), 12.0, False, timed_out=True),
            "chord  c(): no result within 12.0 s",
        ),
    ],
)
def test_step_lines(outcome: StepOutcome, expected: str) -> None:
    """A step's line says what was sent and what came back, or that nothing did."""
    assert describe_step(outcome) == expected

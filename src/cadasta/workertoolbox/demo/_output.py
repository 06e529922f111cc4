"""
What the demo prints: progress lines, the final table or JSON, and the verdict.

Colour is used only on a terminal, and never when ``NO_COLOR`` is set. Every line goes
through :class:`Output`, which hides the secrets it was given (the password of a
``--result-backend`` URL), whatever printed them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO

from ..config._secrets import MASK
from ._outcome import Report, TaskRow
from ._scenario import StepOutcome

__all__ = [
    "Output",
    "describe_step",
    "render_json",
    "render_table",
    "show_report",
    "use_color",
    "verdict",
]

_GREEN, _RED, _RESET = "\033[32m", "\033[31m", "\033[0m"
#: Longer results are cut to this many characters in the table.
_RESULT_WIDTH = 32


class Output:
    """
    Write lines to *stream*, with *secrets* replaced by a mask.

    Args:
        stream: Where to write; each line is flushed at once.
        secrets: Strings never to show.
        clock: Seconds, for the time shown on progress lines.

    """

    def __init__(
        self,
        stream: TextIO,
        secrets: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self._secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)
        self._clock = clock
        self._start = clock()

    @property
    def elapsed(self) -> float:
        """Seconds since the output was created."""
        return self._clock() - self._start

    def step(self, text: str) -> None:
        """Write a progress line: the seconds since the start, then *text*."""
        self.line(f"{self.elapsed:5.1f} s  {text}")

    def line(self, text: str) -> None:
        """Write *text* and a line break."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        self.stream.write(f"{text}\n")
        self.stream.flush()


def use_color(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Tell whether to colour what goes to *stream*: a terminal, and no ``NO_COLOR``."""
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


def _paint(text: str, good: bool, color: bool) -> str:
    if not color:
        return text
    return f"{_GREEN if good else _RED}{text}{_RESET}"


def _shorten(text: str) -> str:
    if len(text) <= _RESULT_WIDTH:
        return text
    return text[: _RESULT_WIDTH - 3] + "..."


def _result_cell(row: TaskRow) -> str:
    if not row.result.stored:
        return "(not stored)"
    return _shorten(repr(row.result.value))


def _monitor_cell(row: TaskRow) -> str:
    if row.copies == row.messages:
        return "yes" if row.messages == 1 else f"yes, all {row.messages} messages"
    if row.copies < row.messages:
        return f"MISSING ({row.copies} of {row.messages})"
    return f"DOUBLED ({row.copies} for {row.messages})"


def render_table(report: Report, color: bool = False) -> str:
    """Return the table of *report*: one line per task, under a header."""
    header: tuple[str, ...] = ("step", "task id", "task", "work queue", "state", "result")
    header = (*header, f"copy in {report.monitor_queue}")
    rows = [
        (
            row.step,
            row.task_id,
            row.name,
            row.queue,
            row.result.state,
            _result_cell(row),
            _monitor_cell(row),
        )
        for row in report.rows
    ]
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]

    def join(cells: tuple[str, ...], paints: tuple[bool | None, ...]) -> str:
        padded = [
            (cell if paint is None else _paint(cell, paint, color)) + " " * (width - len(cell))
            for cell, width, paint in zip(cells, widths, paints, strict=True)
        ]
        return "  ".join(padded).rstrip()

    plain = (None,) * len(header)
    lines = [join(header, plain), join(tuple("-" * width for width in widths), plain)]
    for row, cells in zip(report.rows, rows, strict=True):
        delivered = row.copies == row.messages
        lines.append(join(cells, (None, None, None, None, row.succeeded, None, delivered)))
    return "\n".join(lines)


def verdict(report: Report, seconds: float, color: bool = False) -> str:
    """Return the last line: all is well, or what went wrong."""
    if report.ok:
        text = (
            f"OK: all {len(report.rows)} tasks succeeded, and each of their "
            f"{report.messages} messages reached {report.monitor_queue} ({seconds:.1f} s)"
        )
    else:
        text = "FAILED: " + "; ".join(report.problems)
    return _paint(text, report.ok, color)


def render_json(report: Report, seconds: float) -> str:
    """Return *report* as a JSON document; results that JSON cannot hold become their repr."""
    document: dict[str, Any] = {
        "ok": report.ok,
        "seconds": round(seconds, 2),
        "monitor_queue": report.monitor_queue,
        "problems": list(report.problems),
        "tasks": [
            {
                "step": row.step,
                "task_id": row.task_id,
                "name": row.name,
                "queue": row.queue,
                "state": row.result.state,
                "result": row.result.value,
                "result_stored": row.result.stored,
                "messages": row.messages,
                "monitor_copies": row.copies,
            }
            for row in report.rows
        ],
    }
    return json.dumps(document, indent=2, default=repr)


def describe_step(outcome: StepOutcome) -> str:
    """Return the progress line of a finished step: what was sent, and what came back."""
    label = f"{outcome.step.kind:<5}  {outcome.step.description}"
    if outcome.timed_out:
        return f"{label}: no result within {outcome.seconds:.1f} s"
    if outcome.succeeded:
        return f"{label} -> {outcome.value!r}"
    return f"{label} -> did not succeed: {outcome.value!r}"


def show_report(report: Report, seconds: float, out: Output, *, as_json: bool, color: bool) -> None:
    """Write *report* to *out*: as JSON, or as the table followed by the verdict."""
    if as_json:
        out.line(render_json(report, seconds))
        return
    out.line("")
    out.line(render_table(report, color))
    out.line("")
    out.line(verdict(report, seconds, color))

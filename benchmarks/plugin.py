"""
Benchmarks of the pytest plugin, on the sample worker project of the tests.

Run from a clone with the test requirements and the gevent extra installed::

    python benchmarks/plugin.py            # the three measures, a table (about 2 minutes)
    python benchmarks/plugin.py --json     # the same, and one JSON object as the last line

What is measured, each in a pytest session of its own run in a subprocess on
``tests/plugin_project`` (the plugin loaded with ``-p``, as its entry point loads it):

- ``fast_test_seconds``: the median time of a fast-mode test of one send (setup, call and
  teardown of a test that sends one task with ``toolbox_sent_tasks`` and checks its
  queues), over 200 such tests (goal ≤ 0.05 s);
- ``round_trip_seconds``: per pool, the median time from ``delay()`` to ``get()`` of a
  task on a real worker, after the session's warm-up (the first round trip, which starts
  moto's server, the worker and the queues, is left out) (goal ≤ 2 s);
- ``idle_latency_seconds``: per pool, the longest time between sending a task to a worker
  idle for 3 s (its polls under way) and the task running, over 5 sends (goal ≤ 2 s).

Figures and their reading: ``benchmarks/RESULTS.md``, "The pytest plugin".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent / "tests" / "plugin_project"
POOLS = ("solo", "threads", "prefork", "gevent")
FAST_TESTS = 200
ROUND_TRIPS = 20
IDLE_SENDS = 5
IDLE_SECONDS = 3.0
GOALS = {"fast_test_seconds": 0.05, "round_trip_seconds": 2.0, "idle_latency_seconds": 2.0}

#: The measured tests, written into a copy of the project for the run.
BENCH_TESTS = f"""
import json, os, time

import pytest
from proj import tasks

OUT = os.environ["TOOLBOX_BENCH_OUT"]


def record(key, value):
    with open(OUT, "a") as out:
        out.write(json.dumps([key, value]) + "\\n")


@pytest.mark.parametrize("n", range({FAST_TESTS}))
def test_fast(toolbox_sent_tasks, n):
    tasks.render.delay(n)
    assert toolbox_sent_tasks.one("export.render").work_queues == {{"export"}}


@pytest.fixture(params={list(POOLS)!r})
def toolbox_worker_pool(request):
    return request.param


def test_round_trips(toolbox_live_app, toolbox_worker, toolbox_worker_pool):
    tasks.render.delay(0).get(timeout=30)  # the warm-up: queues, connections, pool
    for n in range({ROUND_TRIPS}):
        started = time.perf_counter()
        tasks.render.delay(n).get(timeout=30)
        record("round_trip/" + toolbox_worker_pool, time.perf_counter() - started)


def test_idle_latency(toolbox_live_app, toolbox_worker, toolbox_worker_pool):
    tasks.now.delay().get(timeout=30)
    for _ in range({IDLE_SENDS}):
        time.sleep({IDLE_SECONDS})
        sent = time.time()
        record("idle/" + toolbox_worker_pool, tasks.now.delay().get(timeout=30) - sent)
"""

#: Records each fast test's setup, call and teardown durations, as pytest measures them.
BENCH_HOOKS = """
import json, os

import pytest


@pytest.hookimpl
def pytest_runtest_logreport(report):
    if "test_fast[" in report.nodeid:
        with open(os.environ["TOOLBOX_BENCH_OUT"], "a") as out:
            out.write(json.dumps(["fast/" + report.nodeid, report.duration]) + "\\n")
"""


def run_session(selection: str, project: Path, out: Path) -> None:
    """Run the measured tests of *selection* (a -k expression) in a pytest session."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    environ["TOOLBOX_BENCH_OUT"] = str(out)
    environ["PYTHONPATH"] = os.pathsep.join(
        [str(project), *filter(None, [environ.get("PYTHONPATH")])]
    )
    completed = subprocess.run(  # noqa: S603 (our interpreter, fixed arguments)
        [sys.executable, "-m", "pytest", "-p", "cadasta.workertoolbox.testing.plugin",
         "-p", "bench_plugin_hooks", "-q", "-W", "ignore::DeprecationWarning",
         "bench_plugin_measured.py", "-k", selection],
        cwd=project, env=environ, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise RuntimeError(f"the {selection} session failed:\n{completed.stdout[-4000:]}")


def measure() -> dict[str, Any]:
    """Run the sessions; return every figure."""
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "project"
        shutil.copytree(PROJECT, project)
        (project / "bench_plugin_measured.py").write_text(BENCH_TESTS)
        (project / "bench_plugin_hooks.py").write_text(BENCH_HOOKS)
        out = Path(folder) / "figures.jsonl"
        run_session("test_fast", project, out)
        run_session("test_round_trips or test_idle_latency", project, out)
        samples: dict[str, list[float]] = {}
        for line in out.read_text().splitlines():
            key, value = json.loads(line)
            samples.setdefault(key, []).append(value)
    per_test: dict[str, float] = {}
    for key, values in samples.items():
        if key.startswith("fast/"):
            per_test[key] = sum(values)  # setup + call + teardown
    fast = sorted(per_test.values())
    return {
        "fast_test_seconds": statistics.median(fast),
        "fast_test_max_seconds": fast[-1],
        "round_trip_seconds": {
            pool: statistics.median(samples[f"round_trip/{pool}"]) for pool in POOLS
        },
        "round_trip_max_seconds": {pool: max(samples[f"round_trip/{pool}"]) for pool in POOLS},
        "idle_latency_seconds": {pool: max(samples[f"idle/{pool}"]) for pool in POOLS},
        "load_average": os.getloadavg(),
        "nproc": os.cpu_count(),
    }


def report(figures: dict[str, Any]) -> str:
    """The figures as a table, each with its goal."""
    rows = [
        ("fast-mode test of one send (median)", figures["fast_test_seconds"],
         GOALS["fast_test_seconds"]),
    ]  # fmt: skip
    for pool in POOLS:
        rows.append((f"real round trip, {pool} (median)", figures["round_trip_seconds"][pool], 2.0))
    for pool in POOLS:
        rows.append(
            (f"idle worker to task run, {pool} (max)", figures["idle_latency_seconds"][pool], 2.0)
        )
    lines = ["| measure | seconds | goal | met |", "|---|---|---|---|"]
    lines += [
        f"| {name} | {value:.3f} | ≤ {goal:g} | {'yes' if value <= goal else 'NO'} |"
        for name, value, goal in rows
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print the table (and the JSON line with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    arguments = parser.parse_args(argv)
    figures = measure()
    print(report(figures))
    if arguments.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())

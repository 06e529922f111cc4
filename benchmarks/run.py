"""
Benchmarks of cadasta-workertoolbox against plain Celery, side by side in one run.

Run from a clone with the test requirements installed::

    python benchmarks/run.py            # the full run, a table (several minutes)
    python benchmarks/run.py --json     # the same, and one JSON object as the last line
    python benchmarks/run.py --quick    # tiny sizes, one repeat: checks the script works

What is compared (see ``benchmarks/RESULTS.md`` for figures and their reading):

- ``router_ratio``: time per ``app.amqp.router.route({}, name)``, our Config against a
  plain Celery app routing the same names with a glob ``task_routes`` dict (goal ≤ 0.8);
- ``router_churn_ratio``: the same, while two threads keep creating Celery apps,
  configuring each with a Config and closing it (informational: not one of the issue's
  keys; ≤ 1.0 is the figure to expect, since our router does not look at other apps);
- ``publish_ratio``: tasks per second sent to the SQS endpoint, our Config (work queue
  and the monitor's FIFO copy, through the library's SQS transport) against plain Celery
  sending to one queue (goal ≥ 0.45);
- ``publish_same_topology_ratio``: our Config against plain Celery routed by hand to the
  same two queues (work queue and FIFO monitor, same exchange, same kombu transport
  options) on kombu's own SQS transport, which isolates the library's own cost (goal
  ≥ 0.95);
- ``cold_start_ratio``: a new process importing the library and building ``Config()``
  against one importing celery and building ``Celery()`` (goal ≤ 1.2);
- ``suite_seconds``: ``build_functional_tests`` and a run of its test case, on an app
  with 50 queues and 500 tasks (goal ≤ 1.0);
- ``worker_ratio``: tasks per second through one worker on the SQS endpoint, our Config
  against a plain Celery SQS configuration (goal ≥ 0.9).

The SQS endpoint is moto's server on loopback, started here: a fresh server for every
measured run that touches it (``--quick``: one server, fresh queues per run). The two
sides alternate (A B A B…, the order reversed every other round) and every figure is a
median. Raw boto3 sends to the same endpoint tell its own cost from ours.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _endpoint import Servers

HERE = Path(__file__).resolve().parent
CHILD = str(HERE / "_child.py")
CHILD_TIMEOUT = 600.0
perf = time.perf_counter

#: The goals of issue 10.
GOALS: dict[str, tuple[str, float]] = {
    "router_ratio": ("<=", 0.8),
    "publish_ratio": (">=", 0.45),
    "publish_same_topology_ratio": (">=", 0.95),
    "cold_start_ratio": ("<=", 1.2),
    "suite_seconds": ("<=", 1.0),
    "worker_ratio": (">=", 0.9),
}
#: Figures reported with the value to expect, which no issue sets as a goal.
INFORMATIONAL: dict[str, tuple[str, float]] = {
    "router_churn_ratio": ("<=", 1.0),
}


@dataclass(frozen=True)
class Plan:
    """How much to measure."""

    router_rounds: int
    growth_rounds: int
    router_blocks: int  # timed blocks of routing calls per process
    router_seconds: float  # the target duration of one block
    churn_rounds: int
    churn_blocks: int  # timed blocks of routing calls per process, under churn
    churn_seconds: float  # the target duration of one block under churn
    growth_sizes: tuple[int, ...]
    cold_runs: int
    suite_runs: int
    publish_count: int
    publish_rounds: int
    worker_count: int
    worker_rounds: int
    fresh_servers: bool
    #: Publish from this process instead of a new one per run: only for --quick, whose
    #: figures mean nothing, to check every part in a few seconds.
    in_process: bool = False


FULL = Plan(
    router_rounds=7,
    growth_rounds=5,
    router_blocks=5,
    router_seconds=0.05,
    churn_rounds=5,
    churn_blocks=5,
    churn_seconds=0.2,
    growth_sizes=(10, 100, 1000),
    cold_runs=30,
    suite_runs=5,
    publish_count=100,
    publish_rounds=9,
    worker_count=300,
    worker_rounds=7,
    fresh_servers=True,
)
QUICK = Plan(
    router_rounds=1,
    growth_rounds=1,
    router_blocks=1,
    router_seconds=0.002,
    churn_rounds=1,
    churn_blocks=1,
    churn_seconds=0.002,
    growth_sizes=(),
    cold_runs=1,
    suite_runs=1,
    publish_count=2,
    publish_rounds=1,
    worker_count=2,
    worker_rounds=1,
    fresh_servers=False,
    in_process=True,
)


def log(message: str) -> None:
    """Show progress on standard error, so that standard output stays the report."""
    print(message, file=sys.stderr, flush=True)


def alternate(sides: Sequence[str], rounds: int) -> Iterator[str]:
    """Yield the sides round after round, reversing the order every other round."""
    for index in range(rounds):
        yield from (sides if index % 2 == 0 else list(reversed(sides)))


def child_environment() -> dict[str, str]:
    """The environment of every child: ours, minus any CELERY_* variable."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    environ["C_FORCE_ROOT"] = "1"  # silence Celery's warning when the benchmarks run as root
    return environ


def run_child(kind: str, in_process: bool = False, **arguments: Any) -> dict[str, Any]:
    """
    Run one measured run in a new process; return the JSON it prints last.

    With *in_process*, run it here instead (``--quick``).
    """
    if in_process:
        import _child

        result_here: dict[str, Any] = getattr(_child, kind)(**arguments)
        return result_here
    completed = subprocess.run(  # noqa: S603 (our interpreter and script, fixed arguments)
        [sys.executable, CHILD, kind, json.dumps(arguments)],
        capture_output=True,
        text=True,
        env=child_environment(),
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{kind} run failed:\n{completed.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def median(values: Sequence[float]) -> float:
    """The median of *values*."""
    return float(statistics.median(values))


# -- routing ---------------------------------------------------------------------------------


#: The routing sides: our Config, and plain Celery with a glob task_routes dict.
ROUTING_SIDES = ["ours", "plain"]
#: The threads that create and close apps while ``router_churn_ratio`` is measured.
CHURN_THREADS = 2


def measure_routing(queue_names: Sequence[str], plan: Plan, rounds: int) -> dict[str, float]:
    """
    Route the same names with each side, one process per side and round; medians in us.

    Each process holds one app, as a producer does.
    """
    times: dict[str, list[float]] = {side: [] for side in ROUTING_SIDES}
    for side in alternate(ROUTING_SIDES, rounds):
        result = run_child(
            "route",
            plan.in_process,
            side=side,
            queue_names=list(queue_names),
            seconds=plan.router_seconds,
            blocks=plan.router_blocks,
        )
        times[side].append(result["us"])
    figures = {side: median(values) for side, values in times.items()}
    figures["ratio"] = figures["ours"] / figures["plain"]
    return figures


def measure_routing_churn(queue_names: Sequence[str], plan: Plan) -> dict[str, Any]:
    """
    Route as :func:`measure_routing` does while other apps come and go; medians.

    In each process, :data:`CHURN_THREADS` threads keep creating a Celery app,
    configuring it with a Config, building its router and closing it, while the main
    thread routes with the side's app: the same churn for both sides. A route's time is
    the main thread's wall time, which it shares with the churning threads.
    """
    times: dict[str, list[float]] = {side: [] for side in ROUTING_SIDES}
    churn: dict[str, list[float]] = {side: [] for side in ROUTING_SIDES}
    for side in alternate(ROUTING_SIDES, plan.churn_rounds):
        result = run_child(
            "route_churn",
            plan.in_process,
            side=side,
            queue_names=list(queue_names),
            seconds=plan.churn_seconds,
            blocks=plan.churn_blocks,
            threads=CHURN_THREADS,
        )
        times[side].append(result["us"])
        churn[side].append(result["apps_per_second"])
    figures: dict[str, Any] = {side: median(values) for side, values in times.items()}
    figures["routes_per_second"] = {side: 1e6 / figures[side] for side in ROUTING_SIDES}
    figures["apps_per_second"] = {side: median(values) for side, values in churn.items()}
    figures["runs"] = times
    figures["ratio"] = figures["ours"] / figures["plain"]
    figures["paired_ratio"] = median(
        [o / p for o, p in zip(times["ours"], times["plain"], strict=True)]
    )
    return figures


def publishing_apps() -> dict[str, Any]:
    """
    Return apps on the memory transport: ours, the same topology by hand, plain.

    Ours publishes through the library's memory transport (a Config chooses it), the
    others through kombu's own; each is checked.
    """
    from celery import Celery
    from kombu.entity import Exchange, Queue
    from kombu.transport import memory

    from cadasta.workertoolbox.conf import Config

    ours = Celery("ours", set_as_current=False)
    ours.config_from_object(Config(environ={}, QUEUES=["export", "msg"], broker_url="memory://"))
    exchange = Exchange("task_exchange", type="topic")
    export = Queue("export", exchange, routing_key="export")
    monitor = Queue("platform.fifo", exchange, routing_key="#")
    same = Celery("same", set_as_current=False)
    same.conf.update(
        broker_url="memory://",
        task_queues=[Queue("celery", exchange, routing_key="celery"), monitor, export],
        task_default_exchange="task_exchange",
        task_default_exchange_type="topic",
        task_routes={
            "export.*": {"queue": "export", "routing_key": "export", "declare": [export, monitor]}
        },
    )
    plain = Celery("plain", set_as_current=False)
    plain.conf.update(broker_url="memory://")
    apps = {"ours": ours, "same": same, "plain": plain}
    for side, app in apps.items():  # ours through the library's transport, the others kombu's
        expected = "cadasta.workertoolbox.publish.memory" if side == "ours" else memory.__name__
        with app.connection_for_write() as connection:
            module = type(connection.transport).__module__
        if module != expected:
            raise RuntimeError(f"{side} publishes through {module}, not {expected}")
    return apps


def time_sends(app: Any, count: int) -> float:
    """Return the seconds per ``send_task``, over *count* sends."""
    started = perf()
    for index in range(count):
        app.send_task("export.render", args=(index,))
    return (perf() - started) / count


def measure_publish_memory(plan: Plan) -> dict[str, float]:
    """
    Time send_task on the memory transport: the CPU cost of each side's send path.

    No endpoint: what remains is Celery's, kombu's and the library's own work.
    """
    from kombu.transport import memory

    apps = publishing_apps()
    count = max(10, plan.publish_count * 5)
    for app in apps.values():
        time_sends(app, 20)  # connect, declare, build the result backend
    times: dict[str, list[float]] = {side: [] for side in apps}
    for side in alternate(list(apps), plan.router_rounds):
        times[side].append(time_sends(apps[side], count) * 1e6)
        memory.Channel.queues.clear()
    for app in apps.values():
        app.close()
    result = {side: median(values) for side, values in times.items()}
    result["same_ratio"] = result["same"] / result["ours"]
    return result


# -- cold start ------------------------------------------------------------------------------

COLD_START = {
    "ours": "from cadasta.workertoolbox.conf import Config; Config()",
    "plain": "from celery import Celery; Celery()",
    "python": "pass",
}


def measure_cold_start(plan: Plan) -> dict[str, Any]:
    """Time new processes that import and build, alternating; medians in seconds."""
    times: dict[str, list[float]] = {side: [] for side in COLD_START}
    environ = child_environment()
    for side in alternate(list(COLD_START), plan.cold_runs):
        started = perf()
        subprocess.run(  # noqa: S603 (our interpreter, fixed code)
            [sys.executable, "-c", COLD_START[side]], env=environ, check=True
        )
        times[side].append(perf() - started)
    result: dict[str, Any] = {side: median(values) for side, values in times.items()}
    result["ratio"] = result["ours"] / result["plain"]
    interpreter = result["python"]
    result["net_ratio"] = (result["ours"] - interpreter) / (result["plain"] - interpreter)
    result["heavy_modules"] = run_child("modules")["heavy"]
    return result


# -- the conformance suite -------------------------------------------------------------------


def measure_suite(queues: int, tasks: int, runs: int) -> dict[str, Any]:
    """Median seconds of the suite, each run the first in a new process."""
    results = [run_child("suite", queues=queues, tasks=tasks) for _ in range(runs)]
    if not all(result["passed"] for result in results):
        raise RuntimeError(f"the conformance suite failed on {queues} queues, {tasks} tasks")
    return {"seconds": median([r["seconds"] for r in results]), "tests": results[0]["tests"]}


# -- publishing ------------------------------------------------------------------------------

PUBLISH_SIDES = ["ours", "same", "plain", "raw_std", "raw_pair", "ours_groups"]
#: The copies each side must leave on the endpoint, per task sent.
EXPECTED_QUEUES = {
    "ours": {"export", "platform.fifo"},
    "ours_groups": {"export", "platform.fifo"},
    "same": {"export", "platform.fifo"},
    "plain": {"celery"},
}
#: About the size of the SQS message body of one ``export.render`` task.
RAW_BODY_SIZE = 1400


def measure_publish(plan: Plan, servers: Servers) -> dict[str, Any]:
    """Send tasks to a fresh endpoint per run, each side in turn; medians."""

    def one(side: str) -> dict[str, Any]:
        with servers.run() as (endpoint, prefix):
            if side.startswith("raw_"):
                result = run_child(
                    "raw",
                    plan.in_process,
                    mode=side[4:],
                    endpoint_url=endpoint.endpoint_url,
                    prefix=prefix,
                    count=plan.publish_count,
                    body_size=RAW_BODY_SIZE,
                )
            else:
                result = run_child(
                    "publish",
                    plan.in_process,
                    side=side,
                    broker_url=endpoint.broker_url,
                    endpoint_url=endpoint.endpoint_url,
                    prefix=prefix,
                    count=plan.publish_count,
                )
                sent = plan.publish_count + 1
                expected = dict.fromkeys(EXPECTED_QUEUES[side], sent)
                if result["depths"] != expected:
                    raise RuntimeError(f"{side} left {result['depths']}, not {expected}")
        return result

    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in PUBLISH_SIDES}
    for side in alternate(PUBLISH_SIDES, plan.publish_rounds):
        runs[side].append(one(side))
    summary: dict[str, Any] = {}
    for side, results in runs.items():
        rates = [len(r["later_seconds"]) / sum(r["later_seconds"]) for r in results]
        summary[side] = {"tasks_per_second": median(rates), "runs": rates}
        if not side.startswith("raw_"):
            summary[side].update(
                first_ms=median([r["first_seconds"] for r in results]) * 1e3,
                later_ms=median([median(r["later_seconds"]) for r in results]) * 1e3,
                backend_ms=median([r["backend_seconds"] for r in results]) * 1e3,
                cpu_us=median([r["cpu_per_send"] for r in results]) * 1e6,
                first_calls=results[0]["first_calls"],
                later_calls_per_task={
                    name: count / len(results[0]["later_seconds"])
                    for name, count in results[0]["later_calls"].items()
                },
            )
    pair = runs["raw_pair"]
    summary["raw_pair"]["standard_ms"] = median([median(r["standard_seconds"]) for r in pair]) * 1e3
    summary["raw_pair"]["fifo_ms"] = median([median(r["fifo_seconds"]) for r in pair]) * 1e3
    # moto's server slows down as messages pile up, FIFO ones most: the first and the
    # last fifth of each run's FIFO sends.
    fifth = max(1, plan.publish_count // 5)
    summary["raw_pair"]["fifo_first_ms"] = (
        median([median(r["fifo_seconds"][:fifth]) for r in pair]) * 1e3
    )
    summary["raw_pair"]["fifo_last_ms"] = (
        median([median(r["fifo_seconds"][-fifth:]) for r in pair]) * 1e3
    )
    summary["raw_std"]["standard_ms"] = (
        median([median(r["standard_seconds"]) for r in runs["raw_std"]]) * 1e3
    )
    rate = {side: summary[side]["tasks_per_second"] for side in PUBLISH_SIDES}
    summary["ratio"] = rate["ours"] / rate["plain"]
    summary["same_topology_ratio"] = rate["ours"] / rate["same"]
    summary["groups_ratio"] = rate["ours_groups"] / rate["ours"]
    # What the endpoint alone allows: a standard and a FIFO send per task, against one.
    summary["endpoint_ratio"] = rate["raw_pair"] / rate["raw_std"]
    # publish_ratio if sending the monitor's copy cost only the endpoint's FIFO send:
    # plain Celery's time per task, against that time plus one raw FIFO send.
    plain_seconds = 1 / rate["plain"]
    fifo_seconds = summary["raw_pair"]["fifo_ms"] / 1e3
    summary["endpoint_bound"] = plain_seconds / (plain_seconds + fifo_seconds)
    summary["library_us_per_task"] = (1 / rate["ours"] - 1 / rate["same"]) * 1e6
    # The same comparison round by round (ours and same run one after the other).
    summary["same_topology_paired_ratio"] = median(
        [o / s for o, s in zip(summary["ours"]["runs"], summary["same"]["runs"], strict=True)]
    )
    return summary


# -- the worker ------------------------------------------------------------------------------


def run_worker(side: str, plan: Plan, servers: Servers) -> float:
    """Run one worker child on a fresh endpoint; return its tasks per second."""
    with (
        servers.run() as (endpoint, prefix),
        tempfile.TemporaryDirectory() as folder,
    ):
        result_file = os.path.join(folder, "marks.json")
        arguments = {
            "side": side,
            "broker_url": endpoint.broker_url,
            "prefix": prefix,
            "count": plan.worker_count,
            "result_file": result_file,
        }
        process = subprocess.Popen(  # noqa: S603 (our interpreter and script)
            [sys.executable, CHILD, "worker", json.dumps(arguments)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=child_environment(),
        )
        deadline = perf() + CHILD_TIMEOUT
        try:
            while not os.path.exists(result_file):
                if process.poll() is not None or perf() > deadline:
                    raise RuntimeError(f"the {side} worker stopped or timed out")
                time.sleep(0.05)
        finally:
            process.terminate()
            try:
                _, errors = process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                _, errors = process.communicate()
        if not os.path.exists(result_file):
            raise RuntimeError(f"the {side} worker failed:\n{errors[-4000:]}")
        with open(result_file) as file:
            marks: dict[str, float] = json.load(file)
    return plan.worker_count / (marks["last"] - marks["ready"])


def measure_worker(plan: Plan, servers: Servers) -> dict[str, Any]:
    """Tasks per second through one worker, alternating sides; medians."""
    rates: dict[str, list[float]] = {"ours": [], "plain": []}
    for side in alternate(["ours", "plain"], plan.worker_rounds):
        rates[side].append(run_worker(side, plan, servers))
    result: dict[str, Any] = {side: median(values) for side, values in rates.items()}
    result["runs"] = rates
    result["ratio"] = result["ours"] / result["plain"]
    # The same comparison round by round (the two sides run one after the other).
    result["paired_ratio"] = median(
        [o / p for o, p in zip(rates["ours"], rates["plain"], strict=True)]
    )
    return result


# -- the report ------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """Describe the machine and the versions measured."""
    import celery
    import kombu

    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "celery": celery.__version__,
        "kombu": kombu.__version__,
        "load_average": os.getloadavg(),
    }


def met(key: str, value: float) -> str:
    """Tell whether *value* meets the goal (or the value to expect) of *key*."""
    sense, goal = GOALS.get(key) or INFORMATIONAL[key]
    ok = value <= goal if sense == "<=" else value >= goal
    answer = "yes" if ok else "NO"
    return answer if key in GOALS else f"{answer} (informational)"


def goal(key: str) -> str:
    """Render the goal of *key*."""
    return " ".join(map(str, GOALS.get(key) or INFORMATIONAL[key]))


def table(rows: list[tuple[str, ...]]) -> str:
    """Lay *rows* out in columns; the first row is the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def report(results: dict[str, Any], headline: dict[str, float], plan: Plan) -> str:
    """Render the results as readable tables."""
    info = results["machine"]
    routing, cold, publish = results["routing"], results["cold_start"], results["publish"]
    churn = results["routing_churn"]
    worker, suite = results["worker"], results["suite"]
    out = [
        f"cadasta-workertoolbox benchmarks, {info['date']}",
        f"{info['nproc']} CPU(s), {info['cpu']}; Python {info['python']}, Celery "
        f"{info['celery']}, kombu {info['kombu']}; load average at start "
        f"{info['load_average'][0]:.2f}, at end {results['load_average_end'][0]:.2f}",
        "",
    ]
    pub = {side: publish[side]["tasks_per_second"] for side in PUBLISH_SIDES}
    rows = [
        ("key", "ours", "plain Celery", "value", "goal", "met"),
        ("router_ratio", f"{routing['ours']:.2f} us/route", f"{routing['plain']:.2f} us/route"),
        ("router_churn_ratio", f"{churn['ours']:.2f} us/route", f"{churn['plain']:.2f} us/route"),
        ("publish_ratio", f"{pub['ours']:.1f} tasks/s", f"{pub['plain']:.1f} tasks/s"),
        ("publish_same_topology_ratio", f"{pub['ours']:.1f} tasks/s", f"{pub['same']:.1f} tasks/s"),
        ("cold_start_ratio", f"{cold['ours'] * 1e3:.0f} ms", f"{cold['plain'] * 1e3:.0f} ms"),
        ("suite_seconds", f"{suite['seconds']:.3f} s", "-"),
        ("worker_ratio", f"{worker['ours']:.1f} tasks/s", f"{worker['plain']:.1f} tasks/s"),
    ]
    rows = [rows[0]] + [
        (
            *row,
            f"{headline[row[0]]:.3f}",
            goal(row[0]),
            met(row[0], headline[row[0]]),
        )
        for row in rows[1:]
    ]
    out += [table(rows), ""]

    out.append("Routing, microseconds per app.amqp.router.route(), one app per process:")
    rows = [("queues", "ours", "plain (glob task_routes)", "ratio")]
    sizes = {"2 (export, msg)": routing, **results["routing_growth"]}
    for size, figures in sizes.items():
        rows.append(
            (size, f"{figures['ours']:.2f}", f"{figures['plain']:.2f}", f"{figures['ratio']:.2f}")
        )
    rates = churn["routes_per_second"]
    apps = churn["apps_per_second"]
    out += [
        table(rows),
        f"while {CHURN_THREADS} threads create, configure (Config) and close apps, 2 queues: "
        f"ours {churn['ours']:.2f} us per route ({rates['ours']:,.0f} routes/s; "
        f"{apps['ours']:.0f} apps/s churned), plain {churn['plain']:.2f} us "
        f"({rates['plain']:,.0f} routes/s; {apps['plain']:.0f} apps/s); ratio "
        f"{churn['ratio']:.2f}, median of the per-round ratios {churn['paired_ratio']:.2f}",
        "",
    ]

    memory = results["publish_memory"]
    out += [
        "send_task on the memory transport (no endpoint; ours through the library's, the "
        "others kombu's), microseconds per task: ours "
        f"{memory['ours']:.0f}, same topology by hand {memory['same']:.0f}, plain Celery one "
        f"queue {memory['plain']:.0f}; same/ours = {memory['same_ratio']:.2f}",
        "",
    ]

    out.append("Conformance suite, seconds (first run in a new process):")
    rows = [("queues / tasks", "seconds", "tests")]
    rows.append(("50 / 500", f"{suite['seconds']:.3f}", str(suite["tests"])))
    for size, figures in results["suite_growth"].items():
        rows.append((f"{size} / {size}", f"{figures['seconds']:.3f}", str(figures["tests"])))
    out += [table(rows), ""]

    out.append(
        f"Publishing {plan.publish_count} tasks after a first one, fresh endpoint per run "
        "(medians):"
    )
    rows = [
        (
            "side",
            "tasks/s",
            "first publish ms",
            "later ms",
            "client CPU us",
            "API calls: first / each later",
        )
    ]
    for side in ("ours", "same", "plain", "ours_groups"):
        figures = publish[side]
        rows.append(
            (
                side,
                f"{figures['tasks_per_second']:.1f}",
                f"{figures['first_ms']:.1f}",
                f"{figures['later_ms']:.2f}",
                f"{figures['cpu_us']:.0f}",
                f"{_calls(figures['first_calls'])} / {_calls(figures['later_calls_per_task'])}",
            )
        )
    rows.append(
        ("raw boto3, standard", f"{pub['raw_std']:.1f}", "-",
         f"{publish['raw_std']['standard_ms']:.2f}", "-", "SendMessage")
    )  # fmt: skip
    rows.append(
        ("raw boto3, standard + FIFO", f"{pub['raw_pair']:.1f}", "-",
         f"{publish['raw_pair']['standard_ms']:.2f} + {publish['raw_pair']['fifo_ms']:.2f}",
         "-", "2 SendMessage")
    )  # fmt: skip
    out += [table(rows)]
    out += [
        f"endpoint alone: a FIFO send costs {publish['raw_pair']['fifo_ms']:.1f} ms against "
        f"{publish['raw_pair']['standard_ms']:.1f} ms for a standard one (FIFO: "
        f"{publish['raw_pair']['fifo_first_ms']:.1f} ms in the first fifth of a run, "
        f"{publish['raw_pair']['fifo_last_ms']:.1f} ms in the last); boto3 pairs vs single "
        f"sends: {publish['endpoint_ratio']:.2f}",
        f"publish_ratio if the monitor's copy cost only its FIFO send: "
        f"{publish['endpoint_bound']:.2f} (plain Celery's time per task, plus one raw FIFO "
        f"send); measured {publish['ratio']:.2f}",
        f"ours vs the same topology by hand: {publish['library_us_per_task']:+.0f} us per task "
        f"(median of the per-round ratios: {publish['same_topology_paired_ratio']:.2f}); "
        f"MONITOR_MESSAGE_GROUP='task' vs 'default': {publish['groups_ratio']:.2f}",
        f"result backend set-up on the first send: ours {publish['ours']['backend_ms']:.0f} ms "
        f"(database backend), plain {publish['plain']['backend_ms']:.0f} ms (disabled)",
        "",
        f"Cold start, medians of {plan.cold_runs} runs each: python alone "
        f"{cold['python'] * 1e3:.0f} ms; net of it, ours/plain = {cold['net_ratio']:.2f}; "
        f"heavy modules imported by Config(): {cold['heavy_modules'] or 'none'}",
        f"Worker, {plan.worker_count} tasks per run, tasks/s per run: ours "
        f"{_rates(worker['runs']['ours'])}, plain {_rates(worker['runs']['plain'])}; "
        f"median of the per-round ratios: {worker['paired_ratio']:.2f}",
    ]
    return "\n".join(out)


def _calls(calls: dict[str, float]) -> str:
    return ", ".join(f"{name} {count:g}" for name, count in sorted(calls.items())) or "-"


def _rates(rates: Sequence[float]) -> str:
    return ", ".join(f"{rate:.1f}" for rate in rates)


def measure(plan: Plan) -> dict[str, Any]:
    """Run every measurement of *plan*; return the raw results."""
    results: dict[str, Any] = {"machine": machine()}
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("routing", lambda: measure_routing(["export", "msg"], plan, plan.router_rounds)),
        ("routing_churn", lambda: measure_routing_churn(["export", "msg"], plan)),
        (
            "routing_growth",
            lambda: {
                str(n): measure_routing([f"q{i:04d}" for i in range(n)], plan, plan.growth_rounds)
                for n in plan.growth_sizes
            },
        ),
        ("publish_memory", lambda: measure_publish_memory(plan)),
        ("cold_start", lambda: measure_cold_start(plan)),
        ("suite", lambda: measure_suite(50, 500, plan.suite_runs)),
        (
            "suite_growth",
            lambda: {str(n): measure_suite(n, n, plan.suite_runs) for n in plan.growth_sizes},
        ),
    ]
    servers = Servers(fresh=plan.fresh_servers)
    steps += [
        ("publish", lambda: measure_publish(plan, servers)),
        ("worker", lambda: measure_worker(plan, servers)),
    ]
    try:
        for name, step in steps:
            log(f"measuring {name}...")
            started = perf()
            results[name] = step()
            log(f"  {name}: {perf() - started:.1f} s")
    finally:
        servers.close()
    results["load_average_end"] = os.getloadavg()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print the tables and, with ``--json``, the JSON line last."""
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes and one repeat: checks the script runs"
    )
    options = parser.parse_args(argv)
    plan = QUICK if options.quick else FULL
    results = measure(plan)
    headline = {
        "router_ratio": results["routing"]["ratio"],
        "router_churn_ratio": results["routing_churn"]["ratio"],
        "publish_ratio": results["publish"]["ratio"],
        "publish_same_topology_ratio": results["publish"]["same_topology_ratio"],
        "cold_start_ratio": results["cold_start"]["ratio"],
        "suite_seconds": results["suite"]["seconds"],
        "worker_ratio": results["worker"]["ratio"],
    }
    print(report(results, headline, plan))
    if options.json:
        print(json.dumps({**headline, "quick": options.quick, "details": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""
``python -m cadasta.workertoolbox.demo``: the architecture at work, on this machine.

It needs no service: it starts moto's SQS server on a free loopback port, stores results
in SQLite in a temporary folder (or at ``--result-backend``), configures the example app
with :class:`~cadasta.workertoolbox.conf.Config`, starts a real worker, sends a task, a
chain, a group and a chord, and shows where each task went, how it ended and whether its
copy reached the monitor queue. Whatever happens, Ctrl-C included, it stops what it
started and removes its temporary folder.

Exit status: 0 when every task succeeded and every message reached the monitor queue,
1 when not (a line says why), 2 for a usage error or when moto is missing, 130 when
interrupted.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator, MutableMapping, Sequence
from contextlib import ExitStack, contextmanager
from types import FrameType
from urllib.parse import unquote

from ..config._secrets import mask_url
from ..testing._monitor import MonitorReader
from ._app import QUEUES, BackendUnavailable, create_app, prepare_result_backend
from ._endpoint import MotoMissing, load_server_class, running_endpoint
from ._outcome import Report, build_report
from ._output import Output, describe_step, show_report, use_color
from ._scenario import fetch_results, recording, run_steps, steps
from ._worker import WorkerFailed, running_worker

__all__ = ["main"]

#: Time allowed for the worker to get ready, and for the four steps together.
_WORKER_START_TIMEOUT = 15.0
_STEPS_TIMEOUT = 15.0
#: Variables Celery prefers to any configuration: they would take the demo elsewhere.
_CELERY_OVERRIDES = ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")
_EXIT_INTERRUPTED = 128 + 2  # as a shell reports a process ended by SIGINT

#: Set by the demo's SIGINT handler: Python swallows a KeyboardInterrupt raised inside some
#: callbacks (an import lock's, a weakref's), and the demo must notice the Ctrl-C anyway.
_INTERRUPTED = threading.Event()


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    """Remember the Ctrl-C, then interrupt as Python's own handler does."""
    _INTERRUPTED.set()
    raise KeyboardInterrupt


_DESCRIPTION = """\
Show the Cadasta task architecture at work on this machine, with nothing else running.

The demo starts an SQS endpoint (moto's server) on a free loopback port and a worker of
an example app configured with Config, sends a task, a chain, a group and a chord, and
shows each task's state and result and whether its copy reached the platform's monitor
queue, platform.fifo. Results go to SQLite in a temporary folder, or to --result-backend,
for example db+postgresql+psycopg2://USER:PASSWORD@localhost/cadasta (the database, on
PostgreSQL, and Celery's tables are created if missing). It stops what it started and
removes its temporary folder when it ends, and on Ctrl-C.

moto comes with the local extra: pip install "cadasta-workertoolbox[local]"
"""
_EPILOG = """\
exit status: 0 when every task succeeded and every message reached the monitor queue,
1 otherwise, 2 for a usage error or when moto is missing, 130 on Ctrl-C.
"""


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run the demo, as ``python -m cadasta.workertoolbox.demo`` does.

    Args:
        argv: The command-line arguments; ``sys.argv[1:]`` when omitted.

    Returns:
        The exit status: 0 when every task succeeded and every message reached the
        monitor queue, 1 when not, 2 for a usage error or a missing moto, 130 when
        interrupted.

    .. versionadded:: 1.0

    """
    parser = _parser()
    try:
        options = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error argparse has reported
        return exit_.code if isinstance(exit_.code, int) else 2
    secrets = _password_of(options.result_backend or "")
    progress = Output(sys.stderr if options.json else sys.stdout, secrets)
    _INTERRUPTED.clear()
    previous_handler = signal.signal(signal.SIGINT, _on_sigint)
    try:
        report = _run(options.result_backend, progress)
        if _INTERRUPTED.is_set():  # pragma: no cover - only when Python swallowed the Ctrl-C's
            # KeyboardInterrupt (it landed in an import lock's callback): a race that tests
            # cannot provoke on purpose; the subprocess Ctrl-C tests meet it now and then.
            raise KeyboardInterrupt
    except MotoMissing as error:
        Output(sys.stderr).line(str(error))
        return 2
    except KeyboardInterrupt:
        progress.line(
            "interrupted: stopped what the demo had started and removed what it had created"
        )
        return _EXIT_INTERRUPTED
    except (BackendUnavailable, WorkerFailed) as error:
        progress.line(f"FAILED: {error}")
        return 1
    finally:
        signal.signal(signal.SIGINT, previous_handler)
    show_report(
        report,
        progress.elapsed,
        Output(sys.stdout, secrets),
        as_json=options.json,
        color=use_color(sys.stdout, os.environ),
    )
    return 0 if report.ok else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cadasta.workertoolbox.demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    parser.add_argument(
        "--result-backend",
        metavar="URL",
        type=_database_url,
        help="store the results in this database instead (a URL that starts with db+)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the results as JSON (progress goes to standard error)",
    )
    return parser


def _database_url(url: str) -> str:
    if not url.startswith("db+"):
        raise argparse.ArgumentTypeError(
            f"{mask_url(url)!r} is not a URL of Celery's database backend; give one that "
            "starts with db+, e.g. db+postgresql+psycopg2://user:password@host/name or "
            "db+sqlite:///results.sqlite"
        )
    return url


def _password_of(url: str) -> list[str]:
    """Return the password of *url* as written and decoded, to hide it in all output."""
    userinfo = url.partition("://")[2].rpartition("@")[0]
    if ":" not in userinfo:
        return []
    password = userinfo.split(":", 1)[1]
    return [password, unquote(password)]


@contextmanager
def _without(environ: MutableMapping[str, str], names: Sequence[str]) -> Iterator[list[str]]:
    """Remove the variables *names* from *environ* during the block; yield those removed."""
    removed = {name: environ.pop(name) for name in names if name in environ}
    try:
        yield sorted(removed)
    finally:
        environ.update(removed)


def _run(result_backend: str | None, progress: Output) -> Report:
    server_class = load_server_class()
    with ExitStack() as stack:
        ignored = stack.enter_context(_without(os.environ, _CELERY_OVERRIDES))
        if ignored:
            progress.step(f"ignoring {' and '.join(ignored)}: the demo brings its own services")
        folder = None
        if result_backend is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="cadasta-demo-"))
            result_backend = f"db+sqlite:///{folder}/results.sqlite"
        endpoint = stack.enter_context(running_endpoint(server_class))
        progress.step(f"SQS endpoint (moto's server) listening at {endpoint.url}")
        app = create_app(endpoint.broker_url, result_backend)
        stack.callback(app.close)
        prefix = app.conf.broker_transport_options["queue_name_prefix"]
        monitor = f"{prefix}{app.conf.PLATFORM_QUEUE_NAME}"
        if prepare_result_backend(app):
            progress.step("created the result database, which did not exist")
        progress.step(f"results go to {mask_url(result_backend)}")
        progress.step(
            f"app {app.main!r} configured with Config: work queues {', '.join(QUEUES)}, "
            f"queue names prefixed with {prefix!r}, monitor queue {monitor}"
        )
        recorder = stack.enter_context(recording())
        queues = ("celery", *QUEUES)
        with running_worker(app, queues, _WORKER_START_TIMEOUT):
            progress.step(f"worker ready, consuming {', '.join(prefix + q for q in queues)}")
            progress.step(
                f"queues on the endpoint, declared at the worker's start-up: "
                f"{', '.join(endpoint.queue_names(prefix))}"
            )
            outcomes = run_steps(
                steps(app),
                recorder,
                _STEPS_TIMEOUT,
                lambda outcome: progress.step(describe_step(outcome)),
            )
        progress.step("worker stopped")
        results = fetch_results(app, recorder)
        records = MonitorReader(endpoint.client, monitor).read(expected=len(recorder.publications))
        progress.step(
            f"read {len(records)} copies from {monitor} for the "
            f"{len(recorder.publications)} task messages sent"
        )
    progress.step("stopped the SQS endpoint" + (f", removed {folder}" if folder else ""))
    return build_report(
        recorder.publications,
        results,
        [record.id for record in records],
        monitor_queue=monitor,
        queue_prefix=prefix,
        outcomes=outcomes,
    )

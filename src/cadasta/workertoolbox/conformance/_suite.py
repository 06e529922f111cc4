"""
The conformance suite a worker's test suite runs against its Celery app.

:func:`build_functional_tests` returns a :class:`unittest.TestCase` whose test methods
each check one rule of the architecture, without a broker and without publishing: the
routes come from the app's own router, the queues they reach from the bindings the app
declares (see :mod:`._topology`). Everything is computed once per test
class, in ``setUpClass``.

The suite leaves the app as it found them. With ``is_worker=True`` it sets the app up as
a worker's start does, minus the network: it imports the app's task modules (``imports``,
``include``; see :mod:`._modules`), which stay imported, as a worker's do, and
caps ``celery.chord_unlock`` retries, which ``tearDownClass`` undoes.
"""

from __future__ import annotations

import sys
import unittest
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from .._chord_unlock import CHORD_UNLOCK_TASK, annotation
from ..config._secrets import masked
from ..config._topology import CELERY_QUEUE, DEFAULT_PLATFORM_QUEUE
from ..publish._delivery import (
    DELAY_SHARE,
    configured_visibility_timeout,
    delay_fix,
    delay_limit,
    env_prefix,
    retry_delays,
    seconds,
)
from ._modules import TaskModules, load_task_modules, task_module_names
from ._routing import Route, describe_target, publish_target
from ._topology import DeclaredTopology

if TYPE_CHECKING:
    from celery import Celery

    # Type checkers see the checks as test case methods; at run time the mixin is a
    # plain class, so that no test runner collects it without an app.
    _Checks = unittest.TestCase
else:
    _Checks = object

__all__ = [
    "ConformanceChecks",
    "Survey",
    "build_functional_tests",
    "set_up_as_worker",
    "stranded_message",
]

#: The name of the task routed to find where the tasks of a work queue go.
_PROBE_TASK = "{queue}.conformance_probe"
_USE_CONFIG = "Config sets it so: remove the override"
_REBUILD_QUEUES = (
    "Keep the task_queues and task_routes that cadasta.workertoolbox.conf.Config builds "
    "(remove any override of them)"
)


@dataclass(frozen=True)
class RoutingFailure:
    """
    A task the app's router could not route.

    Args:
        error: What the router raised.

    """

    error: str
    destinations: frozenset[str] = frozenset()
    routing_key: str = ""

    def __str__(self) -> str:
        return f"nowhere: routing it raised {self.error}"


def _listed(names: Iterable[str]) -> str:
    """Show queue names sorted, as a list."""
    return "[" + ", ".join(repr(name) for name in sorted(names)) + "]"


def _setting(name: str, value: object) -> str:
    """Show a setting and its value, secrets masked."""
    return f"{name}={masked(name, value)}"


class Survey:
    """
    What the checks need to know about an app, computed once per test class.

    Args:
        app: The Celery app under test.

    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.topology = DeclaredTopology.of(app)
        self.monitor = str(app.conf.get("PLATFORM_QUEUE_NAME") or DEFAULT_PLATFORM_QUEUE)
        self.exchange = str(app.amqp.default_exchange.name or "")
        self._routes: dict[str, Route | RoutingFailure] = {}

    def route(self, task_name: str) -> Route | RoutingFailure:
        """Return where the task *task_name* goes, or why it cannot be routed."""
        route = self._routes.get(task_name)
        if route is None:
            try:
                route = publish_target(self.app, task_name, self.topology)
            except Exception as error:
                route = RoutingFailure(f"{type(error).__name__}: {error}")
            self._routes[task_name] = route
        return route

    def work_queue_names(self) -> list[str]:
        """
        Return the work queues: ``QUEUES``, else the declared queues but two.

        ``celery`` and the monitor queue are not work queues.
        """
        names = self.app.conf.get("QUEUES")
        if names is None:
            names = self.topology.queue_names
        return [name for name in names if name not in (CELERY_QUEUE, self.monitor)]


#: The attributes of the ``celery.chord_unlock`` task class the cap sets.
_CAPPED_ATTRIBUTES = tuple(annotation(0))


def set_up_as_worker(app: Any) -> Callable[[], None]:
    """
    Set *app* up as a worker's start does, minus the network.

    That is the cap on ``celery.chord_unlock`` retries
    (:func:`~cadasta.workertoolbox.setup.cap_chord_unlock_retries`); declaring the
    topology needs the broker and is left out.

    Returns:
        A function that restores what was changed.

    """
    from ..startup._setup import cap_chord_unlock_retries

    task_class = type(app.tasks[CHORD_UNLOCK_TASK])
    own = vars(task_class)
    saved = {name: own[name] for name in _CAPPED_ATTRIBUTES if name in own}
    cap_chord_unlock_retries(app)

    def restore() -> None:
        for name in _CAPPED_ATTRIBUTES:
            if name in saved:
                setattr(task_class, name, saved[name])
            else:
                # The cap added it; unless something removed it meanwhile.
                with suppress(AttributeError):
                    delattr(task_class, name)

    return restore


def _nothing_to_restore() -> None:
    """Restore nothing: the suite changed nothing."""


class ConformanceChecks(_Checks):
    """The checks; :func:`build_functional_tests` mixes them into a test case."""

    #: The Celery app under test.
    app: ClassVar[Any]
    #: Whether the app is set up as a worker's start would before the checks run.
    is_worker: ClassVar[bool]
    #: The task modules to import before the checks; ``None``: the app's, for a worker.
    task_modules: ClassVar[tuple[str, ...] | None] = None
    #: What importing the task modules did, once ``setUpClass`` has run.
    loaded_task_modules: ClassVar[TaskModules] = TaskModules()
    _conformance_survey: ClassVar[Survey]
    _conformance_restore: ClassVar[Callable[[], None]] = _nothing_to_restore

    @classmethod
    def setUpClass(cls) -> None:
        """Load the task modules, set the app up as a worker, and survey its topology."""
        super().setUpClass()
        names = cls.task_modules
        as_worker = names is None
        if names is None:
            names = task_module_names(cls.app) if cls.is_worker else ()
        cls.loaded_task_modules = load_task_modules(cls.app, names, as_worker)
        cls._conformance_restore = (
            set_up_as_worker(cls.app) if cls.is_worker else _nothing_to_restore
        )
        try:
            cls._conformance_survey = Survey(cls.app)
        except BaseException:
            cls._conformance_undo()
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        """Undo what ``setUpClass`` changed."""
        try:
            cls._conformance_undo()
        finally:
            super().tearDownClass()

    @classmethod
    def _conformance_undo(cls) -> None:
        restore, cls._conformance_restore = cls._conformance_restore, _nothing_to_restore
        restore()

    # -- task modules -------------------------------------------------------------------

    def test_task_modules_import(self) -> None:
        """The app's task modules import, as a starting worker imports them (imports, include)."""
        modules = self.loaded_task_modules
        if not modules.requested:
            self.skipTest(
                "no task modules to import: the suite checks a process that only sends "
                "tasks (is_worker=False), or an app whose imports and include are empty"
            )
        if modules.failed:
            listed = "\n  - ".join(f"{name!r}: {error}" for name, error in modules.failed)
            loaded = f"Loaded: {', '.join(modules.loaded) or 'none'}."
            if not modules.as_worker:
                self.fail(
                    f"{len(modules.failed)} task module(s) named for the check failed to "
                    f"import:\n  - {listed}\nFix the module, or the name given as "
                    f"task_modules (toolbox check --module). {loaded}"
                )
            variable = f"{env_prefix(self.app)}IMPORTS"
            self.fail(
                f"{len(modules.failed)} task module(s) of the app failed to import, so a "
                f"worker would not start, or would run without their tasks:\n  - {listed}\n"
                "Fix the module, or the name in imports/include (Config(imports=(...)) or "
                f"the {variable} variable). {loaded}"
            )

    # -- settings -----------------------------------------------------------------------

    def test_default_queue_is_celery(self) -> None:
        """Tasks without a queue of their own go to the 'celery' queue (task_default_queue)."""
        value = self.app.conf.task_default_queue
        if value != CELERY_QUEUE:
            self.fail(
                f"{_setting('task_default_queue', value)}, not 'celery': Celery's own tasks "
                "(celery.chord_unlock…) and tasks without a route would wait in a queue no "
                "worker of the architecture consumes. Set task_default_queue='celery' "
                f"({_USE_CONFIG} and any CELERY_TASK_DEFAULT_QUEUE variable)."
            )

    def test_task_track_started(self) -> None:
        """Workers report when a task starts (task_track_started)."""
        value = self.app.conf.task_track_started
        if not value:
            self.fail(
                f"{_setting('task_track_started', value)}: workers would not record when a "
                "task starts, so the platform would show it as pending until it ends. Set "
                f"task_track_started=True ({_USE_CONFIG} and any "
                "CELERY_TASK_TRACK_STARTED variable)."
            )

    def test_result_backend_is_database(self) -> None:
        """Results go to the platform's database: Celery's DatabaseBackend (result_backend)."""
        is_database, found = _inspect_result_backend(self.app)
        if not is_database:
            self.fail(
                f"{found}, not Celery's database backend: the platform reads task results "
                "from its PostgreSQL table celery_taskmeta. Remove the result_backend "
                "override (Config builds 'db+postgresql+psycopg2://…' from RESULT_DB_USER, "
                "RESULT_DB_PASS, RESULT_DB_HOST, RESULT_DB_PORT and RESULT_DB_NAME), or set "
                "result_backend='db+postgresql+psycopg2://user:password@host:5432/name'."
            )

    def test_chord_unlock_retries_are_capped(self) -> None:
        """celery.chord_unlock gives up after a number of retries (CHORD_UNLOCK_MAX_RETRIES)."""
        task = self.app.tasks.get(CHORD_UNLOCK_TASK)
        value = getattr(task, "max_retries", None)
        if isinstance(value, int) and not isinstance(value, bool):
            return
        self.fail(
            f"celery.chord_unlock has max_retries={value!r}: a chord whose header never "
            "completes would be polled forever (celery/celery#1700, #2725). Configure the "
            "app with cadasta.workertoolbox.conf.Config: its task_annotations cap the "
            "retries at CHORD_UNLOCK_MAX_RETRIES, so keep the 'celery.chord_unlock' entry "
            "if you give task_annotations yourself; a worker also applies the cap at start "
            "(cadasta.workertoolbox.setup.setup_app)."
        )

    def test_retry_delays_fit_the_visibility_timeout(self) -> None:
        """
        Retries are due within the visibility timeout (default_retry_delay, retry_backoff_max).

        Only transports with a visibility timeout (SQS, Redis) are concerned; ``celery.*``
        tasks retry with delays of their own.
        """
        found = configured_visibility_timeout(self.app)
        if found is None:
            return
        transport, timeout = found
        limit = delay_limit(timeout)
        late = [
            (name, attribute, delay)
            for name in sorted(self.app.tasks)
            if not name.startswith("celery.")
            for attribute, delay in retry_delays(self.app.tasks[name]).items()
            if delay > limit
        ]
        if not late:
            return
        listed = "\n  - ".join(
            f"{name!r}: {attribute}={seconds(delay)}" for name, attribute, delay in late
        )
        shorter = (
            f"Give these tasks retry delays of at most {seconds(limit)} s "
            "(@app.task(default_retry_delay=..., retry_backoff_max=...))"
        )
        longest = max(delay for _, _, delay in late)
        self.fail(
            f"{len(late)} task retry delay(s) exceed the {seconds(limit)} s allowed by "
            f"broker_transport_options['visibility_timeout']={seconds(timeout)} "
            f"({DELAY_SHARE:.0%} of it):\n  - {listed}\nA worker keeps a retry "
            "unacknowledged until it is due and the broker delivers it again after the "
            "visibility timeout, so the task would run more than once; the library refuses "
            "to send such a retry, and the task fails instead. "
            + delay_fix(longest, shorter, transport, env_prefix(self.app))
        )

    # -- topology -----------------------------------------------------------------------

    def test_default_exchange_is_topic(self) -> None:
        """The exchange is a topic exchange (task_default_exchange_type, task_queues)."""
        survey = self._conformance_survey
        problems: list[str] = []
        value = self.app.conf.task_default_exchange_type
        if value != "topic":
            problems.append(
                f"{_setting('task_default_exchange_type', value)}: only a topic exchange "
                "delivers a task both to its work queue and, through the key '#', to the "
                f"monitor queue. Set task_default_exchange_type='topic' ({_USE_CONFIG})."
            )
        wrong = [b for b in survey.topology.bindings if b.exchange_type != "topic"]
        if wrong:
            listed = "; ".join(f"{b.queue!r} to {b}" for b in wrong)
            problems.append(
                f"task_queues binds {listed}: every queue must be bound to the topic "
                f"exchange {survey.exchange!r} (task_default_exchange). "
                f"{_REBUILD_QUEUES}, or declare each queue on "
                f"Exchange({survey.exchange!r}, type='topic')."
            )
        if problems:
            self.fail("\n".join(problems))

    def test_platform_queue_receives_every_task(self) -> None:
        """The monitor queue (PLATFORM_QUEUE_NAME) is in task_queues, bound with '#'."""
        survey = self._conformance_survey
        name = survey.monitor
        if name not in survey.topology.queue_names:
            self.fail(
                f"task_queues declares no queue {name!r} (PLATFORM_QUEUE_NAME, "
                f"{DEFAULT_PLATFORM_QUEUE!r} when unset): the platform's monitor would see "
                f"no task. Declared queues: {_listed(survey.topology.queue_names)}. "
                f"{_REBUILD_QUEUES}, or add Queue({name!r}, "
                f"Exchange({survey.exchange!r}, type='topic'), routing_key='#') to "
                "task_queues."
            )
        bindings = survey.topology.bindings_of(name)
        if not any(b.exchange == survey.exchange and b.key == "#" for b in bindings):
            found = ", ".join(str(b) for b in bindings) or "no exchange"
            self.fail(
                f"The monitor queue {name!r} (PLATFORM_QUEUE_NAME) is bound to {found}, not "
                f"to the exchange {survey.exchange!r} (task_default_exchange) with the key "
                f"'#': it would not get a copy of every task. {_REBUILD_QUEUES}, or bind "
                f"the queue with routing_key='#' on Exchange({survey.exchange!r}, "
                "type='topic') in task_queues."
            )

    def test_each_work_queue_receives_its_tasks(self) -> None:
        """For each of QUEUES, '<queue>.<name>' reaches that queue and the monitor only."""
        survey = self._conformance_survey
        problems = []
        for queue in survey.work_queue_names():
            expected = frozenset({queue, survey.monitor})
            route = survey.route(_PROBE_TASK.format(queue=queue))
            if route.destinations != expected:
                problems.append(
                    f"tasks named '{queue}.*' go to {route} and reach "
                    f"{_listed(route.destinations)}, not {_listed(expected)}"
                )
        if problems:
            self.fail(
                f"{len(problems)} queue(s) of QUEUES would not receive their tasks:\n  - "
                + "\n  - ".join(problems)
                + "\nThe router (task_routes) must take the routing key from the first "
                "dot-segment of the task name, and task_queues must bind each queue of "
                "QUEUES with its own name as key and the monitor queue with '#', on the "
                f"topic exchange task_default_exchange. {_REBUILD_QUEUES}."
            )

    def test_celery_routing_key_reaches_celery_queue(self) -> None:
        """Routing key 'celery' reaches the 'celery' queue and the monitor only."""
        survey = self._conformance_survey
        expected = frozenset({CELERY_QUEUE, survey.monitor})
        found = survey.topology.destinations(survey.exchange, CELERY_QUEUE)
        if found != expected:
            self.fail(
                f"A message published to {describe_target(survey.exchange, CELERY_QUEUE)} "
                f"(task_default_exchange) reaches {_listed(found)}, not {_listed(expected)}: "
                "Celery's own tasks would not be run, or not be seen by the platform. "
                f"{_REBUILD_QUEUES}, or declare Queue('celery', "
                f"Exchange({survey.exchange!r}, type='topic'), routing_key='celery') "
                "in task_queues."
            )

    def test_chord_unlock_reaches_celery_queue(self) -> None:
        """celery.chord_unlock reaches the 'celery' queue and the monitor only."""
        survey = self._conformance_survey
        expected = frozenset({CELERY_QUEUE, survey.monitor})
        route = survey.route(CHORD_UNLOCK_TASK)
        if route.destinations != expected:
            self.fail(
                f"celery.chord_unlock goes to {route} and reaches "
                f"{_listed(route.destinations)}, not {_listed(expected)}: chords would "
                "never complete, or the platform would not see them. The router "
                "(task_routes) must route celery.* tasks with the routing key 'celery'. "
                f"{_REBUILD_QUEUES}."
            )

    def test_every_task_reaches_a_work_queue(self) -> None:
        """Every task registered outside celery.* reaches a work queue, not only the monitor."""
        survey = self._conformance_survey
        names = [name for name in sorted(self.app.tasks) if not name.startswith("celery.")]
        if not names:
            self.skipTest(
                "the app has no task outside celery.*, so no task was checked "
                f"({self.loaded_task_modules.describe()}). A worker's suite loads its "
                "task modules from imports and include: name them there, or pass "
                "task_modules=(...) to build_functional_tests."
            )
        stranded = []
        for name in names:
            route = survey.route(name)
            if not route.destinations - {survey.monitor}:
                stranded.append((name, route))
        if stranded:
            self.fail(stranded_message(survey, stranded))


def stranded_message(survey: Survey, stranded: Iterable[tuple[str, Route | RoutingFailure]]) -> str:
    """
    Say which tasks reach no work queue, where they go, and what to change.

    Shared by :meth:`ConformanceChecks.test_every_task_reaches_a_work_queue` and the
    pytest plugin's recorder of sent tasks (:mod:`cadasta.workertoolbox.testing`).
    """
    pairs = list(stranded)
    listed = "\n  - ".join(
        f"{name!r} goes to {route}, which reaches {_listed(route.destinations)} of the app's queues"
        for name, route in pairs
    )
    declared = {"", *survey.topology.queue_names}
    missing = sorted({route.routing_key for _, route in pairs} - declared)
    return (
        f"{len(pairs)} task(s) reach no work queue of QUEUES, so no worker would "
        f"ever run them:\n  - {listed}\nThe router declares a queue named after an "
        "unknown routing key when it first sends such a task, so the message waits "
        "there, but no worker started with the app's QUEUES consumes it, and setup_app "
        f"and `celery toolbox declare` do not create it. Add the missing queue(s) "
        f"{_listed(missing)} to QUEUES "
        "(Config(QUEUES=[...]) or the CELERY_QUEUES variable) of every process that "
        "sends or runs these tasks, or name the tasks after a queue of QUEUES "
        f"({_listed(survey.work_queue_names())})."
    )


_DATABASE_BACKEND = "celery.backends.database.DatabaseBackend"


def _inspect_result_backend(app: Any) -> tuple[bool, str]:
    """
    Tell whether *app*'s result backend is Celery's database backend, and show it.

    The backend class is looked up as Celery does (``by_url``), but not instantiated:
    nothing connects. A backend Celery's aliases name as ``DatabaseBackend`` is known
    without importing SQLAlchemy, which takes longer than all the checks together;
    another class can derive from ``DatabaseBackend`` only once its module is imported.
    Only masked values leave this function.
    """
    from celery.app.backends import BACKEND_ALIASES, by_url
    from celery.utils.imports import load_extension_class_names

    spec = app.backend_cls or app.conf.result_backend
    setting = "Celery(backend=...)" if app.backend_cls else "result_backend"
    shown = _setting(setting, spec)
    name = spec
    if isinstance(spec, str) and "://" in spec:
        name = spec.partition("://")[0].split("+", 1)[0]
    aliases = {
        **BACKEND_ALIASES,
        **app.loader.override_backends,
        **dict(load_extension_class_names("celery.result_backends")),
    }
    if (
        isinstance(name, str)
        and str(aliases.get(name, name)).replace(":", ".") == _DATABASE_BACKEND
    ):
        return True, f"{shown} selects {_DATABASE_BACKEND}"
    try:
        backend_class, _ = by_url(spec, app.loader)
    except Exception as error:
        return False, f"{shown} names no backend Celery can load ({type(error).__name__})"
    if not isinstance(backend_class, type):
        return False, f"{shown} names a {type(backend_class).__name__}, not a backend class"
    database = sys.modules.get("celery.backends.database")
    is_database = database is not None and issubclass(backend_class, database.DatabaseBackend)
    return is_database, f"{shown} selects {backend_class.__module__}.{backend_class.__qualname__}"


def build_functional_tests(
    app: Celery, is_worker: bool = True, task_modules: Iterable[str] | None = None
) -> type[unittest.TestCase]:
    """
    Build the test case that checks *app* against the architecture.

    Bind the result to a name in a test module, or subclass it to add tests::

        from cadasta.workertoolbox.tests import build_functional_tests

        from .celery import app

        FunctionalTests = build_functional_tests(app)

    and run it with ``pytest`` or ``python -m unittest path/to/tests.py``. Each check is
    a test method whose failure says what is wrong and which setting fixes it. No
    broker is needed and nothing connects: routes come from the app's router, the
    queues they reach from the bindings the app declares.

    Args:
        app: A configured Celery app.
        is_worker: Set the app up as a worker's start does before the checks: import
            its task modules (``imports`` and ``include``), so that the checks see the
            tasks a worker runs, and cap ``celery.chord_unlock`` retries (undone after
            the checks). Use ``False`` for a process that only sends tasks.
        task_modules: The modules to import instead of the app's ``imports`` and
            ``include`` (for a process that only sends tasks, the modules that define
            the tasks it sends).

    Returns:
        A :class:`unittest.TestCase` subclass named ``FunctionalTests``, with ``app``
        and ``is_worker`` as class attributes. A subclass overriding ``setUpClass`` or
        ``tearDownClass`` must call ``super()``.

    .. versionadded:: 1.0
       *is_worker*, *task_modules*; no broker needed; task modules imported.

    """
    # Like collections.namedtuple: report the class under the module that built it.
    module = sys._getframe(1).f_globals.get("__name__", __name__)
    namespace = {
        "__module__": module,
        "__qualname__": "FunctionalTests",
        "__doc__": f"Conformance of {app!r} to the Cadasta asynchronous architecture.",
        "app": app,
        "is_worker": is_worker,
        "task_modules": None if task_modules is None else tuple(task_modules),
    }
    test_case = type("FunctionalTests", (ConformanceChecks, unittest.TestCase), namespace)
    return cast("type[unittest.TestCase]", test_case)

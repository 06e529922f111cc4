"""
The internals of Celery, kombu, SQLAlchemy and sentry-sdk the library relies on.

README's "Dependency internals we rely on" lists each with where it is used and what
breaks when the dependency changes it; the test of each here fails when the assumption
stops holding, so that an upgrade that breaks one says which, before a user finds out.
Each test checks the behaviour relied on, not only that a name exists.
"""

from __future__ import annotations

import inspect
import string
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery import Celery
from celery.app.task import Task
from hypothesis import given, settings
from hypothesis import strategies as st
from kombu import Connection, Exchange, Producer, Queue
from kombu.transport import SQS, virtual

from cadasta.workertoolbox.config._validation import sqs_queue_name
from cadasta.workertoolbox.conformance._routing import _resolve
from cadasta.workertoolbox.conformance._topology import exchange_name

# -- Celery: the conformance suite's copy of send_task_message's choice ------------------


class _RecordingProducer(Producer):
    """A kombu producer that notes the exchange and routing key of each publish, then publishes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.targets: list[tuple[str, str]] = []

    def publish(self, body: Any, *args: Any, **kwargs: Any) -> Any:
        """Note where Celery publishes *body*, then publish it on kombu's memory broker."""
        assert not args  # Celery passes everything but the body by keyword
        self.targets.append(
            (exchange_name(kwargs.get("exchange")), kwargs.get("routing_key") or "")
        )
        return super().publish(body, **kwargs)


@pytest.fixture
def producer() -> Iterator[_RecordingProducer]:
    """A recording producer on plain kombu's memory transport (not the library's)."""
    with Connection("memory://") as connection:
        yield _RecordingProducer(connection.default_channel)


def _config_app(make_app: Callable[..., Celery]) -> Celery:
    return make_app()


def _plain_app(make_app: Callable[..., Celery]) -> Celery:
    return Celery("plain", set_as_current=False, broker="memory://")


def _topic_app(make_app: Callable[..., Celery]) -> Celery:
    app = Celery("topic", set_as_current=False, broker="memory://")
    exchange = Exchange("tx", type="topic")
    app.conf.update(
        task_default_exchange="tx",
        task_default_exchange_type="topic",
        task_default_routing_key="tasks.default",
        task_queues=[
            Queue("celery", exchange, routing_key="tasks.#"),
            Queue("keyless", exchange),
            Queue("wide", Exchange("fan", type="fanout")),
            Queue("direct", Exchange("dx", type="direct"), routing_key="d"),
        ],
    )
    return app


_APPS = {"config": _config_app, "plain": _plain_app, "topic": _topic_app}

#: Routes through the app's router: task_routes entries and apply_async options.
_ROUTED = [
    ("export.render", {}, {}),
    ("celery.chord_unlock", {}, {}),
    ("unknown.task", {}, {}),
    ("export.render", {}, {"queue": "msg"}),
    ("export.render", {}, {"queue": "celery"}),
    ("export.render", {}, {"queue": "not_declared"}),
    ("export.render", {}, {"queue": Queue("elsewhere", Exchange("other", "direct"), "k")}),
    ("export.render", {}, {"queue": Queue("own", Exchange("other", "topic"), "k")}),
    ("export.render", {}, {"routing_key": "msg"}),
    ("export.render", {}, {"exchange": "task_exchange", "routing_key": "msg"}),
    ("export.render", {}, {"exchange": Exchange("task_exchange", "topic"), "routing_key": "m"}),
    ("export.render", {}, {"exchange": "task_exchange"}),
    ("export.render", {}, {"exchange": "", "routing_key": "celery"}),
    ("export.render", {}, {"exchange_type": "topic", "exchange": "tx", "routing_key": "r"}),
    ("export.render", {}, {"exchange_type": "direct", "routing_key": "r"}),
    ("a.t", {"a.t": {"queue": "celery"}}, {}),
    ("a.t", {"a.t": "celery"}, {}),
    ("a.t", {"a.t": {"queue": "fresh"}}, {}),
    ("a.t", {"a.t": {"routing_key": "r"}}, {}),
    ("a.t", {"a.t": {"exchange": "ex", "routing_key": "r"}}, {}),
    ("a.t", {"a.t": {"exchange": "ex"}}, {}),
    ("a.t", {"a.t": {"queue": Queue("q", Exchange("e", "topic"), routing_key="z")}}, {}),
    ("a.t", {"a.t": {"queue": "celery", "routing_key": "over"}}, {}),
]

#: Options handed to send_task_message as they are (no router), for the branches the
#: router never reaches: no queue and no exchange, queues with keyless exchanges.
_DIRECT = [
    {},
    {"exchange": "ex", "routing_key": "k"},
    {"exchange": "ex"},
    {"exchange": Exchange("ex", "topic")},
    {"exchange": Exchange("ex", "topic"), "exchange_type": "topic"},
    {"queue": Queue("q", Exchange("e", "topic"))},
    {"queue": Queue("q", Exchange("e", "topic"), routing_key="rk")},
    {"queue": Queue("q", Exchange("e", "topic"), routing_key="rk"), "exchange_type": "direct"},
    {"queue": Queue("q", Exchange("e", "direct"), routing_key="rk")},
    {"queue": Queue("q", Exchange("e", "direct")), "exchange": "e", "routing_key": "rk"},
    {"queue": Queue("q", Exchange("", "direct"))},
    {"queue": Queue("q", Exchange("f", "fanout"))},
    {"queue": Queue("q", Exchange("e", "topic")), "routing_key": "given"},
    {"queue": Queue("q", Exchange("e", "topic")), "exchange": "x", "routing_key": ""},
]


@pytest.mark.parametrize("kind", sorted(_APPS))
@pytest.mark.parametrize(("task", "routes", "options"), _ROUTED)
def test_resolve_matches_a_real_publish_through_the_router(
    make_app: Callable[..., Celery],
    producer: _RecordingProducer,
    kind: str,
    task: str,
    routes: dict[str, Any],
    options: dict[str, Any],
) -> None:
    """
    ``_resolve`` gives the exchange and routing key Celery's ``send_task`` publishes with.

    Guards ``conformance._routing._resolve``, a copy of how Celery's
    ``AMQP.send_task_message`` picks them, against a publish through Celery and kombu.
    """
    app = _APPS[kind](make_app)
    if routes:
        app.conf.task_routes = routes
    route = app.amqp.router.route(dict(options), task, args=(), kwargs={}, task_type=None)
    expected = _resolve(app, route)
    app.send_task(task, producer=producer, **options)
    assert producer.targets == [expected]


@pytest.mark.parametrize("kind", sorted(_APPS))
@pytest.mark.parametrize("options", _DIRECT)
def test_resolve_matches_send_task_message(
    make_app: Callable[..., Celery],
    producer: _RecordingProducer,
    kind: str,
    options: dict[str, Any],
) -> None:
    """``_resolve`` agrees with Celery's ``send_task_message`` on options no router made."""
    app = _APPS[kind](make_app)
    expected = _resolve(app, dict(options))
    message = app.amqp.create_task_message("an-id", "export.render")
    app.amqp.send_task_message(producer, "export.render", message, **options)
    assert producer.targets == [expected]


# -- kombu's SQS transport --------------------------------------------------------------


@pytest.fixture(scope="module")
def sqs_channel_for() -> Iterator[Callable[[str], Any]]:
    """Return kombu's own SQS channel for a queue_name_prefix; nothing connects."""
    channels: dict[str, Any] = {}
    connections: list[Connection] = []

    def channel_for(prefix: str) -> Any:
        if prefix not in channels:
            queue = {"url": "https://sqs.us-east-1.amazonaws.com/1/x", "access_key_id": "a"}
            options = {
                "predefined_queues": {"x": {**queue, "secret_access_key": "b"}},
                "queue_name_prefix": prefix,
                "region": "us-east-1",
            }
            connection = Connection("sqs://", transport=SQS.Transport, transport_options=options)
            connections.append(connection)
            channels[prefix] = connection.channel()
        return channels[prefix]

    yield channel_for
    for connection in connections:
        connection.release()


_NAME_CHARACTERS = string.ascii_letters + string.digits + string.punctuation + " éß"


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from(["", "dev-", "prod_", "t.1-", "a:b/", "x.fifo"]),
    name=st.one_of(
        st.text(_NAME_CHARACTERS, max_size=30),
        st.text(_NAME_CHARACTERS, max_size=20).map(lambda text: f"{text}.fifo"),
    ),
)
def test_sqs_queue_name_is_kombus_mapping(
    sqs_channel_for: Callable[[str], Any], prefix: str, name: str
) -> None:
    """
    ``sqs_queue_name`` names queues as kombu's SQS channel (``canonical_queue_name``) does.

    Guards the library's copy of kombu's mapping (``CHARS_REPLACE_TABLE``,
    ``Channel.entity_name``), which the configuration checks and ``celery toolbox show``
    use without importing kombu's SQS transport.
    """
    assert sqs_queue_name(prefix, name) == sqs_channel_for(prefix).canonical_queue_name(name)


def test_sqs_channel_methods_the_publish_path_calls() -> None:
    """
    Kombu's SQS channel has the methods ``publish.sqs.Channel`` calls or overrides.

    Guards ``_new_queue``, ``sqs``, ``_new_boto_client(config=)``, ``_get_bulk``,
    ``_on_messages_ready``, ``canonical_queue_name`` and the properties read
    (``wait_time_seconds``, ``sqs_base64_encoding``, ``predefined_queues``, ``region``,
    ``conninfo``): a renamed one or a changed signature leaves an override unused or a
    call failing.
    """
    parameters = {
        name: list(inspect.signature(getattr(SQS.Channel, name)).parameters)
        for name in ("_new_queue", "sqs", "_new_boto_client", "_get_bulk", "_on_messages_ready")
    }
    assert parameters["_new_queue"][:2] == ["self", "queue"]
    assert parameters["sqs"] == ["self", "queue"]
    assert {"service", "region", "access_key_id", "secret_access_key", "config"} <= set(
        parameters["_new_boto_client"]
    )
    assert parameters["_get_bulk"][:2] == ["self", "queue"]
    assert parameters["_on_messages_ready"] == ["self", "queue", "qname", "messages"]
    for name in ("wait_time_seconds", "sqs_base64_encoding", "predefined_queues", "region"):
        assert name in vars(SQS.Channel), name
    assert "conninfo" in dir(virtual.Channel) or hasattr(SQS.Channel, "conninfo")
    assert isinstance(SQS.Channel.default_wait_time_seconds, int)


def test_sqs_polls_read_the_channels_wait_time_and_ready_callback() -> None:
    """
    The SQS polls of kombu go through the methods the library overrides.

    kombu's blocking poll reads ``self.wait_time_seconds``; its asynchronous poll answers
    through ``self._on_messages_ready``.

    Guards the library's overrides: the shorter wait while queues take turns, and the
    answer that is not a dictionary taken as an empty one.
    """
    assert "self.wait_time_seconds" in inspect.getsource(SQS.Channel._get_bulk)
    assert "self._on_messages_ready" in inspect.getsource(SQS.Channel._get_async)
    assert "self._get_bulk, self._active_queues" in inspect.getsource(SQS.Channel._reset_cycle)


def test_sqs_message_body_is_base64_of_asyncmessage() -> None:
    """``AsyncMessage().encode`` is the base64 kombu sends as an SQS body (``message_size``)."""
    import base64

    from kombu.asynchronous.aws.sqs.message import AsyncMessage

    body = '{"é": 1}'
    assert AsyncMessage().encode(body) == base64.b64encode(body.encode()).decode()


# -- kombu's virtual channel: the fan-out send path ----------------------------------------


@pytest.fixture
def memory_channel(memory_queues: dict[str, Any]) -> Iterator[Any]:
    """Plain kombu's memory channel, with a topic exchange and two bound queues."""
    with Connection("memory://") as connection:
        channel = connection.default_channel
        exchange = Exchange("tx", "topic")
        for name, key in (("work", "work"), ("monitor", "#")):
            Queue(name, exchange, routing_key=key).bind(channel).declare()
        yield channel


def test_virtual_channel_routing_state(memory_channel: Any) -> None:
    """
    A virtual channel's routing state answers as the fan-out path reads it.

    ``state.exchanges``, ``get_table``, ``typeof(...).lookup`` and ``_lookup`` answer as the
    fan-out path (``publish._fanout``) reads them; ``deadletter_queue`` is unset by default.
    """
    assert memory_channel.state.exchanges["tx"]["type"] == "topic"
    table = memory_channel.get_table("tx")
    assert {(key, queue) for key, _, queue in table} == {("work", "work"), ("#", "monitor")}
    found = memory_channel.typeof("tx").lookup(table, "tx", "work", None)
    assert set(found) == {"work", "monitor"}
    assert set(memory_channel._lookup("tx", "other")) == {"monitor"}
    assert memory_channel.deadletter_queue is None


def test_virtual_channel_publish_is_augment_then_put(memory_channel: Any) -> None:
    """
    A virtual channel publishes as augment-then-put, as the fan-out path does.

    kombu publishes to an exchange as the fan-out path does: ``_inplace_augment_message``,
    then one ``_put`` per queue; a queue reads what ``_put`` stored.

    Guards ``FanOutChannel.basic_publish``, which replaces kombu's loop for topic
    exchanges but keeps its message.
    """
    message = memory_channel.prepare_message("body", headers={"id": "1"})
    memory_channel.basic_publish(message, "tx", "work")
    by_kombu = memory_channel._get("work")
    copy = memory_channel.prepare_message("body", headers={"id": "1"})
    memory_channel._inplace_augment_message(copy, "tx", "work")
    memory_channel._put("work", copy)
    ours = memory_channel._get("work")
    for received in (by_kombu, ours):
        received["properties"].pop("delivery_tag")
    assert ours == by_kombu
    assert ours["properties"]["delivery_info"] == {"exchange": "tx", "routing_key": "work"}
    assert list(inspect.signature(virtual.Channel.basic_publish).parameters) == [
        "self",
        "message",
        "exchange",
        "routing_key",
        "kwargs",
    ]


# -- Celery --------------------------------------------------------------------------------


def test_celery_option_types_cover_every_setting() -> None:
    """
    Celery's option table gives the type of every setting.

    ``flatten(NAMESPACES)`` yields each Celery setting with an ``Option`` whose ``type``
    names its kind (``config._unclaimed.celery_option_types``, which checks keyword types).
    """
    from celery.app.defaults import DEFAULTS, NAMESPACES, flatten

    from cadasta.workertoolbox.config._unclaimed import (
        CELERY_TYPE_DEFAULTS as _CELERY_TYPE_DEFAULTS,
    )

    types = {name: option.type for name, option in flatten(NAMESPACES)}
    assert set(types) == set(DEFAULTS)
    assert types["broker_transport_options"] == "dict"
    assert types["task_default_queue"] == "string"
    assert types["worker_prefetch_multiplier"] == "int"
    assert set(_CELERY_TYPE_DEFAULTS) <= set(types.values())


def test_filter_hidden_settings_masks_secrets() -> None:
    """``filter_hidden_settings`` masks a password in a URL and a secret-looking name."""
    from celery.app.utils import filter_hidden_settings

    shown = filter_hidden_settings(
        {"broker_url": "amqp://user:pw@host//", "SECRET_KEY": "s", "queues": "q"}
    )
    assert "pw" not in str(shown["broker_url"])
    assert shown["SECRET_KEY"] != "s"
    assert shown["queues"] == "q"


def test_backend_lookup_without_instantiating() -> None:
    """
    Celery finds a backend class from a URL without creating the backend.

    ``BACKEND_ALIASES``, ``by_url`` and ``loader.override_backends`` find the database
    backend's class from a URL without creating it (the conformance suite's check).
    """
    from celery.app.backends import BACKEND_ALIASES, by_url
    from celery.backends.database import DatabaseBackend
    from celery.utils.imports import load_extension_class_names

    app = Celery("backends", set_as_current=False)
    assert BACKEND_ALIASES["db"] == "celery.backends.database:DatabaseBackend"
    assert isinstance(app.loader.override_backends, dict)
    assert isinstance(list(load_extension_class_names("celery.result_backends")), list)
    backend_class, url = by_url("db+postgresql+psycopg2://u@h/d", app.loader)
    assert backend_class is DatabaseBackend
    assert url == "postgresql+psycopg2://u@h/d"


def test_chord_unlock_class_is_per_app_and_retries_forever() -> None:
    """
    The ``celery.chord_unlock`` task class is per app and retries forever.

    Each app's ``celery.chord_unlock`` has a class of its own, with ``max_retries=None``
    and Task's ``on_failure``, which instances read from the class.

    Guards ``_chord_unlock.apply_cap``, which sets both on that class: a class shared
    between apps would cap every app; a default other than ``None`` means the premise
    (Celery retries forever) changed.
    """
    first, second = (Celery(name, set_as_current=False) for name in ("one", "two"))
    task_one = first.tasks["celery.chord_unlock"]
    task_two = second.tasks["celery.chord_unlock"]
    assert type(task_one) is not type(task_two)
    assert type(task_one).max_retries is None
    assert type(task_one).on_failure is Task.on_failure
    type(task_one).max_retries = 3
    assert (task_one.max_retries, task_two.max_retries) == (3, None)


def test_celery_state_functions() -> None:
    """
    Celery's process state can be saved and restored.

    ``celery._state``'s private setters and ``_tls.current_app`` round-trip, as the thread
    worker (``testing._worker``, ``demo._worker``) saves and restores them.
    """
    from celery import _state

    app = Celery("state", set_as_current=False)
    saved = (_state._tls.current_app, _state.task_join_will_block(), _state.default_app)
    try:
        _state._set_current_app(app)
        assert _state._tls.current_app is app
        _state._set_task_join_will_block(True)
        assert _state.task_join_will_block() is True
        _state.set_default_app(app)
        assert _state.default_app is app
    finally:
        _state._set_current_app(saved[0])
        _state._set_task_join_will_block(saved[1])
        _state.set_default_app(saved[2])


def test_worker_should_stop_asks_for_a_warm_shutdown() -> None:
    """
    ``celery.worker.state.should_stop = 0`` makes the worker's loops stop (``maybe_shutdown``).

    Guards how the thread workers of the pytest plugin and the demo are stopped.
    """
    from celery.exceptions import WorkerShutdown
    from celery.worker import loops, state

    assert state.should_stop is None
    assert "maybe_shutdown" in inspect.getsource(loops)
    state.should_stop = 0
    try:
        with pytest.raises(WorkerShutdown):
            state.maybe_shutdown()
    finally:
        state.should_stop = None
    state.maybe_shutdown()


def test_celerys_own_task_sender_and_its_lookup(producer: _RecordingProducer) -> None:
    """
    Celery's own task sender can be wrapped on an app's ``AMQP`` instance.

    ``AMQP._create_task_sender()`` returns Celery's sender, and ``send_task`` looks up
    ``amqp.send_task_message`` on each call, so one set on the instance is used.

    Guards ``testing._sent.recording_sends``.
    """
    app = Celery("sender", set_as_current=False, broker="memory://")
    sender = app.amqp._create_task_sender()
    assert list(inspect.signature(sender).parameters)[:3] == ["producer", "name", "message"]
    calls: list[str] = []

    def recorder(producer: Any, name: str, message: Any, **options: Any) -> Any:
        calls.append(name)
        return sender(producer, name, message, **options)

    app.amqp.send_task_message = recorder
    app.send_task("a.task", producer=producer)
    assert calls == ["a.task"]
    assert producer.targets == [("", "celery")]


def test_app_caches_the_live_fixtures_drop() -> None:
    """
    An app caches what the live fixtures drop where they look for it.

    An app keeps its pool in ``_pool``, its producer pool in ``amqp._producer_pool``, its
    backend in ``_backend_cache`` (thread-safe) or ``_local.backend``, and the database
    backend its engines in ``session_manager._engines``.

    Guards ``testing._live._drop_built_state``, which forgets them to re-point an app.
    """
    app = Celery("cached", set_as_current=False, broker="memory://", backend="cache+memory://")
    assert app._pool is None
    assert app.pool is app._pool
    assert app.amqp.producer_pool is app.amqp._producer_pool
    backend = app.backend
    assert backend is (app._backend_cache if backend.thread_safe else app._local.backend)
    app._pool.force_close_all()
    from celery.backends.database.session import SessionManager

    manager = SessionManager()
    manager.forked = True  # as in a worker's child process, where engines are kept
    engine = manager.get_engine("sqlite://")
    assert manager._engines == {"sqlite://": engine}
    engine.dispose()


def test_router_adds_missing_queues_at_the_end() -> None:
    """
    Celery's router appends the queues it creates to ``amqp.queues``.

    Celery's router adds a queue it does not know to ``amqp.queues``, after the others,
    and changes nothing else (``conformance._routing._no_queues_added`` removes it).
    """
    app = Celery("router", set_as_current=False)
    before = dict(app.amqp.queues)
    app.amqp.router.route({"queue": "fresh"}, "a.task")
    assert list(app.amqp.queues) == [*before, "fresh"]
    assert {name: app.amqp.queues[name] for name in before} == before


# -- SQLAlchemy -----------------------------------------------------------------------------


def test_identifier_preparer_quotes_for_postgresql() -> None:
    """
    SQLAlchemy's PostgreSQL preparer quotes as PostgreSQL reads identifiers.

    ``PGDialect(paramstyle="named").identifier_preparer.quote_identifier`` double-quotes,
    doubles ``"`` and leaves ``%`` alone (``resultdb._sql.quote``).
    """
    from sqlalchemy.dialects.postgresql.base import PGDialect

    preparer = PGDialect(paramstyle="named").identifier_preparer  # type: ignore[no-untyped-call]
    assert preparer.quote_identifier('a"b%c') == '"a""b%c"'
    assert preparer.quote_identifier("user") == '"user"'


@pytest.fixture
def restored_celery_models() -> Iterator[None]:
    """Celery's result models as they were: ``configure`` changes them for the process."""
    from celery.backends.database.models import Task as TaskModel
    from celery.backends.database.models import TaskSet

    saved = [
        (m.__table__.name, m.__table__.schema, m.id.default.schema) for m in (TaskModel, TaskSet)
    ]
    yield
    for model, (name, schema, sequence_schema) in zip((TaskModel, TaskSet), saved, strict=True):
        model.__table__.name, model.__table__.schema = name, schema
        model.id.default.schema = sequence_schema


@pytest.mark.parametrize("configured", [False, True])
def test_result_tables_copy_as_celery_places_them(
    restored_celery_models: None, configured: bool
) -> None:
    """
    The provisioned result tables are Celery's, placed in the schema.

    The provisioning copy of Celery's result tables (``to_metadata(name=…)``, then
    ``schema`` set on the table and its sequence) gives the DDL Celery's own
    ``configure(schema=…)`` gives: same names, indexes and sequences.

    Guards ``provisioning._result_objects``; it holds whether or not Celery's models were
    configured with other names earlier in the process.
    """
    from celery.backends.database.models import Task as TaskModel
    from celery.backends.database.models import TaskSet
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex, CreateSequence, CreateTable

    from cadasta.workertoolbox.resultdb._provision import _result_objects

    def ddl(tables: Any) -> list[str]:
        dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
        out = []
        for table in tables:
            out.append(str(CreateTable(table).compile(dialect=dialect)))
            out += sorted(str(CreateIndex(i).compile(dialect=dialect)) for i in table.indexes)
            out.append(str(CreateSequence(table.c.id.default).compile(dialect=dialect)))
        return out

    if configured:
        TaskModel.configure(schema="elsewhere", name="renamed")
        TaskSet.configure(schema="elsewhere", name="renamed_sets")
    _, tables, sequences = _result_objects("results")
    TaskModel.configure(schema="results")
    TaskSet.configure(schema="results")
    assert ddl(tables) == ddl([TaskModel.__table__, TaskSet.__table__])
    assert sequences == ("task_id_sequence", "taskset_id_sequence")


# -- sentry-sdk -----------------------------------------------------------------------------


def test_sentry_dsn_parser() -> None:
    """``sentry_sdk.utils.Dsn`` accepts a DSN and raises ``ValueError`` for another text."""
    utils = pytest.importorskip("sentry_sdk.utils")
    utils.Dsn("https://key@sentry.example.org/1")
    with pytest.raises(ValueError, match=r"(?i)dsn|scheme"):
        utils.Dsn("not a dsn")

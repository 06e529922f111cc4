from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from celery import Celery, _state
from celery.app.amqp import AMQP

from cadasta.workertoolbox._delivery import (
    GuardedTaskRouter,
    at_least_once_problems,
    configured_visibility_timeout,
    delay_fix,
    delay_limit,
    guard_app,
    is_guarded,
    refuse_late_message,
    retry_delays,
    seconds,
    visibility_timeout,
)
from cadasta.workertoolbox._routing import TaskRouter
from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.exceptions import ConfigError, VisibilityTimeoutError

#: An SQS broker nothing listens on: a refused task never reaches it.
SQS_URL = "sqs://key:secret@127.0.0.1:1"
SHORTER = "Send it sooner"


def producer_on(driver_type: str, **options: Any) -> Any:
    """A stand-in for a kombu producer whose connection uses *driver_type* and *options*."""
    transport = SimpleNamespace(driver_type=driver_type)
    return SimpleNamespace(
        connection=SimpleNamespace(transport=transport, transport_options=options)
    )


def message_due(eta: Any, protocol: int = 2) -> Any:
    """A task message due at *eta*, in Celery's message protocol *protocol*."""
    if protocol == 1:
        return SimpleNamespace(headers={}, body={"eta": eta})
    return SimpleNamespace(headers={"eta": eta}, body=((), {}, {}))


def noop() -> None:
    """Do nothing: the body of the tasks the tests register."""


def in_seconds(app: Celery, delay: float) -> str:
    """The ISO 8601 time *delay* seconds from now, as Celery puts it in a message."""
    return (app.now() + timedelta(seconds=delay)).isoformat()


# -- the visibility timeout --------------------------------------------------------------


@pytest.mark.parametrize(
    ("transport", "options", "expected"),
    [
        ("sqs", {"visibility_timeout": 3600}, 3600.0),
        ("SQS", {"visibility_timeout": "60"}, 60.0),
        ("sqs", {}, 1800.0),
        ("sqs", {"visibility_timeout": None}, 1800.0),
        ("sqs", {"visibility_timeout": ""}, 1800.0),
        ("sqs", None, 1800.0),
        ("redis", {}, 3600.0),
        ("rediss", {"visibility_timeout": 7200}, 7200.0),
        ("sentinel", {}, 3600.0),
        ("amqp", {"visibility_timeout": 5}, None),
        ("memory", {}, None),
        (None, {}, None),
    ],
)
def test_visibility_timeout_of_a_transport(
    transport: str | None, options: dict[str, Any] | None, expected: float | None
) -> None:
    """SQS and Redis have a visibility timeout (kombu's default when unset); others none."""
    assert visibility_timeout(transport, options) == expected


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        pytest.param({"broker_url": SQS_URL}, ("sqs", 3600.0), id="config-default"),
        pytest.param(
            {"broker_url": SQS_URL, "broker_transport_options": {"visibility_timeout": 60}},
            ("sqs", 60.0),
            id="config-given",
        ),
        pytest.param({}, ("sqs", 3600.0), id="transport-without-url"),
        pytest.param({"broker_url": "redis://localhost:1/0"}, ("redis", 3600.0), id="redis"),
        pytest.param({"broker_url": "memory://"}, None, id="memory"),
        pytest.param({"broker_url": "amqp://guest@localhost//"}, None, id="amqp"),
    ],
)
def test_configured_visibility_timeout(
    make_config: Callable[..., Config], settings: dict[str, Any], expected: Any
) -> None:
    """The transport comes from broker_transport, else the URL's scheme; nothing connects."""
    app = Celery("configured", set_as_current=False)
    app.config_from_object(make_config(**settings))
    assert configured_visibility_timeout(app) == expected


def test_plain_celery_app_uses_amqp_without_visibility_timeout() -> None:
    """An app without a broker URL uses Celery's default, AMQP, which has no timeout."""
    app = Celery("plain", set_as_current=False)
    assert configured_visibility_timeout(app) is None


def test_limit_is_ninety_percent_and_seconds_are_shown_briefly() -> None:
    """A delay may use 90 % of the timeout; seconds are shown with at most one decimal."""
    assert delay_limit(3600) == 3240
    assert [seconds(v) for v in (3240.0, 2.7, 0.0, 100.0, 5399.98)] == [
        "3240",
        "2.7",
        "0",
        "100",
        "5400",
    ]


def test_fix_on_sqs_names_setting_variable_and_the_queues_attribute() -> None:
    """The fix: shorter delays, or a timeout in whole minutes, by keyword or variable."""
    fix = delay_fix(4000, SHORTER, "sqs", "EXPORT_")
    assert fix == (
        "Send it sooner, or raise broker_transport_options['visibility_timeout'] to 4500 or "
        "more in every process that sends or runs tasks "
        "(Config(broker_transport_options={'visibility_timeout': 4500}) or "
        "EXPORT_BROKER_TRANSPORT_OPTIONS=\"{'visibility_timeout': 4500}\"), at most 43200; "
        "SQS queues that exist keep the VisibilityTimeout attribute they were created with, "
        "so change it there too."
    )


def test_fix_at_the_longest_sqs_delay_asks_for_the_maximum() -> None:
    """90 % of SQS's maximum is the longest delay a timeout of 43200 s covers."""
    assert "to 43200 or more" in delay_fix(38880, SHORTER, "sqs", "CELERY_")


def test_no_fix_beyond_what_sqs_can_hold() -> None:
    """Beyond 90 % of 43200 s no SQS setting helps: the fix says to schedule it otherwise."""
    fix = delay_fix(38881, SHORTER, "sqs", "CELERY_")
    assert SHORTER not in fix
    assert fix.startswith("SQS accepts a visibility timeout of at most 43200 s")
    assert "keep countdowns, ETAs and retry delays under 38880 s" in fix


def test_fix_on_redis_has_no_maximum() -> None:
    """Redis has no maximum and no queue attribute to change."""
    fix = delay_fix(86400, SHORTER, "redis", "CELERY_")
    assert fix.startswith(f"{SHORTER}, or raise")
    assert "to 96000 or more" in fix
    assert "SQS" not in fix


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, {"default_retry_delay": 180.0}),
        ({"default_retry_delay": 5}, {"default_retry_delay": 5.0}),
        ({"retry_backoff": True}, {"default_retry_delay": 180.0, "retry_backoff_max": 600.0}),
        ({"retry_backoff": 2, "retry_backoff_max": 9000}, {"default_retry_delay": 180.0,
                                                           "retry_backoff_max": 9000.0}),
        ({"retry_backoff": False, "retry_backoff_max": 9000}, {"default_retry_delay": 180.0}),
        ({"default_retry_delay": None}, {}),
        ({"default_retry_delay": True}, {}),
        ({"default_retry_delay": "soon"}, {}),
    ],
)  # fmt: skip
def test_retry_delays_of_a_task(options: dict[str, Any], expected: dict[str, float]) -> None:
    """default_retry_delay, and retry_backoff_max when retry_backoff is on; numbers only."""
    app = Celery("tasks", set_as_current=False)
    task = app.task(name="export.poll", shared=False, **options)(noop)
    assert retry_delays(task) == expected


def test_defaults_leave_room_for_30_minute_delays(make_config: Callable[..., Config]) -> None:
    """
    Config's 3600 s allow delays of 3240 s: 30-minute countdowns with 24 minutes to spare.

    Celery's default retry delays (180 s, and 600 s for back-offs) fit as well.
    """
    options = make_config()["broker_transport_options"]
    timeout = visibility_timeout("sqs", options)
    assert timeout == 3600
    limit = delay_limit(timeout)
    assert limit == 3240
    assert limit - 1800 == 24 * 60
    app = Celery("producer", set_as_current=False)
    for delay in (1800, 180, 600):
        message = message_due(in_seconds(app, delay))
        refuse_late_message(app, producer_on("sqs", **options), "export.x", message)


# -- refusing a message ------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [1, 2])
def test_message_due_later_than_the_limit_is_refused(protocol: int) -> None:
    """A message due after 90 % of the timeout raises, naming task, delay, limit and fix."""
    app = Celery("producer", set_as_current=False)
    message = message_due(in_seconds(app, 4000), protocol)
    with pytest.raises(VisibilityTimeoutError) as caught:
        refuse_late_message(app, producer_on("sqs", visibility_timeout=3600), "export.x", message)
    error = caught.value
    assert isinstance(error, ConfigError)
    assert error.task_name == "export.x"
    assert 3990 < error.delay <= 4000
    assert (error.limit, error.visibility_timeout) == (3240, 3600)
    assert str(error).startswith(
        "Refused to send task 'export.x': it is due in 4000 s (its countdown, ETA or retry "
        "delay), more than the 3240 s allowed by broker_transport_options"
        "['visibility_timeout']=3600 (90% of it; the rest is left for a worker to start the "
        "task). SQS delivers a message again once it has stayed unacknowledged for the "
        "visibility timeout, and a worker keeps a task unacknowledged until it is due, so the "
        "task would run more than once. Send it with a countdown or ETA of at most 3240 s, or "
        "raise broker_transport_options['visibility_timeout'] to 4500 or more"
    )
    assert "CELERY_BROKER_TRANSPORT_OPTIONS" in str(error)


@pytest.mark.parametrize(
    "eta",
    [
        pytest.param(None, id="no-eta"),
        pytest.param(3240, id="at-the-limit"),
        pytest.param(-60, id="in-the-past"),
        pytest.param("not a date", id="unreadable"),
        pytest.param(12345, id="not-a-date"),
    ],
)
def test_messages_due_within_the_limit_pass(eta: Any) -> None:
    """No ETA, an ETA within the limit or past, or one that is no date: not refused here."""
    app = Celery("producer", set_as_current=False)
    if isinstance(eta, int) and eta <= 3240:
        eta = in_seconds(app, eta - 0.5)
    producer = producer_on("sqs", visibility_timeout=3600)
    refuse_late_message(app, producer, "export.x", message_due(eta))


def test_message_without_eta_anywhere_passes() -> None:
    """A message with no ETA in its headers and a body that is no mapping is due now."""
    app = Celery("producer", set_as_current=False)
    message = SimpleNamespace(headers={}, body=((), {}, {}))
    refuse_late_message(app, producer_on("sqs"), "export.x", message)


def test_eta_as_datetime_naive_means_utc() -> None:
    """An ETA given as a datetime counts too; a naive one is read as UTC."""
    app = Celery("producer", set_as_current=False)
    naive = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(seconds=2000)
    with pytest.raises(VisibilityTimeoutError, match="more than the 1620 s allowed"):
        refuse_late_message(app, producer_on("sqs"), "export.x", message_due(naive))


def test_redis_message_is_refused_and_amqp_is_not() -> None:
    """Redis's timeout counts (kombu's 3600 s by default); AMQP has none."""
    app = Celery("producer", set_as_current=False)
    message = message_due(in_seconds(app, 86400))
    with pytest.raises(VisibilityTimeoutError, match="Redis delivers a message again") as caught:
        refuse_late_message(app, producer_on("redis"), "export.x", message)
    assert "to 96000 or more" in str(caught.value)
    refuse_late_message(app, producer_on("amqp"), "export.x", message)


def test_message_beyond_what_sqs_can_hold_is_told_to_schedule_otherwise() -> None:
    """A task due in two days: no countdown advice, no setting, but another way to schedule."""
    app = Celery("producer", set_as_current=False)
    message = message_due(in_seconds(app, 172800))
    with pytest.raises(VisibilityTimeoutError) as caught:
        refuse_late_message(app, producer_on("sqs"), "export.x", message)
    assert "Send it with a countdown" not in str(caught.value)
    assert "periodic task (celery beat)" in str(caught.value)


def test_error_can_be_rebuilt_from_its_message() -> None:
    """Like Celery's result serialisers, pickling rebuilds the error from its arguments."""
    import pickle

    error = VisibilityTimeoutError("refused", task_name="x", delay=2.0, limit=1.0)
    rebuilt = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own data)
    assert (type(rebuilt), str(rebuilt), rebuilt.problems) == (
        VisibilityTimeoutError,
        "refused",
        ("refused",),
    )


# -- the guard on real apps ----------------------------------------------------------------


def test_producer_that_never_finalizes_is_guarded(make_app: Callable[..., Celery]) -> None:
    """send_task with a countdown beyond the limit raises; the app was never finalized."""
    app = make_app(broker_url=SQS_URL)
    with pytest.raises(VisibilityTimeoutError, match=r"'export\.render'"):
        app.send_task("export.render", countdown=4000)
    assert is_guarded(app)
    assert not app.finalized


def test_eta_and_apply_async_are_refused_too(make_app: Callable[..., Celery]) -> None:
    """An ETA, and a task object's apply_async, go through the same guard."""
    app = make_app(broker_url=SQS_URL)
    render = app.task(name="export.render", shared=False)(noop)
    eta = datetime.now(timezone.utc) + timedelta(hours=2)
    with pytest.raises(VisibilityTimeoutError, match="due in 72"):
        render.apply_async(eta=eta)
    with pytest.raises(VisibilityTimeoutError):
        app.send_task("export.render", eta=eta)


def test_sends_within_the_limit_are_published(make_app: Callable[..., Celery]) -> None:
    """Celery's own sender, built on first use, publishes what the guard lets through."""
    app = make_app()
    app.task(name="export.render", shared=False)(noop)
    published = []
    app.send_task("export.render", countdown=30)
    app.send_task("export.render", countdown=100000)  # the memory transport has no timeout
    with app.connection_for_write() as connection:
        queue = connection.SimpleQueue("export")
        while len(published) < 2:
            message = queue.get(timeout=1)
            published.append(message.headers["task"])
            message.ack()
        queue.close()
    assert published == ["export.render", "export.render"]
    assert is_guarded(app)


def test_every_app_configured_with_one_config_is_guarded(make_config: Callable[..., Any]) -> None:
    """Two apps sharing a Config: each is guarded when it routes its first task."""
    config = make_config(broker_url=SQS_URL)
    apps = [Celery(name, set_as_current=False) for name in ("first", "second")]
    try:
        for app in apps:
            app.config_from_object(config)
            with pytest.raises(VisibilityTimeoutError):
                app.send_task("export.render", countdown=4000)
        assert all(is_guarded(app) for app in apps)
    finally:
        for app in apps:
            app.close()


def test_apps_not_configured_by_config_are_left_alone(make_app: Callable[..., Celery]) -> None:
    """A plain app in the same process, sending and finalized, is not guarded."""
    guarded = make_app(broker_url=SQS_URL)
    plain = Celery("plain", set_as_current=False, broker="memory://")
    try:
        plain.conf.result_backend = "cache+memory://"
        plain.send_task("export.render", countdown=100000)
        plain.finalize()
        with pytest.raises(VisibilityTimeoutError):
            guarded.send_task("export.render", countdown=4000)
        assert not is_guarded(plain)
    finally:
        plain.close()


def test_finalized_app_is_guarded_even_with_its_own_router(make_app: Callable[..., Celery]) -> None:
    """An app whose task_routes replace the library's router is guarded when finalized."""
    app = make_app(broker_url=SQS_URL, task_routes=({"*": {"queue": "export"}},))
    assert not is_guarded(app)
    app.finalize()
    assert is_guarded(app)
    with pytest.raises(VisibilityTimeoutError):
        app.send_task("export.render", countdown=4000)


def test_guarding_is_idempotent_and_keeps_a_sender_already_built(
    make_app: Callable[..., Celery],
) -> None:
    """A sender Celery already built is wrapped, not rebuilt; guarding twice wraps once."""
    app = make_app()
    sender = app.amqp.send_task_message
    guard_app(app)
    guard = app.amqp.send_task_message
    guard_app(app)
    assert app.amqp.send_task_message is guard
    assert guard._sender is sender


def test_amqp_without_cached_sender_is_wrapped_at_once(make_config: Callable[..., Any]) -> None:
    """An AMQP class whose send_task_message is a plain method: the method is wrapped."""
    calls: list[str] = []

    class PlainAMQP(AMQP):  # type: ignore[misc]
        """An AMQP subclass that sends without Celery's cached property."""

        def send_task_message(self, producer: Any, name: str, message: Any, **kw: Any) -> None:
            calls.append(name)

    app = Celery("plain-amqp", set_as_current=False, amqp=PlainAMQP)
    try:
        app.config_from_object(make_config(broker_url="memory://"))
        guard_app(app)
        app.amqp.send_task_message(producer_on("memory"), "export.x", message_due(None))
    finally:
        app.close()
    assert calls == ["export.x"]
    assert is_guarded(app)


def test_guarded_router_routes_as_the_library_router(make_app: Callable[..., Celery]) -> None:
    """The router Config installs is the library's router, with the same answers."""
    app = make_app()
    (router,) = app.conf.task_routes
    assert type(router) is GuardedTaskRouter
    assert isinstance(router, TaskRouter)
    plain = TaskRouter.__new__(TaskRouter)
    plain.__dict__.update(vars(router))
    assert router("export.render") == plain("export.render")


def test_router_skips_apps_without_amqp_and_apps_it_does_not_serve(
    make_app: Callable[..., Celery],
) -> None:
    """Only the apps whose router consults this one are guarded."""
    served, other, idle = make_app("served"), make_app("other"), make_app("idle")
    other.amqp.router  # noqa: B018 (an AMQP and a router, but routes of its own)
    (router,) = served.conf.task_routes
    served.amqp.router  # noqa: B018
    router.settle_live_apps()
    assert [is_guarded(app) for app in (served, other, idle)] == [True, False, False]
    assert "amqp" not in vars(idle)


@pytest.fixture
def no_other_apps() -> Iterator[None]:
    """Take the live apps of earlier tests out of Celery's registry for the test's length."""
    gc.collect()  # apps of earlier tests, unreferenced but in reference cycles
    others = list(_state._get_active_apps())
    for app in others:
        _state._deregister_app(app)
    try:
        yield
    finally:
        for app in others:
            _state._register_app(app)


@pytest.mark.usefixtures("no_other_apps")
def test_once_every_live_app_is_settled_a_route_looks_at_none(
    make_app: Callable[..., Celery],
) -> None:
    """Once every live app has a router, routes leave the router's memory as it was."""
    app = make_app()
    other = make_app("other")
    other.amqp.router  # noqa: B018
    app.send_task("export.render")
    (router,) = app.conf.task_routes
    settled = router._apps_seen
    assert settled == (frozenset(_state._get_active_apps().data), frozenset())
    app.amqp.router.route({}, "msg.send")
    assert router._apps_seen is settled  # nothing was looked at again
    assert is_guarded(app)
    assert not is_guarded(other)


@pytest.mark.usefixtures("no_other_apps")
def test_apps_without_a_router_are_the_only_ones_looked_at_again(
    make_app: Callable[..., Celery],
) -> None:
    """An idle app keeps being looked at, alone; once it has a router, nothing is."""
    app, idle, finalized = make_app(), make_app("idle"), make_app("finalized")
    finalized.finalize()  # guarded, without a router: nothing more to do
    (router,) = app.conf.task_routes
    app.amqp.router.route({}, "export.render")
    seen, unsettled = router._apps_seen
    assert {weakref.ref(app), weakref.ref(finalized)} <= seen
    assert unsettled == {weakref.ref(idle)}
    idle.amqp.router  # noqa: B018 (its own Config, its own router)
    app.amqp.router.route({}, "export.render")
    assert router._apps_seen[1] == frozenset()
    assert not is_guarded(idle)


@pytest.mark.parametrize("built", ["nothing", "amqp", "amqp and sender"])
def test_app_without_a_router_when_another_routes_is_guarded_on_its_first_route(
    make_config: Callable[..., Any], built: str
) -> None:
    """An app that had not built its router yet is looked at again: it may come to use ours."""
    config = make_config(broker_url=SQS_URL)
    first, later = (Celery(name, set_as_current=False) for name in ("first", "later"))
    try:
        for app in (first, later):
            app.config_from_object(config)
        if built != "nothing":
            later.amqp.queues  # noqa: B018 (an AMQP, but no router yet)
        if built == "amqp and sender":
            later.amqp.send_task_message  # noqa: B018
        first.amqp.router.route({}, "export.render")  # the router settles what it can
        with pytest.raises(VisibilityTimeoutError):
            later.send_task("export.render", countdown=4000)
    finally:
        for app in (first, later):
            app.close()


def test_app_created_after_the_router_settled_is_guarded(make_config: Callable[..., Any]) -> None:
    """A new app sharing the Config, even one created as another is closed, is guarded."""
    config = make_config(broker_url=SQS_URL)
    apps = []
    try:
        for name in ("first", "second", "third"):
            app = Celery(name, set_as_current=False)
            app.config_from_object(config)
            apps.append(app)
            app.amqp.router.route({}, "export.render")  # settles the live apps, this one too
            with pytest.raises(VisibilityTimeoutError):
                app.send_task("export.render", countdown=4000)
            app.close()  # still referenced, no longer live: the count of live apps holds
    finally:
        for app in apps:
            app.close()


# -- at least once ---------------------------------------------------------------------------


def test_at_least_once_is_off_by_default(make_config: Callable[..., Config]) -> None:
    """By default Celery's own delivery settings are left alone."""
    config = make_config()
    assert config["AT_LEAST_ONCE"] is False
    for setting in ("task_acks_late", "task_reject_on_worker_lost", "worker_prefetch_multiplier"):
        assert setting not in config


@pytest.mark.parametrize(
    ("environ", "settings"),
    [
        pytest.param({}, {"AT_LEAST_ONCE": True}, id="keyword"),
        pytest.param({"CELERY_AT_LEAST_ONCE": "yes"}, {}, id="environment"),
    ],
)
def test_at_least_once_sets_late_acks_requeue_and_prefetch_of_one(
    make_config: Callable[..., Config], environ: dict[str, str], settings: dict[str, Any]
) -> None:
    """The switch: acknowledge after the task, requeue a lost worker's task, prefetch one."""
    config = make_config(environ, **settings)
    assert config["AT_LEAST_ONCE"] is True
    assert config["task_acks_late"] is True
    assert config["task_reject_on_worker_lost"] is True
    assert config["worker_prefetch_multiplier"] == 1


def test_at_least_once_keeps_a_prefetch_multiplier_given(
    make_config: Callable[..., Config],
) -> None:
    """The prefetch multiplier is a default of the switch: a keyword or variable wins."""
    assert (
        make_config(AT_LEAST_ONCE=True, worker_prefetch_multiplier=4)["worker_prefetch_multiplier"]
        == 4
    )
    environ = {"CELERY_AT_LEAST_ONCE": "true", "CELERY_WORKER_PREFETCH_MULTIPLIER": "8"}
    assert make_config(environ)["worker_prefetch_multiplier"] == 8


def test_without_the_switch_acks_late_variable_still_works(
    make_config: Callable[..., Config],
) -> None:
    """CELERY_TASK_ACKS_LATE keeps working on its own, as any Celery setting does."""
    assert make_config({"CELERY_TASK_ACKS_LATE": "yes"})["task_acks_late"] is True


@pytest.mark.parametrize(
    ("environ", "settings", "expected"),
    [
        pytest.param(
            {},
            {"AT_LEAST_ONCE": True, "task_acks_late": False},
            "task_acks_late=False contradicts AT_LEAST_ONCE=True",
            id="keyword-contradicts",
        ),
        pytest.param(
            {"CELERY_AT_LEAST_ONCE": "on", "CELERY_TASK_REJECT_ON_WORKER_LOST": "off"},
            {},
            "task_reject_on_worker_lost=False contradicts AT_LEAST_ONCE=True",
            id="variable-contradicts",
        ),
        pytest.param(
            {},
            {"AT_LEAST_ONCE": "yes"},
            "AT_LEAST_ONCE='yes' must be True or False",
            id="not-a-bool",
        ),
        pytest.param(
            {"CELERY_AT_LEAST_ONCE": "often"},
            {},
            "environment variable CELERY_AT_LEAST_ONCE='often' is not a valid bool",
            id="variable-not-a-bool",
        ),
    ],
)
def test_at_least_once_mistakes(
    make_config: Callable[..., Config],
    environ: dict[str, str],
    settings: dict[str, Any],
    expected: str,
) -> None:
    """A contradicting setting or a value that is no boolean is a ConfigError."""
    with pytest.raises(ConfigError) as caught:
        make_config(environ, **settings)
    assert [problem for problem in caught.value.problems if expected in problem]


def test_bad_variable_under_the_switch_is_reported_once(
    make_config: Callable[..., Config],
) -> None:
    """A variable the switch reads that does not parse is one problem, not two."""
    environ = {"CELERY_AT_LEAST_ONCE": "1", "CELERY_WORKER_PREFETCH_MULTIPLIER": "many"}
    with pytest.raises(ConfigError) as caught:
        make_config(environ)
    assert len(caught.value.problems) == 1
    assert "CELERY_WORKER_PREFETCH_MULTIPLIER='many'" in caught.value.problems[0]


def test_at_least_once_problems_with_nothing_given() -> None:
    """With the switch on and nothing given, or off, there is no problem."""
    assert at_least_once_problems(True, {}) == []
    assert at_least_once_problems(False, {"task_acks_late": False}) == []

from __future__ import annotations

import pickle
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from celery import Celery
from kombu.serialization import dumps

from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.exceptions import ConfigError, VisibilityTimeoutError
from cadasta.workertoolbox.publish._delivery import (
    configured_visibility_timeout,
    delay_fix,
    delay_limit,
    env_prefix,
    refuse_late_message,
    retry_delays,
    seconds,
    transport_name,
    visibility_timeout,
)
from cadasta.workertoolbox.publish.memory import Transport as MemoryTransport
from cadasta.workertoolbox.publish.transports import ENV_PREFIX_OPTION, TRANSPORTS

#: An SQS broker nothing listens on: nothing here connects to it.
SQS_URL = "sqs://key:secret@127.0.0.1:1"
SHORTER = "Send it sooner"
#: The time of sending in the tests that give one.
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)


def kombu_message(body: Any, headers: dict[str, Any], serializer: str = "json") -> dict[str, Any]:
    """The dict a kombu producer hands the channel's basic_publish, as Celery sends it."""
    content_type, content_encoding, data = dumps(body, serializer=serializer)
    task_id = str(headers.get("id") or uuid.uuid4())
    return {
        "body": data,
        "content-encoding": content_encoding,
        "content-type": content_type,
        "headers": headers,
        "properties": {
            "correlation_id": task_id,
            "delivery_info": {},
            "delivery_mode": 2,
            "priority": 0,
            "reply_to": str(uuid.uuid4()),
        },
    }


def message_due(eta: Any, protocol: int = 2, task: str = "export.x") -> dict[str, Any]:
    """
    A task message due at *eta*, in Celery's task protocol *protocol*.

    Protocol 2 keeps the ETA (and the task's name and id) in the headers; protocol 1 keeps
    them in a JSON body, with no headers.
    """
    task_id = str(uuid.uuid4())
    if protocol == 1:
        body = {"task": task, "id": task_id, "args": [], "kwargs": {}, "retries": 0, "eta": eta}
        return kombu_message(body, {})
    headers = {"task": task, "id": task_id, "eta": eta, "retries": 0, "lang": "py"}
    return kombu_message([[], {}, {"callbacks": None}], headers)


def after(delay: float) -> str:
    """The ISO 8601 time *delay* seconds after NOW, as Celery puts it in a message."""
    return (NOW + timedelta(seconds=delay)).isoformat()


def noop() -> None:
    """Do nothing: the body of the tasks the tests register."""


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
        pytest.param({"broker_url": "rediss://localhost:1/0"}, ("redis", 3600.0), id="rediss"),
        pytest.param({"broker_url": "memory://"}, None, id="memory"),
        pytest.param({"broker_url": "amqp://guest@localhost//"}, None, id="amqp"),
    ],
)
def test_configured_visibility_timeout(
    make_config: Callable[..., Config], settings: dict[str, Any], expected: Any
) -> None:
    """The library's transports are known by kombu's names; nothing connects."""
    app = Celery("configured", set_as_current=False)
    app.config_from_object(make_config(**settings))
    assert configured_visibility_timeout(app) == expected


def test_plain_celery_app_uses_amqp_without_visibility_timeout() -> None:
    """An app without a broker URL uses Celery's default, AMQP, which has no timeout."""
    app = Celery("plain", set_as_current=False)
    assert transport_name(app) == "amqp"
    assert configured_visibility_timeout(app) is None


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        pytest.param({"broker_transport": TRANSPORTS["sqs"]}, "sqs", id="librarys-sqs-path"),
        pytest.param({"broker_transport": TRANSPORTS["rediss"]}, "redis", id="librarys-redis"),
        pytest.param({"broker_transport": MemoryTransport}, "memory", id="a-transport-class"),
        pytest.param({"broker_transport": "SQS"}, "sqs", id="kombus-name"),
        pytest.param({"broker_url": "Redis://h/0"}, "redis", id="url-scheme"),
        pytest.param({"broker_url": "localhost"}, "amqp", id="url-without-scheme"),
    ],
)
def test_transport_name_of_a_plain_app(settings: dict[str, Any], expected: str) -> None:
    """broker_transport (a name, the library's path or a class), else the URL's scheme."""
    app = Celery("plain", set_as_current=False)
    app.conf.update(settings)
    assert transport_name(app) == expected


@pytest.mark.parametrize(
    ("settings", "expected"),
    [({}, "CELERY_"), ({"ENV_PREFIX": "EXPORT_"}, "EXPORT_"), ({"ENV_PREFIX": None}, "CELERY_")],
)
def test_env_prefix_of_an_app(settings: dict[str, Any], expected: str) -> None:
    """The app's ENV_PREFIX, CELERY_ when it has none."""
    app = Celery("plain", set_as_current=False)
    app.conf.update(settings)
    assert env_prefix(app) == expected


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
    for delay in (1800, 180, 600, 3240):
        refuse_late_message(message_due(after(delay)), "sqs", options, now=NOW)


# -- refusing a message ------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [1, 2])
def test_message_due_later_than_the_limit_is_refused(protocol: int) -> None:
    """
    A message due after 90 % of the timeout raises, naming task, delay, limit and fix.

    Protocol 2 has the ETA in its headers; protocol 1 in its JSON body.
    """
    message = message_due(after(4000), protocol)
    with pytest.raises(VisibilityTimeoutError) as caught:
        refuse_late_message(message, "sqs", {"visibility_timeout": 3600}, now=NOW)
    error = caught.value
    assert isinstance(error, ConfigError)
    assert (error.delay, error.limit, error.visibility_timeout) == (4000, 3240, 3600)
    assert "due in 4000 s (its countdown, ETA or retry delay), more than the 3240 s" in str(error)
    assert "CELERY_BROKER_TRANSPORT_OPTIONS" in str(error)


def test_a_refused_message_of_protocol_1_names_its_task() -> None:
    """A message of protocol 1 is refused naming its task, which its body holds."""
    message = message_due(after(4000), protocol=1, task="export.render")
    with pytest.raises(VisibilityTimeoutError) as caught:
        refuse_late_message(message, "sqs", {"visibility_timeout": 3600}, now=NOW)
    assert caught.value.task_name == "export.render"


def test_the_refusal_says_what_and_how() -> None:
    """The message names the task, its delay, the limit, why, and both ways out."""
    message = message_due(after(4000))
    with pytest.raises(VisibilityTimeoutError) as caught:
        refuse_late_message(message, "sqs", {"visibility_timeout": 3600}, now=NOW)
    assert caught.value.task_name == "export.x"
    assert str(caught.value).startswith(
        "Refused to send task 'export.x': it is due in 4000 s (its countdown, ETA or retry "
        "delay), more than the 3240 s allowed by broker_transport_options"
        "['visibility_timeout']=3600 (90% of it; the rest is left for a worker to start the "
        "task). SQS delivers a message again once it has stayed unacknowledged for the "
        "visibility timeout, and a worker keeps a task unacknowledged until it is due, so the "
        "task would run more than once. Send it with a countdown or ETA of at most 3240 s, or "
        "raise broker_transport_options['visibility_timeout'] to 4500 or more"
    )


@pytest.mark.parametrize(
    ("options", "variable"),
    [
        pytest.param({ENV_PREFIX_OPTION: "EXPORT_"}, "EXPORT_BROKER_TRANSPORT_OPTIONS", id="set"),
        pytest.param({ENV_PREFIX_OPTION: ""}, "CELERY_BROKER_TRANSPORT_OPTIONS", id="empty"),
        pytest.param({}, "CELERY_BROKER_TRANSPORT_OPTIONS", id="absent"),
    ],
)
def test_the_fix_names_the_variable_of_the_env_prefix(
    options: dict[str, Any], variable: str
) -> None:
    """The transport option a Config sets for its ENV_PREFIX names the variable in the fix."""
    message = message_due(after(4000))
    with pytest.raises(VisibilityTimeoutError) as caught:
        refuse_late_message(message, "sqs", {"visibility_timeout": 3600, **options}, now=NOW)
    assert f"{variable}=\"{{'visibility_timeout': 4500}}\"" in str(caught.value)


def test_a_config_with_its_own_prefix_names_its_variable(
    make_config: Callable[..., Config],
) -> None:
    """Config(ENV_PREFIX='EXPORT_')'s transport options make the fix name EXPORT_ variables."""
    options = make_config(ENV_PREFIX="EXPORT_")["broker_transport_options"]
    with pytest.raises(VisibilityTimeoutError) as caught:
        refuse_late_message(message_due(after(4000)), "sqs", options, now=NOW)
    assert "EXPORT_BROKER_TRANSPORT_OPTIONS=" in str(caught.value)
    assert "CELERY_BROKER_TRANSPORT_OPTIONS" not in str(caught.value)


@pytest.mark.parametrize("protocol", [1, 2])
@pytest.mark.parametrize(
    "eta",
    [
        pytest.param(None, id="no-eta"),
        pytest.param(after(3240), id="at-the-limit"),
        pytest.param(after(-60), id="in-the-past"),
        pytest.param("not a date", id="unreadable"),
        pytest.param(12345, id="not-a-date"),
    ],
)
def test_messages_due_within_the_limit_pass(eta: Any, protocol: int) -> None:
    """No ETA, an ETA within the limit or past, or one that is no date: not refused here."""
    refuse_late_message(message_due(eta, protocol), "sqs", {"visibility_timeout": 3600}, now=NOW)


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(kombu_message([[], {}, {}], {"task": "export.x"}), id="no-eta-in-headers"),
        pytest.param(kombu_message("a string", {}), id="body-not-a-mapping"),
        pytest.param(
            kombu_message({"eta": after(4000)}, {}, serializer="pickle"), id="pickled-body"
        ),
        pytest.param({"body": b"{not json", "content-type": "application/json"}, id="bad-json"),
        pytest.param({"headers": "not a mapping", "body": None}, id="headers-not-a-mapping"),
        pytest.param({}, id="nothing"),
    ],
)
def test_message_without_a_readable_eta_passes(message: dict[str, Any]) -> None:
    """
    A message with no ETA it shows is due now: none in its headers, nor in a JSON body.

    A pickled body (protocol 1 with the pickle serializer) is not decoded here.
    """
    refuse_late_message(message, "sqs", {"visibility_timeout": 60}, now=NOW)


def test_an_eta_header_wins_over_the_body() -> None:
    """With an 'eta' header (protocol 2), the body is not read, even if it names one."""
    message = kombu_message({"eta": after(4000)}, {"task": "export.x", "eta": None})
    refuse_late_message(message, "sqs", {"visibility_timeout": 3600}, now=NOW)


def test_eta_as_datetime_naive_means_utc() -> None:
    """An ETA given as a datetime counts too; a naive one is read as UTC."""
    naive = (NOW + timedelta(seconds=2000)).replace(tzinfo=None)
    with pytest.raises(VisibilityTimeoutError, match=r"due in 2000 s \(.*\), more than the 1620 s"):
        refuse_late_message(message_due(naive), "sqs", {}, now=NOW)


def test_an_aware_eta_in_another_zone_counts_from_utc() -> None:
    """An ETA in another time zone is compared as the instant it names."""
    zone = timezone(timedelta(hours=-5))
    with pytest.raises(VisibilityTimeoutError, match="due in 4000 s"):
        refuse_late_message(
            message_due((NOW + timedelta(seconds=4000)).astimezone(zone).isoformat()),
            "sqs",
            {"visibility_timeout": 3600},
            now=NOW,
        )


def test_without_now_the_current_time_is_used() -> None:
    """The time of sending defaults to the current time."""
    eta = (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat()
    with pytest.raises(VisibilityTimeoutError, match=r"due in 7[12]\d\d(\.\d)? s"):
        refuse_late_message(message_due(eta), "sqs", {"visibility_timeout": 3600})


def test_redis_message_is_refused_and_others_are_not() -> None:
    """Redis's timeout counts (kombu's 3600 s by default); AMQP and memory have none."""
    message = message_due(after(86400))
    with pytest.raises(VisibilityTimeoutError, match="Redis delivers a message again") as caught:
        refuse_late_message(message, "redis", {}, now=NOW)
    assert "to 96000 or more" in str(caught.value)
    refuse_late_message(message, "amqp", {}, now=NOW)
    refuse_late_message(message, "memory", None, now=NOW)


def test_message_beyond_what_sqs_can_hold_is_told_to_schedule_otherwise() -> None:
    """A task due in two days: no countdown advice, no setting, but another way to schedule."""
    with pytest.raises(VisibilityTimeoutError) as caught:
        refuse_late_message(message_due(after(172800)), "sqs", {}, now=NOW)
    assert "Send it with a countdown" not in str(caught.value)
    assert "periodic task (celery beat)" in str(caught.value)


def test_a_message_without_a_task_name_is_named_by_a_question_mark() -> None:
    """A late message whose headers name no task is refused all the same."""
    message = kombu_message([[], {}, {}], {"eta": after(4000)})
    with pytest.raises(VisibilityTimeoutError, match=r"Refused to send task '\?'"):
        refuse_late_message(message, "sqs", {"visibility_timeout": 3600}, now=NOW)


def test_error_can_be_rebuilt_from_its_message() -> None:
    """Like Celery's result serialisers, pickling rebuilds the error from its arguments."""
    error = VisibilityTimeoutError("refused", task_name="x", delay=2.0, limit=1.0)
    rebuilt = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own data)
    assert (type(rebuilt), str(rebuilt), rebuilt.problems) == (
        VisibilityTimeoutError,
        "refused",
        ("refused",),
    )

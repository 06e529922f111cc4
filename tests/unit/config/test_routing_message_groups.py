import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from celery import Celery
from kombu.entity import Queue

from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.config._routing import (
    MESSAGE_GROUP_MODES,
    TaskRouter,
    check_message_group,
    message_group_id,
)
from cadasta.workertoolbox.config._topology import Topology
from cadasta.workertoolbox.exceptions import ConfigError


@pytest.fixture
def topology() -> Topology:
    """The default topology: export and msg, the monitor, on task_exchange."""
    return Topology.build(["export", "msg"], "platform.fifo", "task_exchange")


def _properties_of_messages(app: Celery, queue: str) -> list[dict[str, Any]]:
    """Take every message of *queue* off kombu's memory transport; return their properties."""
    found = []
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        while (message := channel.basic_get(queue, no_ack=True)) is not None:
            found.append(dict(message.properties))
    return found


# -- the setting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MESSAGE_GROUP_MODES)
def test_accepted_modes(mode: str) -> None:
    """'default', 'queue' and 'task' are the accepted values of MONITOR_MESSAGE_GROUP."""
    assert check_message_group(mode) == []


@pytest.mark.parametrize("value", ["Queue", "", "tasks", None, 3, ["task"]])
def test_other_values_are_a_problem_listing_the_accepted_ones(value: object) -> None:
    """Anything else is one problem that shows the value and lists what is accepted."""
    (problem,) = check_message_group(value)
    assert problem.startswith(f"MONITOR_MESSAGE_GROUP={value!r} is not one of ")
    assert "'default', 'queue', 'task'" in problem
    assert "CELERY_MONITOR_MESSAGE_GROUP" in problem


def test_config_defaults_to_one_group(make_config: Callable[..., Config]) -> None:
    """By default the monitor's messages keep kombu's single group: no MessageGroupId."""
    config = make_config()
    assert config["MONITOR_MESSAGE_GROUP"] == "default"
    (router,) = config["task_routes"]
    assert "MessageGroupId" not in router("export.render")


@pytest.mark.parametrize("mode", ["queue", "task"])
def test_config_reads_the_variable(make_config: Callable[..., Config], mode: str) -> None:
    """CELERY_MONITOR_MESSAGE_GROUP sets the mode, and the router follows it."""
    config = make_config({"CELERY_MONITOR_MESSAGE_GROUP": mode})
    assert config["MONITOR_MESSAGE_GROUP"] == mode
    (router,) = config["task_routes"]
    expected = {"queue": "export", "task": "export.render"}[mode]
    assert router("export.render")["MessageGroupId"] == expected


def test_config_rejects_an_unknown_mode_with_the_other_problems(
    make_config: Callable[..., Config],
) -> None:
    """A bad value is a ConfigError listing the accepted values, with every other problem."""
    with pytest.raises(ConfigError) as info:
        make_config({"CELERY_MONITOR_MESSAGE_GROUP": "per-task"}, CHORD_UNLOCK_MAX_RETRIES=-1)
    problems = info.value.problems
    assert len(problems) == 2
    assert any(
        p.startswith("MONITOR_MESSAGE_GROUP='per-task' is not one of 'default', 'queue', 'task'")
        for p in problems
    )


def test_router_rejects_an_unknown_mode(topology: Topology) -> None:
    """TaskRouter refuses a mode it does not know, naming the accepted ones."""
    with pytest.raises(ValueError, match="'default', 'queue', 'task'"):
        TaskRouter(topology, "bogus")


# -- the groups ----------------------------------------------------------------------------------


def test_default_mode_adds_no_group(topology: Topology) -> None:
    """With 'default', routes are unchanged: kombu sends the monitor's copies in group 'default'."""
    router = TaskRouter(topology)
    for name in ("export.render", "msg.email", "celery.chord_unlock", "report.build"):
        assert "MessageGroupId" not in router(name)
    queue = topology.queues_by_routing_key["msg"]
    assert "MessageGroupId" not in router("export.render", options={"queue": queue})


@pytest.mark.parametrize(
    ("task", "group"),
    [
        ("export.render", "export"),
        ("export.render.pdf", "export"),
        ("msg.email", "msg"),
        ("celery.chord_unlock", "celery"),
        ("report.build", "report"),
    ],
)
def test_queue_mode_groups_by_work_queue(topology: Topology, task: str, group: str) -> None:
    """With 'queue', the group is the name of the queue the task goes to."""
    router = TaskRouter(topology, "queue")
    route = router(task)
    assert route["MessageGroupId"] == group == route["queue"].name


def test_queue_mode_follows_an_explicit_queue(topology: Topology) -> None:
    """A queue given by the caller is the group, whatever the task's name."""
    router = TaskRouter(topology, "queue")
    queue = topology.queues_by_routing_key["msg"]
    assert router("export.render", options={"queue": queue})["MessageGroupId"] == "msg"
    assert router("export.render", options={"queue": Queue("adhoc")})["MessageGroupId"] == "adhoc"
    assert router("export.render", options={"routing_key": "msg"})["MessageGroupId"] == "msg"


def test_task_mode_groups_by_task_name(topology: Topology) -> None:
    """With 'task', each task name is a group of its own, also for an explicit queue."""
    router = TaskRouter(topology, "task")
    assert router("export.render")["MessageGroupId"] == "export.render"
    assert router("export.upload")["MessageGroupId"] == "export.upload"
    assert router("export.render")["MessageGroupId"] == "export.render"
    queue = topology.queues_by_routing_key["msg"]
    route = router("export.render", options={"queue": queue})
    assert route["MessageGroupId"] == "export.render"
    assert route["queue"] is queue


def test_task_mode_keeps_the_cached_route_whole(topology: Topology) -> None:
    """The group of one task does not stick to the cached route of its queue."""
    router = TaskRouter(topology, "task")
    router("export.render")
    assert "MessageGroupId" not in router.route_for_routing_key("export")


@pytest.mark.parametrize(
    "name",
    ["export", "export.render", "a" * 128, "x!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"],
)
def test_names_sqs_accepts_are_the_group(name: str) -> None:
    """Names of 1 to 128 ASCII letters, digits and punctuation are used as they are."""
    assert message_group_id(name) == name


@pytest.mark.parametrize("name", ["", "a" * 129, "export.render pdf", "export.résumé", "a\tb"])
def test_other_names_are_hashed(name: str) -> None:
    """Names SQS would refuse become their SHA-256 digest: valid, and the same every time."""
    group = message_group_id(name)
    assert group == hashlib.sha256(name.encode()).hexdigest()
    assert group == message_group_id(name)
    assert message_group_id(group) == group


# -- through Celery ------------------------------------------------------------------------------


def test_a_group_given_by_the_caller_wins(make_app: Callable[..., Celery]) -> None:
    """apply_async(MessageGroupId=...) overrides the group the router chose."""
    app = make_app(MONITOR_MESSAGE_GROUP="task")
    assert app.amqp.router.route({}, "export.render")["MessageGroupId"] == "export.render"
    route = app.amqp.router.route({"MessageGroupId": "mine"}, "export.render")
    assert route["MessageGroupId"] == "mine"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("default", [None, None]),
        ("queue", ["export", "msg"]),
        ("task", ["export.render", "msg.email"]),
    ],
)
def test_celery_puts_the_group_in_the_message_properties(
    make_app: Callable[..., Celery],
    memory_queues: None,
    mode: str,
    expected: list[str | None],
) -> None:
    """send_task carries the route's MessageGroupId into the properties kombu's SQS reads."""
    app = make_app(MONITOR_MESSAGE_GROUP=mode, result_backend="cache+memory://")
    app.send_task("export.render")
    app.send_task("msg.email")
    monitor = _properties_of_messages(app, "platform.fifo")
    assert [p.get("MessageGroupId") for p in monitor] == expected
    work = _properties_of_messages(app, "export") + _properties_of_messages(app, "msg")
    assert [p.get("MessageGroupId") for p in work] == expected


# -- the mapping Celery reads on every send ------------------------------------------------------


@pytest.mark.parametrize("key", ["_given", "_environment", 3, None])
def test_config_has_no_private_or_odd_keys(make_config: Callable[..., Config], key: Any) -> None:
    """A private name or a non-string is no key of a Config: a KeyError, as for any absent key."""
    config = make_config()
    with pytest.raises(KeyError):
        config[key]
    assert key not in config
    assert config.get(key) is None


def test_config_lookups_are_its_public_names(make_config: Callable[..., Config]) -> None:
    """Each public name is a key with its value; what Celery reads is what the mapping lists."""
    config = make_config(MONITOR_MESSAGE_GROUP="queue")
    assert config["MONITOR_MESSAGE_GROUP"] == "queue"
    assert {key: config[key] for key in config} == dict(config.items())
    assert "nonexistent_setting" not in config

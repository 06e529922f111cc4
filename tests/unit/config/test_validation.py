from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadasta.workertoolbox.config._secrets import MASK
from cadasta.workertoolbox.config._validation import (
    check_broker_url,
    check_exchange,
    check_non_negative_int,
    check_platform_queue_name,
    check_queue_name_prefix,
    check_queue_names,
    check_transport_options,
    sqs_queue_name,
)

# -- sqs_queue_name ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "name", "sqs_name"),
    [
        ("dev-", "export", "dev-export"),
        ("", "export", "export"),
        ("dev-", "platform.fifo", "dev-platform.fifo"),
        ("dev-", "a.b.fifo", "dev-a-b.fifo"),
        ("dev-", "a.b", "dev-a-b"),
        ("dev-", "a!b@c", "dev-a_b_c"),
        ("my.env-", "x", "my-env-x"),
    ],
)
def test_sqs_queue_name(prefix: str, name: str, sqs_name: str) -> None:
    """The name kombu gives the queue on SQS: punctuation to '_', '.' to '-', '.fifo' kept."""
    assert sqs_queue_name(prefix, name) == sqs_name


# -- check_queue_names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [["export", "msg"], ("export", "msg"), frozenset({"export"}), {"msg"}, []]
)
def test_valid_queue_names(value: Any) -> None:
    """A list, tuple or set of valid names passes whole, without problems."""
    names, problems = check_queue_names(value, "QUEUES", "dev-")
    assert problems == []
    assert sorted(names) == sorted(value)


@pytest.mark.parametrize("value", ["export", b"export"])
def test_a_single_string_is_refused(value: str | bytes) -> None:
    """A bare string is not read as one queue per letter: it is an error naming the setting."""
    names, problems = check_queue_names(value, "queues", "dev-")
    assert names == ()
    assert problems == [
        f"queues={value!r} is a single string; give a list of queue names, "
        f"e.g. queues=[{value!r}] (a string would be read as one queue per letter)."
    ]


@pytest.mark.parametrize("value", [None, 5, {"export": 1}, object()])
def test_other_types_are_refused(value: Any) -> None:
    """Anything but a list, tuple or set (a dict included) is an error saying what to give."""
    names, problems = check_queue_names(value, "QUEUES", "dev-")
    assert names == ()
    assert len(problems) == 1
    assert problems[0].startswith(f"QUEUES={value!r} is of type {type(value).__name__}; ")
    assert "give a list of queue names" in problems[0]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        (5, "QUEUES: queue name 5 is of type int; queue names are strings."),
        ("", "QUEUES: a queue name is empty; remove it or name the queue."),
        ("ex*", "QUEUES: queue 'ex*' contains a topic wildcard ('*' or '#')"),
        ("#", "QUEUES: queue '#' contains a topic wildcard ('*' or '#')"),
        ("export.pdf", "Use 'export' or 'export_pdf'."),
        (
            "a" * 77,
            "81 characters; SQS accepts at most 80. Shorten the name or the prefix (QUEUE_PREFIX, "
            "or the queue_name_prefix transport option when it is given).",
        ),
        ("exporté", "becomes 'dev-exporté' on SQS, which accepts only ASCII letters"),
        ("ex port", "becomes 'dev-ex port' on SQS, which accepts only ASCII letters"),
    ],
)
def test_bad_queue_names(name: Any, problem: str) -> None:
    """Each bad name is a problem saying why; the good names still pass."""
    names, problems = check_queue_names(["msg", name], "QUEUES", "dev-")
    assert names == ("msg",)
    assert len(problems) == 1
    assert problem in problems[0]


def test_the_longest_name_sqs_accepts() -> None:
    """A name of exactly 80 characters on SQS, prefix included, passes."""
    name = "a" * 76
    assert check_queue_names([name], "QUEUES", "dev-") == ((name,), [])


def test_a_name_listed_twice() -> None:
    """A queue listed twice is a problem; the first listing passes."""
    names, problems = check_queue_names(["export", "export"], "QUEUES", "dev-")
    assert names == ("export",)
    assert problems == [
        "QUEUES: queue 'export' is listed twice; both become 'dev-export' on SQS. "
        "List each queue once."
    ]


def test_names_that_become_the_same_sqs_queue() -> None:
    """Two names kombu turns into the same SQS queue are a problem naming both."""
    names, problems = check_queue_names(["a_b", "a!b"], "QUEUES", "dev-")
    assert names == ("a_b",)
    assert problems == [
        "QUEUES: queue 'a!b' is listed and 'a_b'; both become 'dev-a_b' on SQS. "
        "List each queue once."
    ]


def test_every_bad_name_is_reported() -> None:
    """Every problem is reported, not only the first."""
    _, problems = check_queue_names(["", 1, "a.b"], "QUEUES", "dev-")
    assert len(problems) == 3


_ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
    lambda inner: (
        st.lists(inner)
        | st.tuples(inner)
        | st.frozensets(st.text() | st.integers())
        | st.dictionaries(st.text(), inner)
    ),
    max_leaves=8,
)


@given(value=_ANY | st.lists(st.text()) | st.lists(st.text(alphabet="ab_!.-#*", max_size=4)))
def test_queue_names_never_raise(value: Any) -> None:
    """Whatever is given, the check returns valid names and problems; it never raises."""
    names, problems = check_queue_names(value, "QUEUES", "dev-")
    assert isinstance(names, tuple)
    assert all(isinstance(p, str) for p in problems)
    for name in names:
        assert check_queue_names([name], "QUEUES", "dev-") == ((name,), [])


# -- check_platform_queue_name -------------------------------------------------------------


@pytest.mark.parametrize("name", ["platform.fifo", "monitor", "platform"])
def test_valid_platform_queue_name(name: str) -> None:
    """A valid SQS name distinct from every work queue passes."""
    assert check_platform_queue_name(name, "dev-", ("export", "msg")) == []


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        (None, "PLATFORM_QUEUE_NAME=None is not a queue name; leave it at its default"),
        ("", "PLATFORM_QUEUE_NAME='' is not a queue name; leave it at its default"),
        (["x"], "PLATFORM_QUEUE_NAME=['x'] is not a queue name"),
        ("export", "PLATFORM_QUEUE_NAME='export' is also a work queue"),
        ("celery", "PLATFORM_QUEUE_NAME='celery' is also a work queue"),
        ("p" * 80 + ".fifo", "SQS accepts at most 80"),
        ("pla tform.fifo", "which accepts only ASCII letters"),
    ],
)
def test_bad_platform_queue_name(name: Any, problem: str) -> None:
    """A platform queue name that is no SQS name, or is a work queue, is a problem."""
    problems = check_platform_queue_name(name, "dev-", ("export", "msg"))
    assert len(problems) == 1
    assert problem in problems[0]


@pytest.mark.parametrize(
    ("name", "prefix", "work_queues", "sqs_name", "clash"),
    [
        pytest.param("ex.port", "dev-", ("ex-port",), "dev-ex-port", "ex-port", id="dot"),
        pytest.param("ex!port", "dev-", ("msg", "ex_port"), "dev-ex_port", "ex_port", id="bang"),
        pytest.param("ex.port", "", ("ex-port",), "ex-port", "ex-port", id="no-prefix"),
        pytest.param("ex.port", "x.y-", ("ex-port",), "x-y-ex-port", "ex-port", id="own-prefix"),
    ],
)
def test_platform_queue_name_that_becomes_a_work_queue_on_sqs(
    name: str, prefix: str, work_queues: tuple[str, ...], sqs_name: str, clash: str
) -> None:
    """
    Compared as SQS sees them, prefix included, the monitor must not be a work queue.

    kombu turns '.' into '-' and other punctuation into '_': 'ex.port' is 'ex-port'.
    """
    assert check_platform_queue_name(name, prefix, work_queues) == [
        f"PLATFORM_QUEUE_NAME={name!r} becomes {sqs_name!r} on SQS, the same queue as the "
        f"work queue {clash!r}: every {clash}.* task would be sent twice to one queue, and "
        "workers would run the monitor's copy. Give the monitor a name of its own, such as "
        "the default 'platform.fifo'."
    ]


@pytest.mark.parametrize(
    ("name", "work_queues"),
    [
        pytest.param("export.fifo", ("export",), id="fifo-suffix-kept"),
        pytest.param("ex.port", ("export", "ex_port"), id="dash-is-not-underscore"),
        pytest.param("celery.fifo", ("export",), id="celery-fifo"),
    ],
)
def test_platform_queue_name_distinct_on_sqs(name: str, work_queues: tuple[str, ...]) -> None:
    """A name that stays distinct from every work queue and 'celery' on SQS passes."""
    assert check_platform_queue_name(name, "dev-", work_queues) == []


# -- check_broker_url ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        None,
        b"sqs://a:b/c@h",
        "memory://",
        "memory",
        "sqs://",
        "sqs://sqs.eu-west-1.amazonaws.com",
        "sqs://AKIAEXAMPLE:abc%2Fdef%2B%3Fghi@",
        "sqs://AKIAEXAMPLE:abc+def@sqs.eu-west-1.amazonaws.com:443",
        "amqp://guest:guest@rabbit:5672//",
        "redis://:password@redis:6379/0?ssl_cert_reqs=none",
    ],
)
def test_broker_urls_accepted(url: Any) -> None:
    """No user and password, or percent-encoded ones, or no URL at all: nothing to say."""
    assert check_broker_url(url, "broker_url") == []


@pytest.mark.parametrize("character", ["/", "?", "#", "@", "[", "]", " "])
@pytest.mark.parametrize("part", ["user", "password"])
def test_broker_url_with_an_unescaped_character_in_its_secret(character: str, part: str) -> None:
    """
    A '/', '?', '#', '@', '[', ']' or space in the user or password is refused.

    The message names where the URL was set, shows the scheme and host only (the user and
    password wholly masked: no part of either), and says how to percent-encode them.
    """
    user, password = "AKIAEXAMPLE", "wJalrXUtnFEMI"
    if part == "user":
        user = f"AKIA{character}EXAMPLE"
    else:
        password = f"wJalrXUtn{character}FEMI"
    url = f"sqs://{user}:{password}@sqs.eu-west-1.amazonaws.com:443"
    (problem,) = check_broker_url(url, "CELERY_BROKER_URL")
    assert problem.startswith(
        f"CELERY_BROKER_URL=sqs://{MASK}@sqs.eu-west-1.amazonaws.com:443 has a user or "
        "password (an SQS access key or secret key) holding a character that ends it early"
    )
    assert "Percent-encode the user and the password" in problem
    assert "urllib.parse.quote(secret, safe='')" in problem
    for fragment in ("AKIA", "EXAMPLE", "wJalrXUtn", "FEMI"):
        assert fragment not in problem


# -- check_exchange ------------------------------------------------------------------------


def test_the_default_exchange_passes() -> None:
    """A named topic exchange passes."""
    assert check_exchange("task_exchange", "topic", "CELERY_") == []
    assert check_exchange("tasks", "topic", "CELERY_") == []


@pytest.mark.parametrize("exchange_type", ["direct", "fanout", "headers", "Topic", "", None])
def test_an_exchange_type_other_than_topic(exchange_type: Any) -> None:
    """Only 'topic' gives both the work queue and the monitor a copy: the fix names the variable."""
    (problem,) = check_exchange("task_exchange", exchange_type, "EXPORT_")
    assert problem.startswith(f"task_default_exchange_type={exchange_type!r} is not 'topic'")
    assert "('direct' drops the monitor's copy, 'fanout' delivers nothing on SQS)" in problem
    assert problem.endswith(
        "Remove the setting (the keyword task_default_exchange_type or "
        "EXPORT_TASK_DEFAULT_EXCHANGE_TYPE)."
    )


@pytest.mark.parametrize("name", ["", None, 5])
def test_an_exchange_without_a_name(name: Any) -> None:
    """The empty name is AMQP's default exchange: refused, with the default as example."""
    (problem,) = check_exchange(name, "topic", "CELERY_")
    assert problem.startswith(f"task_default_exchange={name!r} must name the exchange")
    assert "such as the default 'task_exchange'" in problem
    assert problem.endswith("(the keyword task_default_exchange or CELERY_TASK_DEFAULT_EXCHANGE).")


def test_both_exchange_problems_are_reported() -> None:
    """An empty name and a direct type are two problems."""
    assert len(check_exchange("", "direct", "CELERY_")) == 2


# -- check_queue_name_prefix ---------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "dev-", "my_env-", "my.env-", "a/b-", "A1"])
def test_queue_name_prefix_accepted(prefix: str) -> None:
    """A prefix that gives SQS names (kombu turns '.' into '-', other punctuation into '_')."""
    assert check_queue_name_prefix(prefix) == []


@pytest.mark.parametrize("prefix", ["my env-", "dev\t", "prod-é-", "\u00a0"])
def test_queue_name_prefix_refused(prefix: str) -> None:
    """Blanks and non-ASCII letters SQS refuses: the message says what is accepted instead."""
    assert check_queue_name_prefix(prefix) == [
        f"broker_transport_options['queue_name_prefix']={prefix!r} holds characters SQS "
        "refuses in a queue name; it accepts ASCII letters, digits, '-' and '_'. Better, "
        "leave the option out and set QUEUE_PREFIX (the keyword, or the QUEUE_PREFIX "
        "variable with your ENV_PREFIX), which it defaults to."
    ]


# -- check_non_negative_int ----------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 43200])
def test_non_negative_ints(value: int) -> None:
    """Whole numbers of at least zero pass."""
    assert check_non_negative_int(value, "CHORD_UNLOCK_MAX_RETRIES") == []


@pytest.mark.parametrize("value", [-1, True, 1.0, "5", None])
def test_not_non_negative_ints(value: Any) -> None:
    """Negative numbers, booleans, floats, strings and None are problems naming the setting."""
    assert check_non_negative_int(value, "CHORD_UNLOCK_MAX_RETRIES") == [
        f"CHORD_UNLOCK_MAX_RETRIES={value!r} must be a whole number of at least 0."
    ]


# -- check_transport_options ---------------------------------------------------------------


@pytest.mark.parametrize("value", [{}, {"region": "eu-west-1"}, {"visibility_timeout": 60}])
def test_valid_transport_options(value: dict[str, Any]) -> None:
    """A dict, with a string region or none, passes."""
    assert check_transport_options(value) == []


@pytest.mark.parametrize("value", [None, "region=eu-west-1", [("region", "eu-west-1")]])
def test_transport_options_must_be_a_dict(value: Any) -> None:
    """Anything but a mapping is a problem saying it is merged over the defaults."""
    (problem,) = check_transport_options(value)
    assert problem.startswith(f"broker_transport_options={value!r} is of type ")
    assert "give a dict" in problem
    assert "merged over the defaults" in problem


@pytest.mark.parametrize("region", [5, ["eu-west-1"], b"eu-west-1"])
def test_region_must_be_a_string(region: Any) -> None:
    """A region that is not a string is a problem showing it."""
    assert check_transport_options({"region": region}) == [
        f"broker_transport_options['region']={region!r} must be a string naming an AWS "
        "region, e.g. 'us-west-2'."
    ]


@pytest.mark.parametrize("seconds", [0, 0.0, 0.5, 5, 300, 300.0, None])
def test_publish_retry_seconds_accepted(seconds: float | None) -> None:
    """A number of seconds from 0 to 300 passes; None is the same as leaving it out."""
    assert check_transport_options({"publish_retry_seconds": seconds}) == []


@pytest.mark.parametrize(
    "seconds", [-1, -0.1, 300.01, 3600, float("inf"), float("nan"), True, False, "5", [5]]
)
def test_publish_retry_seconds_refused(seconds: Any) -> None:
    """Anything else is one problem showing the value, the range, and what it means."""
    (problem,) = check_transport_options({"publish_retry_seconds": seconds})
    assert problem.startswith(
        f"broker_transport_options['publish_retry_seconds']={seconds!r} must be a number of "
        "seconds from 0 to 300: how long the send of one copy of a task"
    )
    assert "0 tries once" in problem


# -- visibility_timeout and wait_time_seconds ----------------------------------------------

WHERE = "Set it in Config(broker_transport_options=...) or the BROKER_TRANSPORT_OPTIONS variable."


@pytest.mark.parametrize(
    ("option", "seconds", "transport"),
    [
        ("visibility_timeout", 1, "sqs"),
        ("visibility_timeout", 0.5, "sqs"),
        ("visibility_timeout", 43200, "sqs"),
        ("visibility_timeout", 50000, "redis"),
        ("visibility_timeout", 50000, "amqp"),
        ("visibility_timeout", None, "sqs"),
        ("wait_time_seconds", 0, "sqs"),
        ("wait_time_seconds", 20, "sqs"),
        ("wait_time_seconds", 10.5, "sqs"),
        ("wait_time_seconds", 60, "redis"),
        ("wait_time_seconds", None, "sqs"),
    ],
)
def test_timeouts_accepted(option: str, seconds: float | None, transport: str) -> None:
    """
    Numbers of seconds within the limits pass; SQS's maxima apply on SQS only.

    None is the same as leaving the option out.
    """
    assert check_transport_options({option: seconds}, transport) == []


def test_sqs_is_the_transport_checked_by_default() -> None:
    """Without a transport, SQS's maxima apply: Config's default broker is SQS."""
    assert check_transport_options({"visibility_timeout": 43201}) != []
    assert check_transport_options({"visibility_timeout": 43201}, "redis") == []


@pytest.mark.parametrize(
    ("seconds", "transport", "limit"),
    [
        (0, "sqs", " up to SQS's maximum of 43200"),
        (-1, "sqs", " up to SQS's maximum of 43200"),
        (43201, "sqs", " up to SQS's maximum of 43200"),
        ("3600", "sqs", " up to SQS's maximum of 43200"),
        (True, "sqs", " up to SQS's maximum of 43200"),
        ([60], "sqs", " up to SQS's maximum of 43200"),
        (0, "redis", ""),
        ("3600", "redis", ""),
    ],
)
def test_visibility_timeout_refused(seconds: Any, transport: str, limit: str) -> None:
    """Not a number, 0 or less, or (on SQS) above 43200: the limits and where to set it."""
    assert check_transport_options({"visibility_timeout": seconds}, transport) == [
        f"broker_transport_options['visibility_timeout']={seconds!r} must be a number of "
        f"seconds above 0{limit}, e.g. 3600: a task not acknowledged within it is "
        f"delivered again. {WHERE}"
    ]


@pytest.mark.parametrize(
    ("seconds", "transport", "limit"),
    [
        (-1, "sqs", " to SQS's maximum of 20"),
        (21, "sqs", " to SQS's maximum of 20"),
        ("5", "sqs", " to SQS's maximum of 20"),
        (False, "sqs", " to SQS's maximum of 20"),
        (-0.5, "redis", " or more"),
        ("5", "redis", " or more"),
    ],
)
def test_wait_time_seconds_refused(seconds: Any, transport: str, limit: str) -> None:
    """Not a number, below 0, or (on SQS) above 20: the limits and where to set it."""
    assert check_transport_options({"wait_time_seconds": seconds}, transport) == [
        f"broker_transport_options['wait_time_seconds']={seconds!r} must be a number of "
        f"seconds from 0{limit}: how long one poll of a queue waits for a message. {WHERE}"
    ]


@pytest.mark.parametrize("seconds", [0, 1, 20, 0.5, None])
def test_turn_wait_time_seconds_accepted(seconds: float | None) -> None:
    """From 0 to SQS's maximum wait of 20 s; None is the same as leaving it out."""
    assert check_transport_options({"turn_wait_time_seconds": seconds}) == []


@pytest.mark.parametrize("seconds", [-1, 21, "1", True, float("nan")])
def test_turn_wait_time_seconds_refused(seconds: Any) -> None:
    """Not a number, below 0 or above 20: the limits, what it does, and where to set it."""
    assert check_transport_options({"turn_wait_time_seconds": seconds}) == [
        f"broker_transport_options['turn_wait_time_seconds']={seconds!r} must be a number of "
        "seconds from 0 to 20: how long one poll waits when a worker without an event loop "
        "(gevent, eventlet) polls several queues in turn; a task on the next queue waits "
        f"that long. {WHERE}"
    ]


@pytest.mark.parametrize("option", ["visibility_timeout", "wait_time_seconds"])
def test_timeouts_that_are_not_a_number_are_refused(option: str) -> None:
    """float('nan') is no number of seconds: refused, as publish_retry_seconds refuses it."""
    assert check_transport_options({option: float("nan")}, "sqs") != []


def test_every_timeout_problem_is_reported() -> None:
    """Both options out of range, and the retry budget: three problems."""
    problems = check_transport_options(
        {"visibility_timeout": 0, "wait_time_seconds": 21, "publish_retry_seconds": -1}
    )
    assert len(problems) == 3

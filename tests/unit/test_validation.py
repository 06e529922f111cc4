from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadasta.workertoolbox._validation import (
    check_non_negative_int,
    check_platform_queue_name,
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
        ("a" * 77, "81 characters; SQS accepts at most 80. Shorten the name or QUEUE_PREFIX."),
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

import pickle
from typing import Any

import pytest
from kombu.exceptions import OperationalError

from cadasta.workertoolbox.exceptions import (
    ConfigError,
    MessageTooLargeError,
    PublishError,
    ToolboxError,
    VisibilityTimeoutError,
)


def test_is_a_value_error() -> None:
    """ConfigError is a ValueError, so code catching ValueError keeps working."""
    assert issubclass(ConfigError, ValueError)


def test_one_problem_is_the_message() -> None:
    """A single problem is the whole message."""
    error = ConfigError("QUEUES=5 is of type int.")
    assert str(error) == "QUEUES=5 is of type int."
    assert error.problems == ("QUEUES=5 is of type int.",)


@pytest.mark.parametrize(
    "problems",
    [["first problem", "second problem"], ("first problem", "second problem")],
)
def test_several_problems_are_listed(problems: list[str] | tuple[str, ...]) -> None:
    """Several problems make one message that counts them and lists each on its line."""
    error = ConfigError(problems)
    assert str(error) == ("2 problems in the configuration:\n  - first problem\n  - second problem")
    assert error.problems == ("first problem", "second problem")


def test_problems_from_a_generator() -> None:
    """Problems may come from any iterable, consumed once."""
    error = ConfigError(f"problem {n}" for n in range(3))
    assert error.problems == ("problem 0", "problem 1", "problem 2")
    assert str(error).startswith("3 problems in the configuration:")


def test_a_string_is_one_problem() -> None:
    """A string is one problem, never one problem per character."""
    assert ConfigError("ab").problems == ("ab",)


@pytest.mark.parametrize(
    "error_class", [ConfigError, VisibilityTimeoutError, PublishError, MessageTooLargeError]
)
def test_every_error_is_a_toolbox_error(error_class: type[Exception]) -> None:
    """One family: code can catch every error of the library with ToolboxError."""
    assert issubclass(error_class, ToolboxError)


def test_publish_error_is_a_broker_error_and_no_config_error() -> None:
    """PublishError is kombu's OperationalError, what circuit breakers count as a broker failure."""
    assert issubclass(PublishError, OperationalError)
    assert not issubclass(PublishError, (ConfigError, ValueError))


def test_message_too_large_is_a_value_error_and_no_config_error() -> None:
    """A message too large is a bad value to send, not a configuration or broker failure."""
    assert issubclass(MessageTooLargeError, ValueError)
    assert not issubclass(MessageTooLargeError, (ConfigError, OperationalError))


def test_publish_error_attributes() -> None:
    """The task, its id, and the queues that hold the message and those that do not."""
    error = PublishError(
        "not sent everywhere",
        task_name="export.render",
        task_id="id-1",
        delivered=iter(["dev-platform.fifo"]),
        missing=["dev-export"],
    )
    assert str(error) == "not sent everywhere"
    assert (error.task_name, error.task_id) == ("export.render", "id-1")
    assert (error.delivered, error.missing) == (("dev-platform.fifo",), ("dev-export",))


def test_message_too_large_attributes() -> None:
    """The task, its id, the message's size, the limit and the queue that has it."""
    error = MessageTooLargeError(
        "too large", task_name="x", task_id="1", size=2000, limit=1024, queue="dev-export"
    )
    assert str(error) == "too large"
    assert (error.task_name, error.task_id, error.size, error.limit, error.queue) == (
        "x",
        "1",
        2000,
        1024,
        "dev-export",
    )


@pytest.mark.parametrize(
    ("error", "empty"),
    [
        pytest.param(
            PublishError("lost"),
            {"task_name": None, "task_id": None, "delivered": (), "missing": ()},
            id="publish-error",
        ),
        pytest.param(
            MessageTooLargeError("large"),
            {"task_name": None, "task_id": None, "size": None, "limit": None, "queue": None},
            id="message-too-large",
        ),
    ],
)
def test_errors_are_built_from_their_message_alone(error: Exception, empty: dict[str, Any]) -> None:
    """Built from the message alone, as Celery's result serialisers do, the rest is empty."""
    assert {name: getattr(error, name) for name in empty} == empty


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(PublishError("lost"), id="publish-error-message-alone"),
        pytest.param(
            PublishError("lost", task_name="x", task_id="1", delivered=["a"], missing=["b"]),
            id="publish-error",
        ),
        pytest.param(MessageTooLargeError("large"), id="message-too-large-message-alone"),
        pytest.param(
            MessageTooLargeError("large", task_name="x", size=3, limit=2, queue="q"),
            id="message-too-large",
        ),
    ],
)
def test_errors_survive_pickling(error: Exception) -> None:
    """A pickled error comes back of its class, with its message and its attributes."""
    rebuilt = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own data)
    assert type(rebuilt) is type(error)
    assert (str(rebuilt), rebuilt.args) == (str(error), error.args)
    assert vars(rebuilt) == vars(error)

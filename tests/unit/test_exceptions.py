import pytest

from cadasta.workertoolbox.exceptions import ConfigError


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

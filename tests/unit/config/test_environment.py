import contextlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadasta.workertoolbox.config._environment import DEFAULT_ENV_PREFIX, Environment, parse_value
from cadasta.workertoolbox.config._secrets import MASK
from cadasta.workertoolbox.exceptions import ConfigError

# -- Environment ---------------------------------------------------------------------------


def test_prefix_defaults_to_celery() -> None:
    """Without ENV_PREFIX nor CELERY_ENV_PREFIX, variables are read as CELERY_NAME."""
    environment = Environment({})
    assert DEFAULT_ENV_PREFIX == "CELERY_"
    assert environment.prefix == "CELERY_"
    assert environment.variable("result_db_pass") == "CELERY_RESULT_DB_PASS"


def test_prefix_from_celery_env_prefix() -> None:
    """CELERY_ENV_PREFIX in the environment names the prefix."""
    environment = Environment({"CELERY_ENV_PREFIX": "WORKER_", "WORKER_QUEUES": "['a']"})
    assert environment.prefix == "WORKER_"
    assert environment.lookup("QUEUES") == "['a']"


def test_prefix_given_beats_the_environment() -> None:
    """A prefix given by the caller (the ENV_PREFIX keyword) beats CELERY_ENV_PREFIX."""
    environment = Environment({"CELERY_ENV_PREFIX": "WORKER_"}, prefix="APP_")
    assert environment.prefix == "APP_"


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a mapping, the process environment is read."""
    monkeypatch.setenv("CELERY_SOMETHING_ONLY_THIS_TEST_SETS", "yes")
    assert Environment().lookup("something_only_this_test_sets") == "yes"


def test_lookup_and_get() -> None:
    """lookup() gives the raw text or None; get() parses it or gives the default."""
    environment = Environment({"CELERY_CHORD_UNLOCK_MAX_RETRIES": "12"})
    assert environment.lookup("CHORD_UNLOCK_MAX_RETRIES") == "12"
    assert environment.lookup("QUEUES") is None
    assert environment.get("CHORD_UNLOCK_MAX_RETRIES", 43200) == 12
    assert environment.get("QUEUES", ("export",)) == ("export",)


def test_get_reports_the_variable_that_does_not_parse() -> None:
    """A variable that does not parse is a ConfigError naming it."""
    environment = Environment({"CELERY_CHORD_UNLOCK_MAX_RETRIES": "many"})
    with pytest.raises(ConfigError, match="CELERY_CHORD_UNLOCK_MAX_RETRIES='many'"):
        environment.get("CHORD_UNLOCK_MAX_RETRIES", 43200)


def test_unclaimed_variables() -> None:
    """
    unclaimed() yields the prefixed variables nobody reads, with their setting name.

    Skipped: other prefixes, the prefix alone, claimed settings, and the variables Celery
    or its command line read themselves.
    """
    environment = Environment(
        {
            "CELERY_TASK_ACKS_LATE": "true",
            "CELERY_RESULT_EXPIRES": "3600",
            "CELERY_QUEUES": "['export']",
            "CELERY_LOG_LEVEL": "10",
            "CELERY_WORKER_CONCURRENCY": "4",
            "CELERY_": "nothing",
            "PATH": "/usr/bin",
        }
    )
    assert list(environment.unclaimed({"queues"})) == [
        ("CELERY_RESULT_EXPIRES", "result_expires", "3600"),
        ("CELERY_TASK_ACKS_LATE", "task_acks_late", "true"),
    ]


# -- parse_value ---------------------------------------------------------------------------


@pytest.mark.parametrize("default", ["text", None])
def test_strings_are_taken_as_they_are(default: str | None) -> None:
    """A string default, or None, takes the text unchanged, quotes and blanks included."""
    assert parse_value("CELERY_X", " 'quoted' ", default) == " 'quoted' "


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("true", True),
        ("True", True),
        (" YES ", True),
        ("on", True),
        ("1", True),
        ("y", True),
        ("t", True),
        ("false", False),
        ("False", False),
        ("no", False),
        ("off", False),
        ("0", False),
        ("n", False),
        ("f", False),
    ],
)
def test_booleans(raw: str, value: bool) -> None:
    """Booleans accept the usual words, in any case and with blanks around them."""
    assert parse_value("CELERY_SETUP_FILE_LOGGING", raw, False) is value


@pytest.mark.parametrize(
    ("raw", "default", "value"),
    [
        ("3", 0, 3),
        (" -7 ", 0, -7),
        ("1.5", 0.0, 1.5),
        ("2", 0.0, 2.0),
        ("['export', 'msg']", (), ("export", "msg")),
        ("('export', 'msg')", (), ("export", "msg")),
        ("('export', 'msg')", [], ["export", "msg"]),
        ("['export']", [], ["export"]),
        ("{'region': 'eu-west-1'}", {}, {"region": "eu-west-1"}),
        ("{1, 2}", {0}, {1, 2}),
    ],
)
def test_literals(raw: str, default: Any, value: Any) -> None:
    """Other types read the text as a Python literal of the default's type."""
    parsed = parse_value("CELERY_X", raw, default)
    assert parsed == value
    assert type(parsed) is type(value)


@pytest.mark.parametrize(
    ("raw", "default", "expected"),
    [
        ("maybe", False, "bool; expected true or false"),
        ("", False, "bool; expected true or false"),
        ("  ", True, "bool; expected true or false"),
        ("many", 0, "int; expected a whole number such as 3"),
        ("True", 0, "int; expected a whole number such as 3"),
        ("1.5", 0, "int; expected a whole number such as 3"),
        ("'1'", 0, "int; expected a whole number such as 3"),
        ("True", 0.0, "float; expected a number such as 1.5"),
        ("export", (), "tuple; expected a tuple such as ('export', 'msg')"),
        ("'export'", (), "tuple; expected a tuple such as ('export', 'msg')"),
        ("[", [], "list; expected a list such as ['export', 'msg']"),
        ("['a']", {}, "dict; expected a dict such as {'region': 'eu-west-1'}"),
        ("[1]", {0}, "set; expected a set written as a Python literal"),
        ("{[]: 1}", {}, "dict; expected a dict such as {'region': 'eu-west-1'}"),
        ("[" * 1000, [], "list; expected a list such as ['export', 'msg']"),
    ],
)
def test_bad_values(raw: str, default: Any, expected: str) -> None:
    """A text that does not parse names the variable, shows the text, says what is valid."""
    with pytest.raises(ConfigError) as caught:
        parse_value("CELERY_SOME_SETTING", raw, default)
    message = str(caught.value)
    assert message.startswith(f"environment variable CELERY_SOME_SETTING={raw!r} ")
    assert f"is not a valid {expected}" in message
    assert message.endswith("Fix or unset the variable.")


@pytest.mark.parametrize("default", [True, False])
def test_an_empty_boolean_is_an_error_not_false(default: bool) -> None:
    """
    CELERY_SETUP_FILE_LOGGING='' is a mistake (a variable set to nothing), not a "no".

    The error names the variable and says what is accepted, whatever the default.
    """
    environment = Environment({"CELERY_SETUP_FILE_LOGGING": ""})
    with pytest.raises(ConfigError) as caught:
        environment.get("SETUP_FILE_LOGGING", default)
    assert str(caught.value) == (
        "environment variable CELERY_SETUP_FILE_LOGGING='' is not a valid bool; expected "
        "true or false. Fix or unset the variable."
    )


def test_code_is_never_evaluated(tmp_path: Path) -> None:
    """A variable holding code is refused, not run: ast.literal_eval, never eval."""
    witness = tmp_path / "ran"
    code = f"__import__('os').system('touch {witness}')"
    with pytest.raises(ConfigError, match="CELERY_QUEUES"):
        parse_value("CELERY_QUEUES", code, ())
    with pytest.raises(ConfigError, match="CELERY_CHORD_UNLOCK_MAX_RETRIES"):
        parse_value("CELERY_CHORD_UNLOCK_MAX_RETRIES", code, 0)
    assert not witness.exists()


@pytest.mark.parametrize(
    ("variable", "raw", "hidden"),
    [
        ("CELERY_API_TOKEN_COUNT", "token-abc", "token-abc"),
        ("CELERY_BROKER_URL_RETRIES", "amqp://u:hunter2@h//", "hunter2"),
    ],
)
def test_errors_mask_secrets(variable: str, raw: str, hidden: str) -> None:
    """The value of a secret variable is masked in the error; a URL loses its password."""
    with pytest.raises(ConfigError) as caught:
        parse_value(variable, raw, 0)
    assert hidden not in str(caught.value)
    assert MASK in str(caught.value)


_DEFAULTS: st.SearchStrategy[Any] = st.sampled_from([False, 0, 0.0, (), [], {}, {0}, "", None])


@given(raw=st.text(), default=_DEFAULTS)
def test_only_config_errors_escape(raw: str, default: Any) -> None:
    """Whatever the text, parse_value returns the default's type or raises ConfigError."""
    try:
        value = parse_value("CELERY_ANYTHING", raw, default)
    except ConfigError:
        return
    expected = str if default is None else type(default)
    assert type(value) is expected


@given(
    raw=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda inner: st.lists(inner) | st.tuples(inner, inner) | st.dictionaries(st.text(), inner),
        max_leaves=10,
    ).map(repr),
    default=_DEFAULTS,
)
def test_only_config_errors_escape_from_literals(raw: str, default: Any) -> None:
    """Whatever Python literal the variable holds, only ConfigError escapes."""
    with contextlib.suppress(ConfigError):
        parse_value("CELERY_ANYTHING", raw, default)

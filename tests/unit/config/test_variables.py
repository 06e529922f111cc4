"""The library's UPPERCASE variables (config/_variables.py): QUEUES, each variable, Config.set."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadasta.workertoolbox import DEFAULT_QUEUES
from cadasta.workertoolbox.conf import LIBRARY_VARIABLES, Config
from cadasta.workertoolbox.exceptions import ConfigError

MakeConfig = Callable[..., Config]
CHORD_UNLOCK = "celery.chord_unlock"


# -- QUEUES ----------------------------------------------------------------------------------


@pytest.mark.parametrize("keyword", ["queues", "QUEUES"])
def test_queues_keyword_both_spellings(make_config: MakeConfig, keyword: str) -> None:
    """queues= (the 1.0 spelling) and QUEUES= (0.6) both set the work queues."""
    config = make_config(**{keyword: ["export", "report"]})
    assert config.QUEUES == ["export", "report"]
    assert [q.name for q in config["task_queues"]] == [
        "celery",
        "platform.fifo",
        "export",
        "report",
    ]
    assert "queues" not in config


def test_queues_twice_is_an_error(make_config: MakeConfig) -> None:
    """Giving both queues= and QUEUES= is an error saying to give only QUEUES."""
    with pytest.raises(ConfigError, match="queues and QUEUES name the same variable"):
        make_config(queues=["a"], QUEUES=["b"])


def test_default_queues(make_config: MakeConfig) -> None:
    """Without queues, the work queues are DEFAULT_QUEUES."""
    config = make_config()
    assert config["QUEUES"] == list(DEFAULT_QUEUES)


def test_queues_from_the_environment(make_config: MakeConfig) -> None:
    """CELERY_QUEUES holds a Python list of names."""
    config = make_config({"CELERY_QUEUES": "['export', 'report']"})
    assert config.QUEUES == ["export", "report"]


@pytest.mark.parametrize("keyword", ["queues", "QUEUES"])
def test_a_bare_string_is_refused(make_config: MakeConfig, keyword: str) -> None:
    """queues="export" is an error naming the setting, never six one-letter queues."""
    with pytest.raises(ConfigError, match=r"(?i)queues='export' is a single string") as caught:
        make_config(**{keyword: "export"})
    assert "QUEUES=['export']" in str(caught.value)


def test_a_bare_string_in_the_environment_is_refused(make_config: MakeConfig) -> None:
    """CELERY_QUEUES=export is not a list: an error naming the variable and the type."""
    with pytest.raises(ConfigError, match="CELERY_QUEUES='export' is not a valid tuple"):
        make_config({"CELERY_QUEUES": "export"})


_ANYTHING = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner)
        | st.frozensets(st.text() | st.integers(), max_size=4)
        | st.dictionaries(st.text(), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(queues=_ANYTHING | st.lists(st.text(alphabet="ab_.-#* é", max_size=5), max_size=4))
def test_only_config_errors_escape_for_any_queues(make_config: MakeConfig, queues: Any) -> None:
    """Whatever queues is, a Config is built or a ConfigError raised: nothing else."""
    try:
        config = make_config(queues=queues)
    except ConfigError:
        return
    assert [q.name for q in config["task_queues"]][2:] == [
        name for name in config.QUEUES if name != "celery"
    ]


def test_queue_name_prefix_is_queue_prefix(make_config: MakeConfig) -> None:
    """QUEUE_NAME_PREFIX (0.6) is accepted for QUEUE_PREFIX."""
    config = make_config(QUEUE_NAME_PREFIX="prod")
    assert config.QUEUE_PREFIX == "prod"
    assert config["broker_transport_options"]["queue_name_prefix"] == "prod-"


# -- library variables and Config.set ----------------------------------------------------------


def test_library_variable_defaults(make_config: MakeConfig) -> None:
    """Every library variable has its documented default."""
    config = make_config()
    for name, default in LIBRARY_VARIABLES.items():
        expected = list(default) if name == "QUEUES" else default
        assert config[name] == expected
    assert config.RESULT_DB_USER == "worker"
    assert config.CHORD_UNLOCK_MAX_RETRIES == 43200
    assert config.ENV_PREFIX == "CELERY_"
    assert config.SETUP_SENTRY_LOGGING is False


@pytest.mark.parametrize(
    ("name", "keyword", "raw", "parsed", "default"),
    [
        ("RESULT_DB_HOST", "kw.example", "env.example", "env.example", "localhost"),
        ("QUEUE_PREFIX", "kw", "env", "env", "dev"),
        ("CHORD_UNLOCK_MAX_RETRIES", 7, "8", 8, 43200),
        ("task_default_exchange", "kw_exchange", "env_exchange", "env_exchange", "task_exchange"),
        ("task_track_started", False, "no", False, True),
    ],
)
def test_precedence(
    make_config: MakeConfig, name: str, keyword: Any, raw: str, parsed: Any, default: Any
) -> None:
    """A keyword beats the variable {ENV_PREFIX}{NAME}, which beats the default."""
    environ = {f"CELERY_{name.upper()}": raw}
    assert make_config(environ, **{name: keyword})[name] == keyword
    assert make_config(environ)[name] == parsed
    assert make_config()[name] == default


def test_env_prefix_from_the_keyword(make_config: MakeConfig) -> None:
    """ENV_PREFIX given as keyword names the prefix of every variable read."""
    environ = {"APP_RESULT_DB_HOST": "app.example", "CELERY_RESULT_DB_HOST": "celery.example"}
    config = make_config(environ, ENV_PREFIX="APP_")
    assert config.ENV_PREFIX == "APP_"
    assert config.RESULT_DB_HOST == "app.example"


def test_env_prefix_from_the_environment(make_config: MakeConfig) -> None:
    """CELERY_ENV_PREFIX names the prefix when no keyword does."""
    environ = {"CELERY_ENV_PREFIX": "APP_", "APP_RESULT_DB_HOST": "app.example"}
    config = make_config(environ)
    assert config.ENV_PREFIX == "APP_"
    assert config.RESULT_DB_HOST == "app.example"


def test_env_prefix_must_be_a_string(make_config: MakeConfig) -> None:
    """An ENV_PREFIX that is not a string is an error; CELERY_ is read meanwhile."""
    with pytest.raises(ConfigError, match=r"ENV_PREFIX=5 must be a string such as 'CELERY_'\."):
        make_config(ENV_PREFIX=5)


def test_set(make_config: MakeConfig) -> None:
    """Config.set reads a keyword, else the variable parsed to the default's type, else it."""
    config = make_config(
        {"CELERY_RETRIES": "4", "CELERY_NAMES": "['a']", "CELERY_FLAG": "on"}, GIVEN=1
    )
    assert config.set("RETRIES", 0) == 4
    assert config.set("NAMES", ()) == ("a",)
    assert config.set("FLAG", False) is True
    assert config.set("GIVEN", 2) == 1
    assert config.set("RETRIES", 0, from_env=False) == 0
    assert config.set("MISSING", "default") == "default"
    assert config["RETRIES"] == 0


def test_set_never_evaluates_code(make_config: MakeConfig, tmp_path: Path) -> None:
    """Variable text is read with ast.literal_eval: code in it is refused, never run."""
    witness = tmp_path / "ran"
    code = f"__import__('os').system('touch {witness}')"
    with pytest.raises(ConfigError, match="CELERY_CHORD_UNLOCK_MAX_RETRIES"):
        make_config({"CELERY_CHORD_UNLOCK_MAX_RETRIES": code})
    with pytest.raises(ConfigError, match="CELERY_QUEUES"):
        make_config({"CELERY_QUEUES": code})
    config = make_config({"CELERY_CUSTOM": code})
    with pytest.raises(ConfigError, match="CELERY_CUSTOM"):
        config.set("CUSTOM", [])
    assert not witness.exists()


@pytest.mark.parametrize(
    ("variable", "raw", "expected"),
    [
        ("CELERY_CHORD_UNLOCK_MAX_RETRIES", "forever", "int"),
        ("CELERY_SETUP_FILE_LOGGING", "perhaps", "bool"),
        ("CELERY_QUEUES", "{'a': 1}", "tuple"),
        ("CELERY_TASK_TRACK_STARTED", "2", "bool"),
        ("CELERY_IMPORTS", "app.tasks", "tuple"),
        ("CELERY_BROKER_TRANSPORT_OPTIONS", "region=eu", "dict"),
        ("CELERY_SETUP_SENTRY_LOGGING", "sometimes", "bool"),
    ],
)
def test_bad_values(make_config: MakeConfig, variable: str, raw: str, expected: str) -> None:
    """A variable that does not parse is a ConfigError (a ValueError) naming it and its type."""
    with pytest.raises(ValueError, match="environment variable") as caught:
        make_config({variable: raw})
    assert isinstance(caught.value, ConfigError)
    assert f"{variable}={raw!r} is not a valid {expected}; expected " in str(caught.value)


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"QUEUE_PREFIX": 5}, "QUEUE_PREFIX=5 must be a string such as 'dev'."),
        ({"CHORD_UNLOCK_MAX_RETRIES": -1}, "CHORD_UNLOCK_MAX_RETRIES=-1 must be a whole number"),
        ({"PLATFORM_QUEUE_NAME": "export"}, "PLATFORM_QUEUE_NAME='export' is also a work queue"),
    ],
)
def test_bad_keywords(make_config: MakeConfig, settings: dict[str, Any], problem: str) -> None:
    """A library variable given a bad value is an error naming it and saying what is valid."""
    with pytest.raises(ConfigError) as caught:
        make_config(**settings)
    assert problem in str(caught.value)


def test_several_problems_in_one_error(make_config: MakeConfig) -> None:
    """Every problem of a configuration is reported in one ConfigError, each listed."""
    environ = {
        "CELERY_CHORD_UNLOCK_MAX_RETRIES": "forever",
        "CELERY_SETUP_SENTRY_LOGGING": "sometimes",
        "CELERY_TASK_TRACK_STARTED": "2",
        "CELERY_TASK_ACKS_LATE": "perhaps",
    }
    with pytest.raises(ConfigError) as caught:
        make_config(
            environ,
            queues="export",
            QUEUE_PREFIX=1,
            ENV_PREFIX=None,
            broker_transport_options=["region"],
            result_backend="db+postgresql://{0.NOPE}/x",
            task_annotations={CHORD_UNLOCK: "cap"},
        )
    problems = caught.value.problems
    assert len(problems) == 9
    assert str(caught.value).startswith("9 problems in the configuration:\n  - ")
    for expected in (
        "CELERY_CHORD_UNLOCK_MAX_RETRIES",
        "CELERY_SETUP_SENTRY_LOGGING",
        "QUEUES='export'",
        "QUEUE_PREFIX=1",
        "broker_transport_options=['region']",
        "result_backend",
        "CELERY_TASK_TRACK_STARTED",
        f"task_annotations[{CHORD_UNLOCK!r}]='cap'",
        "CELERY_TASK_ACKS_LATE",
    ):
        assert sum(expected in problem for problem in problems) == 1, expected


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without environ=, the process environment is read."""
    monkeypatch.setenv("CELERY_RESULT_DB_HOST", "from-os-environ.example")
    assert Config().RESULT_DB_HOST == "from-os-environ.example"

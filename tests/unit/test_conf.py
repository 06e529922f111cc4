import logging
import pprint
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kombu.entity import Exchange, Queue
from sqlalchemy.engine import make_url

from cadasta.workertoolbox import DEFAULT_QUEUES
from cadasta.workertoolbox._chord_unlock import _fail_chord_body
from cadasta.workertoolbox.conf import LIBRARY_VARIABLES, Config
from cadasta.workertoolbox.config._routing import TaskRouter
from cadasta.workertoolbox.config._secrets import MASK
from cadasta.workertoolbox.exceptions import ConfigError
from cadasta.workertoolbox.publish.memory import Transport as MemoryTransport
from cadasta.workertoolbox.publish.transports import ENV_PREFIX_OPTION, TRANSPORTS

MakeConfig = Callable[..., Config]
CHORD_UNLOCK = "celery.chord_unlock"
DEFAULT_BACKEND = "db+postgresql+psycopg2://worker:cadasta@localhost:5432/cadasta"
DEFAULT_TRANSPORT_OPTIONS = {
    "region": "us-west-2",
    "queue_name_prefix": "dev-",
    "wait_time_seconds": 20,
    "visibility_timeout": 3600,
    "max_retries": 3,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
    "publish_retry_seconds": 5,
    "turn_wait_time_seconds": 0,
}


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


# -- the sweep of other variables ----------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "raw", "setting", "value"),
    [
        ("CELERY_TASK_ACKS_LATE", "true", "task_acks_late", True),
        ("CELERY_RESULT_EXTENDED", "yes", "result_extended", True),
        ("CELERY_RESULT_EXPIRES", "3600", "result_expires", 3600.0),
        ("CELERY_BROKER_CONNECTION_TIMEOUT", "4", "broker_connection_timeout", 4.0),
        ("CELERY_BROKER_POOL_LIMIT", "5", "broker_pool_limit", 5),
        ("CELERY_ACCEPT_CONTENT", "['json']", "accept_content", ["json"]),
        ("CELERY_TASK_PUBLISH_RETRY_POLICY", "{'max_retries': 1}", "task_publish_retry_policy",
         {"max_retries": 1}),
        ("CELERY_TASK_DEFAULT_RATE_LIMIT", "10/m", "task_default_rate_limit", "10/m"),
        ("CELERY_TIMEZONE", "Europe/Paris", "timezone", "Europe/Paris"),
        ("CELERY_MY_OWN_SETTING", "[1]", "my_own_setting", "[1]"),
    ],
)  # fmt: skip
def test_other_variables_become_settings(
    make_config: MakeConfig, variable: str, raw: str, setting: str, value: Any
) -> None:
    """Any other {prefix}NAME variable becomes the setting name, typed as Celery types it."""
    config = make_config({variable: raw})
    assert config[setting] == value
    assert type(config[setting]) is type(value)
    assert setting in config.to_dict()


def test_other_variables_use_the_prefix(make_config: MakeConfig) -> None:
    """The sweep reads the configured prefix only."""
    config = make_config(
        {"APP_TASK_ACKS_LATE": "true", "CELERY_RESULT_EXTENDED": "true"}, ENV_PREFIX="APP_"
    )
    assert config["task_acks_late"] is True
    assert "result_extended" not in config


@pytest.mark.parametrize("keyword", ["task_acks_late", "TASK_ACKS_LATE"])
def test_settings_given_are_not_swept(make_config: MakeConfig, keyword: str) -> None:
    """A setting given by keyword, in either case, is not read again from the sweep."""
    config = make_config({"CELERY_TASK_ACKS_LATE": "true"}, **{keyword: False})
    assert config[keyword] is False
    assert config.get("task_acks_late", False) is False


@pytest.mark.parametrize(
    "variable",
    [
        "CELERY_LOG_LEVEL",
        "CELERY_LOG_FILE",
        "CELERY_APP",
        "CELERY_WORKER_CONCURRENCY",
        "CELERY_WORKER_PREFETCH_MULTIPLIER",
        "CELERY_CONFIG_MODULE",
        "CELERY_RDB_PORT",
    ],
)
def test_celerys_own_variables_are_not_swept(make_config: MakeConfig, variable: str) -> None:
    """Variables Celery or its command line read themselves never become settings."""
    config = make_config({variable: "10"})
    assert variable.removeprefix("CELERY_").lower() not in config


@pytest.mark.parametrize(
    ("variable", "setting"),
    [
        ("CELERY_TASK_ROUTES", "task_routes"),
        ("CELERY_TASK_QUEUES", "task_queues"),
        ("CELERY_TASK_ANNOTATIONS", "task_annotations"),
    ],
)
def test_what_the_configuration_builds_is_not_swept(
    make_config: MakeConfig, variable: str, setting: str
) -> None:
    """The settings the configuration builds are never replaced from the environment."""
    config = make_config({variable: "{}"})
    assert config.get(setting) != "{}"
    assert config.get(setting) != {}


def test_hijacking_the_root_logger_from_the_environment(make_config: MakeConfig) -> None:
    """Without file logging, worker_hijack_root_logger is an ordinary swept setting."""
    config = make_config({"CELERY_WORKER_HIJACK_ROOT_LOGGER": "false"})
    assert config["worker_hijack_root_logger"] is False


def test_swept_values_that_do_not_parse(make_config: MakeConfig) -> None:
    """A swept variable that does not parse to Celery's type is an error naming it."""
    with pytest.raises(ConfigError, match="CELERY_TASK_ACKS_LATE='perhaps' is not a valid bool"):
        make_config({"CELERY_TASK_ACKS_LATE": "perhaps"})


# -- broker ------------------------------------------------------------------------------------


def test_broker_defaults_to_sqs(make_config: MakeConfig) -> None:
    """Without a broker URL, the transport is the library's SQS one and no URL is set."""
    config = make_config()
    assert config["broker_transport"] == TRANSPORTS["sqs"]
    assert "broker_url" not in config


@pytest.mark.parametrize(
    ("url", "transport"),
    [
        ("memory://", TRANSPORTS["memory"]),
        ("amqp://guest:guest@rabbit:5672//", None),
        ("redis://r/0", TRANSPORTS["redis"]),
        ("rediss://r/0", TRANSPORTS["rediss"]),
    ],
)
@pytest.mark.parametrize("source", ["keyword", "environment"])
def test_another_broker_url_wins(
    make_config: MakeConfig, url: str, transport: str | None, source: str
) -> None:
    """
    A broker URL of another scheme, by keyword or CELERY_BROKER_URL, drops the SQS default.

    The transport is then the library's for that scheme (memory, Redis); AMQP has none of
    the library's, so broker_transport is left out and Celery goes by the URL.
    """
    if source == "keyword":
        config = make_config(broker_url=url)
    else:
        config = make_config({"CELERY_BROKER_URL": url})
    assert config["broker_url"] == url
    assert config.get("broker_transport") == transport
    assert ("broker_transport" in config) is (transport is not None)


def test_an_sqs_url_keeps_sqs(make_config: MakeConfig) -> None:
    """An sqs:// URL keeps the library's SQS transport."""
    config = make_config(broker_url="sqs://")
    assert config["broker_transport"] == TRANSPORTS["sqs"]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        pytest.param({"broker_transport": "memory"}, TRANSPORTS["memory"], id="memory-alone"),
        pytest.param({"broker_transport": "SQS"}, TRANSPORTS["sqs"], id="sqs-any-case"),
        pytest.param(
            {"broker_transport": TRANSPORTS["memory"], "broker_url": "memory://"},
            TRANSPORTS["memory"],
            id="library-path-with-url",
        ),
        pytest.param(
            {"broker_transport": TRANSPORTS["sqs"]}, TRANSPORTS["sqs"], id="library-path-alone"
        ),
        pytest.param(
            {"broker_transport": TRANSPORTS["redis"], "broker_url": "redis://r/0"},
            TRANSPORTS["redis"],
            id="library-redis-path-with-url",
        ),
        pytest.param(
            {"broker_transport": "amqp", "broker_url": "amqp://h//"}, "amqp", id="amqp-kept"
        ),
        pytest.param(
            {"broker_transport": MemoryTransport, "broker_url": None},
            MemoryTransport,
            id="a-class-without-url-kept",
        ),
    ],
)
def test_broker_transport_given_becomes_the_librarys(
    make_config: MakeConfig, settings: dict[str, Any], expected: Any
) -> None:
    """
    A transport given by kombu's name or the library's path is the library's transport.

    A name the library has no transport for (amqp), or a class, is kept as given.
    """
    assert make_config(**settings)["broker_transport"] == expected


def test_the_librarys_path_contradicting_the_url_is_an_error(make_config: MakeConfig) -> None:
    """The library's SQS path with a memory:// URL contradicts it, as 'sqs' would."""
    with pytest.raises(ConfigError, match="contradicts broker_url, whose scheme is 'memory'"):
        make_config(broker_transport=TRANSPORTS["sqs"], broker_url="memory://")


@pytest.mark.parametrize(
    ("environ", "settings", "expected"),
    [
        pytest.param({}, {"ENV_PREFIX": "EXPORT_"}, "EXPORT_", id="keyword"),
        pytest.param({"CELERY_ENV_PREFIX": "APP_"}, {}, "APP_", id="environment"),
        pytest.param({}, {}, None, id="celery-default"),
        pytest.param({}, {"ENV_PREFIX": "CELERY_"}, None, id="celery-given"),
    ],
)
def test_env_prefix_is_told_to_the_transport(
    make_config: MakeConfig,
    environ: dict[str, str],
    settings: dict[str, Any],
    expected: str | None,
) -> None:
    """
    An ENV_PREFIX other than CELERY_ is a transport option, for the fixes errors suggest.

    With CELERY_, the option is left out: the transport assumes it.
    """
    options = make_config(environ, **settings)["broker_transport_options"]
    assert options.get(ENV_PREFIX_OPTION) == expected
    assert (ENV_PREFIX_OPTION in options) is (expected is not None)


@pytest.mark.parametrize(
    ("environ", "settings"),
    [
        ({}, {"broker_url": "memory://", "broker_transport": "sqs"}),
        ({"CELERY_BROKER_TRANSPORT": "amqp"}, {"broker_url": "memory://"}),
        ({"CELERY_BROKER_URL": "redis://r/0"}, {"broker_transport": "sqs"}),
    ],
)
def test_contradictory_transport(
    make_config: MakeConfig, environ: dict[str, str], settings: dict[str, str]
) -> None:
    """A broker_transport that contradicts the URL's scheme is an error saying to remove it."""
    with pytest.raises(ConfigError, match="contradicts broker_url, whose scheme is"):
        make_config(environ, **settings)


@pytest.mark.parametrize(
    ("settings", "transport"),
    [
        ({"broker_url": "amqp://h//", "broker_transport": "amqp"}, "amqp"),
        ({"broker_url": "redis://r/0", "broker_transport": "redis"}, TRANSPORTS["redis"]),
        ({"broker_transport": "redis"}, TRANSPORTS["redis"]),
    ],
)
def test_agreeing_transport(
    make_config: MakeConfig, settings: dict[str, str], transport: str
) -> None:
    """A broker_transport that agrees with the URL, or stands alone, is kept (the library's)."""
    assert make_config(**settings)["broker_transport"] == transport


def test_transport_option_defaults(make_config: MakeConfig) -> None:
    """The transport options are SQS's: region, queue prefix, long polling, failing fast."""
    assert make_config()["broker_transport_options"] == DEFAULT_TRANSPORT_OPTIONS


@pytest.mark.parametrize(
    ("environ", "settings", "changed"),
    [
        ({}, {"broker_transport_options": {"region": "eu-west-1"}}, {"region": "eu-west-1"}),
        ({"CELERY_BROKER_TRANSPORT_OPTIONS": "{'region': 'eu-west-1'}"}, {},
         {"region": "eu-west-1"}),
        ({}, {"QUEUE_PREFIX": "prod"}, {"queue_name_prefix": "prod-"}),
        ({"CELERY_QUEUE_PREFIX": "prod"}, {}, {"queue_name_prefix": "prod-"}),
        ({}, {"QUEUE_PREFIX": ""}, {"queue_name_prefix": ""}),
        ({}, {"broker_transport_options": {"queue_name_prefix": "x-", "polling_interval": 5}},
         {"queue_name_prefix": "x-", "polling_interval": 5}),
    ],
)  # fmt: skip
def test_transport_options_are_merged(
    make_config: MakeConfig,
    environ: dict[str, str],
    settings: dict[str, Any],
    changed: dict[str, Any],
) -> None:
    """Options given are merged over the defaults: changing the region keeps the prefix."""
    options = make_config(environ, **settings)["broker_transport_options"]
    assert options == {**DEFAULT_TRANSPORT_OPTIONS, **changed}


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ("region=eu-west-1", "is of type str; give a dict"),
        ({"region": 5}, "broker_transport_options['region']=5 must be a string"),
    ],
)
def test_bad_transport_options(make_config: MakeConfig, options: Any, problem: str) -> None:
    """Options that are not a dict, or a region that is not a string, are errors."""
    with pytest.raises(ConfigError, match=re.escape(problem)):
        make_config(broker_transport_options=options)


# -- result backend ----------------------------------------------------------------------------


def test_result_backend_default(make_config: MakeConfig) -> None:
    """The result backend is PostgreSQL through psycopg2, from the RESULT_DB_ variables."""
    assert make_config()["result_backend"] == DEFAULT_BACKEND


def test_result_backend_from_the_variables(make_config: MakeConfig) -> None:
    """Each RESULT_DB_ variable, keyword or environment, is a part of the URL."""
    config = make_config(
        {"CELERY_RESULT_DB_HOST": "db.example", "CELERY_RESULT_DB_PORT": "6432"},
        RESULT_DB_USER="reporter",
        RESULT_DB_PASS="pw",
        RESULT_DB_NAME="platform",
    )
    assert config["result_backend"] == (
        "db+postgresql+psycopg2://reporter:pw@db.example:6432/platform"
    )


@pytest.mark.parametrize(
    "password", ["p@ss", "p:ss", "p/ss", "p#ss", "p%ss", "with spaces", "@:/#%"]
)
def test_result_backend_password_round_trips(make_config: MakeConfig, password: str) -> None:
    """A password with URL punctuation reaches SQLAlchemy unchanged."""
    url = make_url(make_config(RESULT_DB_PASS=password)["result_backend"].removeprefix("db+"))
    assert url.password == password
    assert url.drivername == "postgresql+psycopg2"


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(password=st.text(st.characters(exclude_categories=["Cs"]), min_size=1))
def test_any_password_round_trips(make_config: MakeConfig, password: str) -> None:
    """Whatever the password, from the environment, SQLAlchemy reads it back."""
    config = make_config({"CELERY_RESULT_DB_PASS": password})
    url = make_url(config["result_backend"].removeprefix("db+"))
    assert url.password == password


def test_result_backend_password_not_utf8(make_config: MakeConfig) -> None:
    """A password os.environ could not decode as UTF-8 is a ConfigError, not a crash."""
    with pytest.raises(ConfigError, match="must be valid UTF-8 text"):
        make_config({"CELERY_RESULT_DB_PASS": "pass\udcff"})


@pytest.mark.parametrize("source", ["keyword", "prefixed variable"])
def test_result_backend_template(make_config: MakeConfig, source: str) -> None:
    """A result_backend given is rendered with str.format(config); postgresql gets psycopg2."""
    template = "db+postgresql://{0.RESULT_DB_USER}:{0.RESULT_DB_PASS}@{0.RESULT_DB_HOST}/x"
    if source == "keyword":
        config = make_config(result_backend=template, RESULT_DB_PASS="pw")
    else:
        config = make_config(
            {"WORKER_RESULT_BACKEND": template}, ENV_PREFIX="WORKER_", RESULT_DB_PASS="pw"
        )
    assert config["result_backend"] == "db+postgresql+psycopg2://worker:pw@localhost/x"


@pytest.mark.parametrize(
    "template",
    [
        "db+postgresql://{0.RESULT_DB_USER}:{0.db_password}@{0.db_host}:{0.db_port}/{0.db_name}",
        "db+postgresql://{0[RESULT_DB_USER]}:{0[db_password]}@{0[db_host]}:{0[db_port]}/"
        "{0[db_name]}",
    ],
    ids=["attributes", "items"],
)
def test_result_backend_template_reads_the_keywords_given(
    make_config: MakeConfig, template: str
) -> None:
    """
    Keywords given to Config that are no setting are fields of the template, as in 0.6.

    They mix with the library's variables, as attributes or items; a number is formatted.
    """
    config = make_config(
        result_backend=template,
        db_password="pw",
        db_host="db.example.org",
        db_port=6432,
        db_name="results",
    )
    assert config["result_backend"] == (
        "db+postgresql+psycopg2://worker:pw@db.example.org:6432/results"
    )
    assert config["db_host"] == "db.example.org"


def test_result_backend_template_setting_beats_keyword_of_same_name(
    make_config: MakeConfig,
) -> None:
    """A field that is a setting reads the setting's value, given or from the environment."""
    config = make_config(
        {"CELERY_RESULT_DB_HOST": "from-env"},
        result_backend="db+postgresql://u@{0.RESULT_DB_HOST}/{0.QUEUE_PREFIX}",
        QUEUE_PREFIX="prod",
    )
    assert config["result_backend"] == "db+postgresql+psycopg2://u@from-env/prod"


@pytest.mark.parametrize(
    ("template", "shown"),
    [
        pytest.param(
            "db+postgresql://u@{0.db_hots}/x", "'db+postgresql://u@{0.db_hots}/x'", id="attribute"
        ),
        # Brackets make the text no URL a password could be found in: masked whole.
        pytest.param("db+postgresql://u@{0[db_hots]}/x", repr(MASK), id="item"),
    ],
)
def test_result_backend_template_field_neither_setting_nor_keyword(
    make_config: MakeConfig, template: str, shown: str
) -> None:
    """A field that is neither a setting nor a keyword given is still an error naming it."""
    with pytest.raises(ConfigError) as caught:
        make_config(result_backend=template, db_host="db.example.org")
    message = str(caught.value)
    assert message.startswith(f"result_backend {shown} could not be rendered")
    assert "AttributeError: 'Config' object has no attribute 'db_hots'" in message
    assert "Refer to variables as {0.RESULT_DB_USER}" in message


def test_result_backend_template_keyword_holding_a_secret_is_not_shown(
    make_config: MakeConfig,
) -> None:
    """
    A keyword with a secret's name, used in the template, shows in no error nor repr.

    When another field of the template fails, the error shows the template, not the
    keyword's value; once rendered, the URL's password and the keyword are masked.
    """
    secret = "Sup3r-keyword-s3cret"
    with pytest.raises(ConfigError) as caught:
        make_config(
            result_backend="db+postgresql://worker:{0.db_password}@{0.db_hots}/x",
            db_host="db",
            db_password=secret,
        )
    assert "{0.db_hots}" in str(caught.value)
    assert secret not in str(caught.value)
    config = make_config(
        result_backend="db+postgresql://worker:{0.db_password}@{0.db_host}/x",
        db_host="db",
        db_password=secret,
    )
    assert config["result_backend"] == f"db+postgresql+psycopg2://worker:{secret}@db/x"
    assert secret not in repr(config)
    assert secret not in str(config)


def test_celery_result_backend_variable_cannot_be_a_template(make_config: MakeConfig) -> None:
    """Celery reads CELERY_RESULT_BACKEND as it is, so a template there is refused, masked."""
    template = "db+postgresql://{0.RESULT_DB_USER}:s3cret@{0.RESULT_DB_HOST}/x"
    with pytest.raises(ConfigError, match="CELERY_RESULT_BACKEND=") as caught:
        make_config({"CELERY_RESULT_BACKEND": template})
    message = str(caught.value)
    assert "final URL" in message
    assert "db+postgresql+psycopg2://worker:********@localhost/x" in message
    assert "s3cret" not in message


@pytest.mark.parametrize(
    ("variable", "setting", "value"),
    [
        ("CELERY_RESULT_BACKEND", "result_backend", "db+postgresql+psycopg2://u:p@h/env"),
        ("CELERY_BROKER_URL", "broker_url", "amqp://u:p@h//"),
    ],
)
def test_variables_celery_reads_itself_beat_the_keyword(
    make_config: MakeConfig, variable: str, setting: str, value: str
) -> None:
    """Celery gives CELERY_BROKER_URL and CELERY_RESULT_BACKEND precedence; so does Config."""
    config = make_config({variable: value}, **{setting: "memory://keyword"})
    assert config[setting] == value


@pytest.mark.parametrize(
    ("template", "missing"),
    [
        ("db+postgresql://{0.RESULT_DB_PASSWORD}@h/x", "RESULT_DB_PASSWORD"),
        ("db+postgresql://{user}@h/x", "KeyError: 'user'"),
        ("db+postgresql://{0:d}@h/x", "TypeError"),
    ],
)
def test_result_backend_template_failure(
    make_config: MakeConfig, template: str, missing: str
) -> None:
    """A template that does not render is an error naming result_backend and what is missing."""
    with pytest.raises(ConfigError, match="result_backend") as caught:
        make_config(result_backend=template)
    assert missing in str(caught.value)


def test_result_backend_other_databases(make_config: MakeConfig) -> None:
    """Other result backends are kept as they are given."""
    assert make_config(result_backend="cache+memory://")["result_backend"] == "cache+memory://"


# -- Celery settings provided -----------------------------------------------------------------


def test_task_settings(make_config: MakeConfig) -> None:
    """The exchange, tracking and imports default to the architecture's values."""
    config = make_config()
    assert config["task_default_exchange"] == "task_exchange"
    assert config["task_default_exchange_type"] == "topic"
    assert config["task_track_started"] is True
    assert config["imports"] == ("app.tasks",)


def test_task_queues(make_config: MakeConfig) -> None:
    """task_queues: celery, the monitor bound with '#', one queue per work queue."""
    exchange = Exchange("task_exchange", type="topic")
    assert make_config()["task_queues"] == (
        Queue("celery", exchange, routing_key="celery"),
        Queue("platform.fifo", exchange, routing_key="#"),
        Queue("export", exchange, routing_key="export"),
        Queue("msg", exchange, routing_key="msg"),
    )


def test_topology_follows_the_settings(make_config: MakeConfig) -> None:
    """The exchange settings and PLATFORM_QUEUE_NAME shape the queues and the router."""
    config = make_config(
        task_default_exchange="tasks", PLATFORM_QUEUE_NAME="monitor", queues=["celery", "a"]
    )
    exchange = Exchange("tasks", type="topic")
    assert config["task_queues"] == (
        Queue("celery", exchange, routing_key="celery"),
        Queue("monitor", exchange, routing_key="#"),
        Queue("a", exchange, routing_key="a"),
    )
    (router,) = config["task_routes"]
    assert isinstance(router, TaskRouter)
    assert router("a.b")["exchange"] == exchange
    assert (router("a.b")["exchange"].name, router("a.b")["exchange"].type) == ("tasks", "topic")


def test_task_queues_and_routes_given_are_kept(make_config: MakeConfig) -> None:
    """task_queues and task_routes given are used instead of the built ones."""
    queues = (Queue("only"),)
    routes = {"a.*": {"queue": "only"}}
    config = make_config(task_queues=queues, task_routes=routes)
    assert config["task_queues"] is queues
    assert config["task_routes"] == routes


def test_file_logging_keeps_the_root_logger(make_config: MakeConfig, tmp_path: Path) -> None:
    """With SETUP_FILE_LOGGING, the worker must not hijack the root logger; files are set up."""
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        config = make_config(SETUP_FILE_LOGGING=True, LOG_DIR=str(tmp_path))
        assert config["worker_hijack_root_logger"] is False
        assert (tmp_path / "info.log").exists()
    finally:
        for handler in root.handlers:
            if handler not in before:
                handler.close()
    assert "worker_hijack_root_logger" not in make_config()


def test_sentry_needs_a_dsn(make_config: MakeConfig) -> None:
    """SETUP_SENTRY_LOGGING without SENTRY_DSN is an error saying to set it."""
    with pytest.raises(ConfigError, match="SENTRY_DSN is not set"):
        make_config(SETUP_SENTRY_LOGGING=True)


@pytest.fixture
def sentry_restored() -> Iterator[None]:
    """Close whatever Sentry client the test starts and restore the previous one."""
    import sentry_sdk

    scope = sentry_sdk.Scope.get_global_scope()
    previous = scope.client
    yield
    sentry_sdk.get_client().close(timeout=0)
    scope.set_client(previous)


@pytest.mark.usefixtures("sentry_restored")
def test_sentry_is_on_when_a_dsn_is_set(make_config: MakeConfig) -> None:
    """Setting SENTRY_DSN turns SETUP_SENTRY_LOGGING on by default, which starts Sentry."""
    import sentry_sdk

    config = make_config({"CELERY_SENTRY_DSN": "https://public@127.0.0.1:9/1"})
    assert config.SETUP_SENTRY_LOGGING is True
    assert sentry_sdk.get_client().is_active()


# -- task_annotations --------------------------------------------------------------------------


def test_annotations_cap_chord_unlock(make_config: MakeConfig) -> None:
    """task_annotations caps chord_unlock at CHORD_UNLOCK_MAX_RETRIES."""
    config = make_config(CHORD_UNLOCK_MAX_RETRIES=10)
    assert config["task_annotations"] == {
        CHORD_UNLOCK: {"max_retries": 10, "on_failure": _fail_chord_body}
    }


def test_annotations_given_as_a_dict_are_merged(make_config: MakeConfig) -> None:
    """A dict of annotations keeps its entries; its chord_unlock entry is merged over the cap."""
    config = make_config(
        task_annotations={
            "export.render": {"rate_limit": "1/s"},
            CHORD_UNLOCK: {"default_retry_delay": 5, "max_retries": 100},
        }
    )
    assert config["task_annotations"] == {
        "export.render": {"rate_limit": "1/s"},
        CHORD_UNLOCK: {
            "max_retries": 100,
            "on_failure": _fail_chord_body,
            "default_retry_delay": 5,
        },
    }


class _Annotation:
    def annotate(self, task: Any) -> dict[str, Any] | None:
        return None


_ANNOTATION = _Annotation()


@pytest.mark.parametrize(
    ("given", "after_cap"),
    [
        ([{"export.render": {"rate_limit": "1/s"}}], ({"export.render": {"rate_limit": "1/s"}},)),
        (({"a": {}}, {"b": {}}), ({"a": {}}, {"b": {}})),
        (_ANNOTATION, (_ANNOTATION,)),
    ],
)
def test_annotations_in_other_forms_come_after_the_cap(
    make_config: MakeConfig, given: Any, after_cap: tuple[Any, ...]
) -> None:
    """A list, tuple or single annotation object follows the cap's own annotation."""
    annotations = make_config(task_annotations=given)["task_annotations"]
    assert annotations == (
        {CHORD_UNLOCK: {"max_retries": 43200, "on_failure": _fail_chord_body}},
        *after_cap,
    )


def test_annotations_reach_the_tasks(make_app: Callable[..., Celery]) -> None:
    """Celery applies both the cap and the user's annotations to the registered tasks."""
    app = make_app(
        CHORD_UNLOCK_MAX_RETRIES=11, task_annotations={"export.render": {"rate_limit": "1/s"}}
    )

    @app.task(name="export.render", shared=False)  # type: ignore[untyped-decorator]
    def render() -> None:
        """Do nothing."""

    app.finalize()
    assert app.tasks[CHORD_UNLOCK].max_retries == 11
    assert app.tasks["export.render"].rate_limit == "1/s"


# -- the mapping, to_dict and repr ------------------------------------------------------------


def test_to_dict_holds_the_celery_settings(make_config: MakeConfig) -> None:
    """to_dict() returns the lowercase settings, none of the UPPERCASE variables."""
    settings = make_config().to_dict()
    assert set(settings) == {
        "broker_transport",
        "broker_transport_options",
        "result_backend",
        "task_default_exchange",
        "task_default_exchange_type",
        "task_track_started",
        "imports",
        "task_queues",
        "task_routes",
        "task_annotations",
        "database_create_tables_at_setup",
        "result_backend_always_retry",
        "result_backend_max_retries",
    }


def test_a_read_only_mapping(make_config: MakeConfig) -> None:
    """A Config is a mapping of settings and variables, nothing private."""
    config = make_config()
    assert len(config) == len(list(config)) == len(dict(config))
    assert "QUEUES" in config
    assert config["QUEUES"] is config.QUEUES
    assert not any(key.startswith("_") for key in config)
    with pytest.raises(KeyError):
        config["_given"]
    with pytest.raises(TypeError):
        config["QUEUES"] = []  # type: ignore[index]


def test_repr_is_pprint_of_the_mapping(make_config: MakeConfig) -> None:
    """repr(config) is Config({...}) in pprint form."""
    config = make_config()
    assert repr(config) == f"Config({pprint.pformat(dict(config))})"


SECRETS = {
    "RESULT_DB_PASS": "dbpassword",
    "broker_url": "amqp://user:brokerpassword@rabbit//",
    "SENTRY_DSN": "https://sentrykey@sentry.example/1",
}
SECRET_TEXTS = ("dbpassword", "brokerpassword", "sentrykey", "awssecret", "sweptpassword")


@pytest.fixture
def secret_config(make_config: MakeConfig) -> Config:
    """A configuration holding secrets in every place a secret may be."""
    return make_config(
        {"CELERY_REDIS_PASSWORD": "sweptpassword"},
        SETUP_SENTRY_LOGGING=False,
        broker_transport_options={
            "predefined_queues": {"export": {"url": "https://q", "secret_access_key": "awssecret"}}
        },
        **SECRETS,
    )


def test_repr_masks_every_secret(secret_config: Config) -> None:
    """The repr shows RESULT_DB_PASS, passwords in URLs and SENTRY_DSN masked."""
    shown = repr(secret_config)
    assert not any(secret in shown for secret in SECRET_TEXTS)
    assert f"'RESULT_DB_PASS': '{MASK}'" in shown
    assert f"'SENTRY_DSN': '{MASK}'" in shown
    assert f"amqp://user:{MASK}@rabbit//" in shown
    assert f"worker:{MASK}@localhost" in shown
    assert secret_config.RESULT_DB_PASS == "dbpassword"
    assert secret_config["broker_url"] == SECRETS["broker_url"]


def test_repr_masks_a_password_in_a_given_backend(make_config: MakeConfig) -> None:
    """A password written in result_backend itself is masked too."""
    config = make_config(result_backend="db+postgresql+psycopg2://u:literalpw@h/d")
    assert "literalpw" not in repr(config)


def _walk(value: Any) -> Iterator[Any]:
    """Yield *value* and everything inside it: containers, and our own objects' attributes."""
    yield value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(key)
            yield from _walk(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _walk(item)
    elif type(value).__module__.startswith("cadasta.") and hasattr(value, "__dict__"):
        yield from _walk(vars(value))


def test_no_secret_in_the_repr_of_any_value(secret_config: Config) -> None:
    """No value handed to Celery, nor anything inside one, shows a secret in its repr."""
    for value in secret_config.values():
        for inner in _walk(value):
            shown = repr(inner)
            assert not any(secret in shown for secret in SECRET_TEXTS), shown


def test_no_secret_in_celerys_listings(secret_config: Config) -> None:
    """app.conf.humanize() and table(censored=False) show no secret of the configuration."""
    app = Celery("secrets", set_as_current=False)
    try:
        app.config_from_object(secret_config)
        listings = [
            app.conf.humanize(),
            app.conf.humanize(with_defaults=True, censored=False),
            repr(app.conf.table(censored=False)),
            pprint.pformat(app.conf.table(with_defaults=True, censored=False)),
        ]
        for shown in listings:
            assert not any(secret in shown for secret in SECRET_TEXTS)
        assert "RESULT_DB_PASS" in listings[1]
    finally:
        app.close()


# -- Celery apps ------------------------------------------------------------------------------


def test_config_from_object(make_config: MakeConfig) -> None:
    """app.config_from_object(Config(...)) puts every setting and variable on app.conf."""
    config = make_config(broker_url="memory://", CHORD_UNLOCK_MAX_RETRIES=5)
    app = Celery("configured", set_as_current=False)
    try:
        app.config_from_object(config)
        for key, value in config.items():
            assert app.conf[key] == value, key
        assert app.conf.QUEUES == ["export", "msg"]
        assert app.conf.broker_url == "memory://"
        assert app.conf.task_default_exchange == "task_exchange"
        assert app.amqp.router.route({}, "msg.email")["queue"].name == "msg"
    finally:
        app.close()


class _SubConfig(Config):
    QUEUES = ["report"]  # noqa: RUF012 - a 0.6-style configuration subclass
    broker_url = "memory://"
    task_acks_late = True
    RESULT_DB_PASS = "classpw"

    def helper(self) -> str:
        """Return something; methods are not settings."""
        return "helper"

    @property
    def computed(self) -> str:
        """Return something; properties are not settings."""
        return "computed"


class _SubSubConfig(_SubConfig):
    queues = ["render"]  # noqa: RUF012 - the 1.0 spelling overrides the base's QUEUES


def test_subclass_with_class_attributes(make_config: MakeConfig) -> None:
    """Class attributes of a subclass are given like keywords: they beat the environment."""
    config = _SubConfig(environ={"CELERY_QUEUES": "['env']", "CELERY_TASK_ACKS_LATE": "no"})
    assert config.QUEUES == ["report"]
    assert [q.name for q in config["task_queues"]] == ["celery", "platform.fifo", "report"]
    assert config["broker_url"] == "memory://"
    assert config["broker_transport"] == TRANSPORTS["memory"]
    assert config["task_acks_late"] is True
    assert config["result_backend"] == DEFAULT_BACKEND.replace(":cadasta@", ":classpw@")
    assert "helper" not in config
    assert "computed" not in config
    assert repr(config).startswith("_SubConfig({")
    assert "classpw" not in repr(config)


def test_subclass_keywords_beat_class_attributes() -> None:
    """A keyword beats the class attribute of the same name."""
    assert _SubConfig(environ={}, queues=["kw"]).QUEUES == ["kw"]


def test_subclass_of_subclass() -> None:
    """A subclass's attribute overrides its base's, whatever the spelling."""
    config = _SubSubConfig(environ={})
    assert config.QUEUES == ["render"]
    assert "queues" not in config
    assert config["task_acks_late"] is True


@pytest.mark.parametrize("variable", ["SENTRY_RELEASE", "CELERY_SENTRY_RELEASE"])
def test_sentry_variables_without_the_prefix(make_config: MakeConfig, variable: str) -> None:
    """SENTRY_* variables are read with the prefix, else without it, as sentry-sdk reads them."""
    assert make_config({variable: "1.2.3"}).SENTRY_RELEASE == "1.2.3"


def test_prefixed_sentry_variable_wins(make_config: MakeConfig) -> None:
    """The prefixed variable beats the unprefixed one."""
    config = make_config({"SENTRY_ENVIRONMENT": "bare", "CELERY_SENTRY_ENVIRONMENT": "prefixed"})
    assert config.SENTRY_ENVIRONMENT == "prefixed"


def test_result_tables_are_created_on_first_use(make_config: MakeConfig) -> None:
    """The database backend does not connect when it is built, only when results move."""
    assert make_config()["database_create_tables_at_setup"] is False


def test_an_empty_celery_broker_url_is_unset_as_celery_reads_it(make_config: MakeConfig) -> None:
    """CELERY_BROKER_URL='' does not beat the keyword: Celery itself reads it as unset."""
    config = make_config(environ={"CELERY_BROKER_URL": ""}, broker_url="redis://r:6379/0")
    assert config.broker_url == "redis://r:6379/0"
    assert config["broker_transport"] == TRANSPORTS["redis"]


def test_the_queue_name_prefix_option_is_the_prefix_names_are_checked_with(
    make_config: MakeConfig,
) -> None:
    """A long QUEUE_PREFIX is fine when the option gives SQS a short prefix, and not otherwise."""
    long_prefix = "p" * 70
    config = make_config(
        QUEUE_PREFIX=long_prefix, broker_transport_options={"queue_name_prefix": "x-"}
    )
    assert config["broker_transport_options"]["queue_name_prefix"] == "x-"
    with pytest.raises(ConfigError, match="SQS accepts at most 80"):
        make_config(QUEUE_PREFIX="dev", broker_transport_options={"queue_name_prefix": "x" * 76})


def test_a_queue_name_prefix_option_sqs_refuses_is_one_problem(make_config: MakeConfig) -> None:
    """An option prefix with a space: one problem naming the option, not one per queue."""
    with pytest.raises(ConfigError) as caught:
        make_config(broker_transport_options={"queue_name_prefix": "a b-"})
    assert len(caught.value.problems) == 1
    assert "broker_transport_options['queue_name_prefix']='a b-'" in str(caught.value)

"""The sweep of other {ENV_PREFIX}NAME variables into Celery settings (config/_unclaimed.py)."""

from collections.abc import Callable
from typing import Any

import pytest

from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.exceptions import ConfigError

MakeConfig = Callable[..., Config]


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

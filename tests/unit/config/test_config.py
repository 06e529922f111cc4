"""The Config class (config/_config.py): mapping, to_dict, repr, and an app configured with it."""

import pprint
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery import Celery

from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.config._secrets import MASK
from cadasta.workertoolbox.exceptions import ConfigError
from cadasta.workertoolbox.publish.transports import TRANSPORTS

MakeConfig = Callable[..., Config]


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

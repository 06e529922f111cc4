"""The broker a Config gives Celery (config/_broker.py): URL, transport, transport options."""

import re
from collections.abc import Callable
from typing import Any

import pytest

from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.exceptions import ConfigError
from cadasta.workertoolbox.publish.memory import Transport as MemoryTransport
from cadasta.workertoolbox.publish.transports import ENV_PREFIX_OPTION, TRANSPORTS

MakeConfig = Callable[..., Config]
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

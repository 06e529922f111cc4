"""The result backend's retry budget that Config sets, so that an outage loses no result."""

from collections.abc import Callable, Iterator

import pytest
from celery import Celery
from celery.utils.time import get_exponential_backoff_interval

from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.exceptions import ConfigError

MakeConfig = Callable[..., Config]
#: A database that nothing serves: building a backend for it must not connect.
UNREACHABLE_BACKEND = "db+postgresql+psycopg2://worker:secret@127.0.0.1:9/cadasta"


@pytest.fixture
def make_celery() -> Iterator[Callable[[object], Celery]]:
    """Build Celery apps configured from an object, closed afterwards."""
    apps: list[Celery] = []

    def make(config: object) -> Celery:
        app = Celery("delivery", set_as_current=False)
        app.config_from_object(config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


def test_the_result_backend_retries_130_times_by_default(make_config: MakeConfig) -> None:
    """Config turns on result_backend_always_retry with a budget of 130 tries."""
    settings = make_config().to_dict()
    assert settings["result_backend_always_retry"] is True
    assert settings["result_backend_max_retries"] == 130


@pytest.mark.parametrize(
    ("variable", "text", "setting", "value"),
    [
        ("CELERY_RESULT_BACKEND_MAX_RETRIES", "5", "result_backend_max_retries", 5),
        ("CELERY_RESULT_BACKEND_MAX_RETRIES", "0", "result_backend_max_retries", 0),
        ("CELERY_RESULT_BACKEND_ALWAYS_RETRY", "false", "result_backend_always_retry", False),
        ("CELERY_RESULT_BACKEND_ALWAYS_RETRY", "yes", "result_backend_always_retry", True),
    ],
)
def test_the_budget_from_the_environment(
    make_config: MakeConfig, variable: str, text: str, setting: str, value: object
) -> None:
    """The environment variables change the defaults, parsed to their types."""
    assert make_config({variable: text})[setting] == value


def test_the_budget_from_a_keyword(make_config: MakeConfig) -> None:
    """A keyword beats the default and the environment."""
    config = make_config(
        {"CELERY_RESULT_BACKEND_MAX_RETRIES": "5"},
        result_backend_max_retries=1000,
        result_backend_always_retry=False,
    )
    assert config["result_backend_max_retries"] == 1000
    assert config["result_backend_always_retry"] is False


def test_an_unparsable_budget_is_an_error(make_config: MakeConfig) -> None:
    """A budget that is not a whole number is a ConfigError naming the variable."""
    with pytest.raises(ConfigError, match="CELERY_RESULT_BACKEND_MAX_RETRIES='ten'"):
        make_config({"CELERY_RESULT_BACKEND_MAX_RETRIES": "ten"})


def test_the_database_backend_uses_the_budget_without_connecting(
    make_config: MakeConfig, make_celery: Callable[[object], Celery]
) -> None:
    """
    The database backend Celery builds from a Config retries 130 times.

    Building it contacts no database (nothing listens at its URL), so a producer is
    not stopped by an unreachable result database.
    """
    backend = make_celery(make_config(result_backend=UNREACHABLE_BACKEND)).backend
    assert type(backend).__name__ == "DatabaseBackend"
    assert backend.always_retry is True
    assert backend.max_retries == 130


def test_plain_celery_gives_up_after_three_tries(
    make_celery: Callable[[object], Celery],
) -> None:
    """Control: without Config, Celery's database backend stores a result in 3 tries at most."""
    config = {"result_backend": UNREACHABLE_BACKEND, "database_create_tables_at_setup": False}
    backend = make_celery(config).backend
    assert backend.always_retry is True
    assert backend.max_retries == 3


def test_the_budget_lasts_about_ten_minutes(
    make_config: MakeConfig, make_celery: Callable[[object], Celery]
) -> None:
    """
    With Celery's back-off, the 130 tries take 10 minutes on average (README's figure).

    Before try n Celery pauses a random time between 0 and min(10 s, base * 2**n), with
    base 10 ms: half of that on average.
    """
    conf = make_celery(make_config()).conf
    base = conf.result_backend_base_sleep_between_retries_ms
    longest = conf.result_backend_max_sleep_between_retries_ms
    assert (base, longest) == (10, 10_000)
    caps = [
        get_exponential_backoff_interval(base, retry, longest, full_jitter=False)
        for retry in range(1, conf.result_backend_max_retries + 1)
    ]
    mean_minutes = sum(caps) / 2 / 1000 / 60
    assert 9.5 < mean_minutes < 10.5

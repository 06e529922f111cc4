"""The result backend's retry budget that Config sets, so that an outage loses no result."""

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from celery.utils.time import get_exponential_backoff_interval
from kombu.entity import Exchange, Queue

from cadasta.workertoolbox._chord_unlock import _fail_chord_body
from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.config._routing import TaskRouter
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


CHORD_UNLOCK = "celery.chord_unlock"


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

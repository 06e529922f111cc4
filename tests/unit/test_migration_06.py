"""
The behaviours the 0.6 README documents, as 0.6 code calls them: one test per row kept.

README's "Migrating from 0.6" lists every documented behaviour as kept, changed or
dropped; each test here is named after a row marked kept (or kept with a change), and
calls the library the way code written for 0.6 does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from celery import Celery
from kombu import Exchange, Queue
from kombu.transport import memory

from cadasta.workertoolbox import DEFAULT_QUEUES
from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.tests import build_functional_tests

MakeConfig = Callable[..., Config]
MakeApp = Callable[..., Celery]


def test_06_any_celery_setting_may_be_given(make_app: MakeApp) -> None:
    """Any Celery setting given to Config reaches app.conf (0.6: "Any Celery setting")."""
    app = make_app(task_acks_late=True, worker_prefetch_multiplier=4)
    assert app.conf.task_acks_late is True
    assert app.conf.worker_prefetch_multiplier == 4


def test_06_lowercase_settings_show_in_repr(make_config: MakeConfig) -> None:
    """Lowercase settings given are displayed by repr (0.6: the newer lowercase settings)."""
    shown = repr(make_config(task_acks_late=True))
    assert "'task_acks_late': True" in shown


def test_06_settings_and_variables_are_on_app_conf(make_app: MakeApp) -> None:
    """Settings and internal variables are available on app.conf once applied."""
    app = make_app(QUEUES=["export"])
    assert app.conf.QUEUES == ["export"]
    assert app.conf.PLATFORM_QUEUE_NAME == "platform.fifo"
    assert app.conf.task_default_exchange == "task_exchange"


def test_06_result_backend_is_rendered_with_the_configuration(make_config: MakeConfig) -> None:
    """A result_backend template is rendered with the configuration, extra keywords too."""
    config = make_config(result_backend="{0.foo}:{0.BAR}", foo="abc", BAR="def")
    assert config.result_backend == "abc:def"
    config = make_config(result_backend="db+postgresql+psycopg2://u@{0.RESULT_DB_HOST}/x")
    assert config.result_backend == "db+postgresql+psycopg2://u@localhost/x"


def test_06_result_backend_default_uses_the_result_db_variables(make_config: MakeConfig) -> None:
    """The default result_backend is built from the RESULT_DB_* variables."""
    config = make_config(
        RESULT_DB_USER="u", RESULT_DB_PASS="p", RESULT_DB_HOST="h", RESULT_DB_NAME="n"
    )
    assert config.result_backend == "db+postgresql+psycopg2://u:p@h:5432/n"


def test_06_broker_transport_options_defaults(make_config: MakeConfig) -> None:
    """The region and the queue name prefix default as in 0.6."""
    options = make_config()["broker_transport_options"]
    assert options["region"] == "us-west-2"
    assert options["queue_name_prefix"] == "dev-"


def test_06_task_queues(make_config: MakeConfig) -> None:
    """celery, the monitor bound with '#', and one queue per QUEUES name, on the exchange."""
    queues = make_config(QUEUES=["export", "msg"])["task_queues"]
    exchange = Exchange("task_exchange", type="topic")
    expected = {
        Queue("celery", exchange, routing_key="celery"),
        Queue("platform.fifo", exchange, routing_key="#"),
        Queue("export", exchange, routing_key="export"),
        Queue("msg", exchange, routing_key="msg"),
    }
    assert set(queues) == expected
    for queue in queues:
        assert (queue.exchange.name, queue.exchange.type) == ("task_exchange", "topic")


@pytest.mark.parametrize(("task", "key"), [("export.project", "export"), ("msg.send", "msg")])
def test_06_task_routes_route_by_first_segment_with_an_exchange_object(
    make_app: MakeApp, task: str, key: str
) -> None:
    """The route's routing_key is the name's first segment, its exchange a kombu.Exchange."""
    app = make_app()
    route = app.amqp.router.route({}, task)
    assert route["routing_key"] == key
    exchange = route["exchange"]
    assert isinstance(exchange, Exchange)
    assert (exchange.name, exchange.type) == ("task_exchange", "topic")


def test_06_task_defaults(make_config: MakeConfig) -> None:
    """task_default_exchange, its topic type and task_track_started keep 0.6's defaults."""
    config = make_config()
    assert config["task_default_exchange"] == "task_exchange"
    assert config["task_default_exchange_type"] == "topic"
    assert config["task_track_started"] is True


def test_06_queues_default_and_implicit_queues(make_config: MakeConfig) -> None:
    """QUEUES defaults to DEFAULT_QUEUES; 'celery' and the monitor need not be listed."""
    config = make_config()
    assert tuple(config.QUEUES) == DEFAULT_QUEUES
    assert [queue.name for queue in config["task_queues"]][:2] == ["celery", "platform.fifo"]


def test_06_platform_queue_name_default(make_config: MakeConfig) -> None:
    """PLATFORM_QUEUE_NAME defaults to 'platform.fifo'."""
    assert make_config().PLATFORM_QUEUE_NAME == "platform.fifo"


def test_06_queue_name_prefix_fills_the_transport_option(make_config: MakeConfig) -> None:
    """QUEUE_NAME_PREFIX (now QUEUE_PREFIX) sets queue_name_prefix; 'dev' by default."""
    config = make_config(QUEUE_NAME_PREFIX="prod")
    assert config["broker_transport_options"]["queue_name_prefix"] == "prod-"
    assert make_config().QUEUE_PREFIX == "dev"


def test_06_result_db_defaults(make_config: MakeConfig) -> None:
    """RESULT_DB_PASS, _HOST, _PORT and _NAME keep their defaults (USER: see the table)."""
    config = make_config()
    assert (config.RESULT_DB_PASS, config.RESULT_DB_HOST) == ("cadasta", "localhost")
    assert (config.RESULT_DB_PORT, config.RESULT_DB_NAME) == ("5432", "cadasta")


def test_06_chord_unlock_max_retries_default(make_app: MakeApp) -> None:
    """CHORD_UNLOCK_MAX_RETRIES is 43200, and celery.chord_unlock is capped at it."""
    app = make_app()
    assert app.conf.CHORD_UNLOCK_MAX_RETRIES == 43200
    assert app.tasks["celery.chord_unlock"].max_retries == 43200


def test_06_build_functional_tests_as_the_readme_shows(make_app: MakeApp) -> None:
    """FunctionalTests = build_functional_tests(app) is a passing unittest case."""
    import unittest

    app = make_app(imports=())

    @app.task(name="export.project", shared=False)
    def project() -> None:
        """A task of the export queue."""

    functional_tests = build_functional_tests(app)
    assert issubclass(functional_tests, unittest.TestCase)
    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(functional_tests).run(result)
    assert result.wasSuccessful(), result.failures + result.errors
    assert result.testsRun > 10


def test_06_every_producer_sends_to_both_queues(make_app: MakeApp, memory_queues: Any) -> None:
    """A producer that never ran setup_app puts a task in its queue and the monitor's."""
    app = make_app()
    app.send_task("export.project", args=(1,))
    assert memory_queues["export"].qsize() == 1
    assert memory_queues["platform.fifo"].qsize() == 1
    assert memory.Channel.queues is memory_queues

"""
Fixtures for tests against real services; see ``services.py`` for how each is found.

Every test gets its own queue prefix (SQS) or queue names (RabbitMQ) and its own
database, so tests share one endpoint and one server without seeing each other's data.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from cadasta.workertoolbox.conf import Config

from . import services
from .services import SQSEndpoint, ThrowawayPostgres


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder as an integration test."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def sqs_endpoint() -> Iterator[SQSEndpoint]:
    """Moto's SQS server on a free loopback port, for the whole session."""
    with services.running_sqs_endpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """The URL of a PostgreSQL superuser: given, local, or a throwaway cluster."""
    url = services.local_postgres_url()
    why = services.postgres_reachable(url)
    if why is None:
        yield url
        return
    if not ThrowawayPostgres.binaries_available():
        services.unavailable("PostgreSQL", f"{url} is unreachable ({why}) and initdb is missing")
    cluster = ThrowawayPostgres()
    try:
        cluster.init()
        cluster.start()
        yield cluster.admin_url
    finally:
        cluster.remove()


@pytest.fixture
def database_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh database for this test, dropped afterwards; its superuser URL."""
    name = f"toolbox_{uuid.uuid4().hex[:12]}"
    url = services.create_database(postgres_admin_url, name)
    yield url
    services.drop_database(postgres_admin_url, name)


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """The URL of a reachable RabbitMQ broker."""
    url = services.amqp_url()
    why = services.amqp_reachable(url)
    if why is not None:
        services.unavailable("RabbitMQ", f"{url.split('@')[-1]} is unreachable ({why})")
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The URL of a reachable Redis database."""
    url = services.redis_url()
    why = services.redis_reachable(url)
    if why is not None:
        services.unavailable("Redis", f"{url.split('@')[-1]} is unreachable ({why})")
    return url


@pytest.fixture
def queue_prefix() -> str:
    """A queue prefix of this test's own."""
    return services.unique_prefix()


@pytest.fixture
def make_sqs_app(sqs_endpoint: SQSEndpoint, queue_prefix: str) -> Iterator[Callable[..., Celery]]:
    """Build apps configured with Config on the SQS endpoint, under this test's prefix."""
    apps: list[Celery] = []

    def make(main: str = "integration", **settings: Any) -> Celery:
        settings.setdefault("broker_url", sqs_endpoint.broker_url)
        settings.setdefault("QUEUE_PREFIX", queue_prefix)
        settings.setdefault("result_backend", "cache+memory://")
        app = Celery(main, set_as_current=False)
        app.config_from_object(Config(environ={}, **settings))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()

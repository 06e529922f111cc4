"""
Shared fixtures: isolation of global state, and apps configured with Config.

Celery apps, connected signals, logging and kombu's in-memory transport state are
process-wide; every test starts from a clean slate and leaves one behind.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery import Celery, _state
from kombu import pools
from kombu.transport import memory

from cadasta.workertoolbox.conf import Config
from tests.integration.services import FakeSentry
from tests.task_modules import worker


@pytest.fixture(autouse=True)
def _isolated_process_state() -> Iterator[None]:
    """
    Restore what tests share through the process, after each test.

    os.environ; the root logger; kombu's memory broker and its connection pools (which
    remember what each pooled connection declared); Celery's default and current app and
    its "joining would block" flag, which a worker's solo pool sets for the process.
    """
    environ = dict(os.environ)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    default_app, current_app = _state.default_app, _state._tls.current_app
    join_will_block = _state.task_join_will_block()
    memory.Transport.global_state.clear()
    yield
    memory.Transport.global_state.clear()
    pools.reset()
    _state.set_default_app(default_app)
    _state._set_current_app(current_app)
    _state._set_task_join_will_block(join_will_block)
    root.handlers[:] = handlers
    root.setLevel(level)
    os.environ.clear()
    os.environ.update(environ)


@pytest.fixture
def memory_queues() -> Iterator[dict[str, Any]]:
    """
    The messages of kombu's memory transport, emptied before and after the test.

    kombu's global producer pools are reset too: their connections remember what they
    declared, which the memory transport forgets between tests.
    """
    pools.reset()
    memory.Channel.queues.clear()
    yield memory.Channel.queues
    memory.Channel.queues.clear()
    pools.reset()


@pytest.fixture
def make_config() -> Callable[..., Config]:
    """Build a Config that reads an empty environment unless one is given."""

    def make(environ: dict[str, str] | None = None, **settings: Any) -> Config:
        return Config(environ={} if environ is None else environ, **settings)

    return make


@pytest.fixture
def make_app(make_config: Callable[..., Config]) -> Iterator[Callable[..., Celery]]:
    """Build Celery apps configured with Config on kombu's memory transport."""
    apps: list[Celery] = []

    def make(
        main: str = "worker", environ: dict[str, str] | None = None, **settings: Any
    ) -> Celery:
        settings.setdefault("broker_url", "memory://")
        app = Celery(main, set_as_current=False)
        app.config_from_object(make_config(environ, **settings))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


@pytest.fixture
def fake_sentry() -> Iterator[FakeSentry]:
    """A Sentry endpoint on loopback that keeps the envelopes it receives."""
    with FakeSentry() as endpoint:
        yield endpoint


@pytest.fixture
def mocked_sqs() -> Iterator[Any]:
    """
    SQS inside the process, moto's, for the test's length: yields a boto3 SQS client.

    boto3 calls to AWS's endpoints, kombu's included when the broker URL names no host
    (``sqs://``), are answered by moto: no server, no network, fake credentials. Queues
    are created in Config's default region, us-west-2. moto comes with the ``local``
    extra, which the test requirements install.
    """
    import boto3
    from moto import mock_aws

    with mock_aws():
        yield boto3.client("sqs", region_name="us-west-2")


#: The package of task modules the conformance suite imports in tests.
TASK_MODULES = "tests.task_modules"


def _forget_task_modules() -> None:
    """Remove the task modules of tests/task_modules from sys.modules, and the app."""
    for name in [name for name in sys.modules if name.startswith(f"{TASK_MODULES}.")]:
        if name != worker.__name__:
            del sys.modules[name]
    worker.app = None


@pytest.fixture
def task_modules() -> Iterator[Callable[[Celery], str]]:
    """
    Point the task modules of ``tests/task_modules`` at an app; yields the function that does.

    It returns the package's name, to which the modules' names are relative
    (``f"{package}.export_tasks"``). Their tasks register on that app when they are
    imported, as a worker's do on the app they import. They are forgotten before and after
    the test (``sys.modules``), so that each test's app gets them afresh.
    """

    def use(app: Celery) -> str:
        worker.app = app
        return TASK_MODULES

    _forget_task_modules()
    yield use
    _forget_task_modules()

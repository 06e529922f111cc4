"""Real mode's re-pointing of the user's app at a test's endpoint, and putting it back."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from celery import Celery

from cadasta.workertoolbox.testing._live import (
    live_settings,
    pointed_at,
    settings_of,
    unique_queue_prefix,
)

BROKER = "sqs://demo:demo-secret@127.0.0.1:9"


def test_a_queue_prefix_is_the_tests_own() -> None:
    """'t', ten hexadecimal digits and '-': valid in SQS names, different every time."""
    first, second = unique_queue_prefix(), unique_queue_prefix()
    assert re.fullmatch(r"t[0-9a-f]{10}-", first)
    assert first != second


def test_the_settings_keep_the_apps_transport_options_under_the_tests(
    make_app: Callable[..., Celery],
) -> None:
    """The app's options, the test's over them, and the test's queue prefix over both."""
    app = make_app(broker_transport_options={"visibility_timeout": 60, "region": "eu-west-1"})

    settings = live_settings(app, BROKER, "t1-", "db+sqlite://", {"region": "us-east-1"})

    assert settings["broker_url"] == BROKER
    assert settings["broker_transport"] == "cadasta.workertoolbox.publish.sqs:Transport"
    assert settings["result_backend"] == "db+sqlite://"
    options = settings["broker_transport_options"]
    assert (options["visibility_timeout"], options["region"]) == (60, "us-east-1")
    assert options["queue_name_prefix"] == "t1-"


def test_the_app_is_pointed_during_the_block_and_put_back_after(
    make_app: Callable[..., Celery], tmp_path: Path
) -> None:
    """Its four settings, its set-up flag, its pools and its result backend are restored."""
    app = make_app(result_backend="db+sqlite:///" + str(tmp_path / "before.sqlite"))
    app.conf.broker_url = "memory://before"
    before = {key: app.conf[key] for key in ("broker_url", "broker_transport_options")}
    app.is_set_up = True
    app.pool  # noqa: B018 (the app builds its connection pool on first access)
    # The database backend keeps its engines in a process that forked (a pool process).
    app.backend.session_manager.forked = True
    app.backend.ResultSession().close()
    assert app.backend.session_manager._engines
    backend = app.backend
    settings = live_settings(app, BROKER, "t1-", f"db+sqlite:///{tmp_path}/results.sqlite")

    with pointed_at(app, settings) as pointed:
        assert pointed is app
        assert settings_of(app) == settings
        assert app.conf.broker_url == BROKER
        assert app.conf.broker_transport_options["queue_name_prefix"] == "t1-"
        assert app.backend is not backend
        assert app._pool is None

    assert settings_of(app) is None
    assert {key: app.conf[key] for key in before} == before
    assert app.conf.result_backend.endswith("before.sqlite")
    assert app.is_set_up is True
    assert app._pool is None


def test_an_app_never_set_up_is_left_so(make_app: Callable[..., Celery]) -> None:
    """is_set_up set during the block (a send sets the app up) is removed after it."""
    app = make_app()
    with pointed_at(app, live_settings(app, BROKER, "t1-", "db+sqlite://")):
        app.is_set_up = True
    assert "is_set_up" not in app.__dict__


def test_pointing_an_app_twice_is_refused(make_app: Callable[..., Celery]) -> None:
    """The second pointing says to use one toolbox_live_app per test."""
    app = make_app()
    settings = live_settings(app, BROKER, "t1-", "db+sqlite://")
    with (
        pointed_at(app, settings),
        pytest.raises(RuntimeError) as raised,
        pointed_at(app, settings),
    ):
        pass
    assert str(raised.value) == (
        "app 'worker' is already pointed at a test's SQS endpoint: use one toolbox_live_app "
        "per test (toolbox_worker and toolbox_monitor use the same one)"
    )
    assert settings_of(app) is None

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.config._delivery_mode import at_least_once_problems
from cadasta.workertoolbox.exceptions import ConfigError


def test_at_least_once_is_off_by_default(make_config: Callable[..., Config]) -> None:
    """By default Celery's own delivery settings are left alone."""
    config = make_config()
    assert config["AT_LEAST_ONCE"] is False
    for setting in ("task_acks_late", "task_reject_on_worker_lost", "worker_prefetch_multiplier"):
        assert setting not in config


@pytest.mark.parametrize(
    ("environ", "settings"),
    [
        pytest.param({}, {"AT_LEAST_ONCE": True}, id="keyword"),
        pytest.param({"CELERY_AT_LEAST_ONCE": "yes"}, {}, id="environment"),
    ],
)
def test_at_least_once_sets_late_acks_requeue_and_prefetch_of_one(
    make_config: Callable[..., Config], environ: dict[str, str], settings: dict[str, Any]
) -> None:
    """The switch: acknowledge after the task, requeue a lost worker's task, prefetch one."""
    config = make_config(environ, **settings)
    assert config["AT_LEAST_ONCE"] is True
    assert config["task_acks_late"] is True
    assert config["task_reject_on_worker_lost"] is True
    assert config["worker_prefetch_multiplier"] == 1


def test_at_least_once_keeps_a_prefetch_multiplier_given(
    make_config: Callable[..., Config],
) -> None:
    """The prefetch multiplier is a default of the switch: a keyword or variable wins."""
    assert (
        make_config(AT_LEAST_ONCE=True, worker_prefetch_multiplier=4)["worker_prefetch_multiplier"]
        == 4
    )
    environ = {"CELERY_AT_LEAST_ONCE": "true", "CELERY_WORKER_PREFETCH_MULTIPLIER": "8"}
    assert make_config(environ)["worker_prefetch_multiplier"] == 8


def test_without_the_switch_acks_late_variable_still_works(
    make_config: Callable[..., Config],
) -> None:
    """CELERY_TASK_ACKS_LATE keeps working on its own, as any Celery setting does."""
    assert make_config({"CELERY_TASK_ACKS_LATE": "yes"})["task_acks_late"] is True


@pytest.mark.parametrize(
    ("environ", "settings", "expected"),
    [
        pytest.param(
            {},
            {"AT_LEAST_ONCE": True, "task_acks_late": False},
            "task_acks_late=False contradicts AT_LEAST_ONCE=True",
            id="keyword-contradicts",
        ),
        pytest.param(
            {"CELERY_AT_LEAST_ONCE": "on", "CELERY_TASK_REJECT_ON_WORKER_LOST": "off"},
            {},
            "task_reject_on_worker_lost=False contradicts AT_LEAST_ONCE=True",
            id="variable-contradicts",
        ),
        pytest.param(
            {},
            {"AT_LEAST_ONCE": "yes"},
            "AT_LEAST_ONCE='yes' must be True or False",
            id="not-a-bool",
        ),
        pytest.param(
            {"CELERY_AT_LEAST_ONCE": "often"},
            {},
            "environment variable CELERY_AT_LEAST_ONCE='often' is not a valid bool",
            id="variable-not-a-bool",
        ),
    ],
)
def test_at_least_once_mistakes(
    make_config: Callable[..., Config],
    environ: dict[str, str],
    settings: dict[str, Any],
    expected: str,
) -> None:
    """A contradicting setting or a value that is no boolean is a ConfigError."""
    with pytest.raises(ConfigError) as caught:
        make_config(environ, **settings)
    assert [problem for problem in caught.value.problems if expected in problem]


def test_bad_variable_under_the_switch_is_reported_once(
    make_config: Callable[..., Config],
) -> None:
    """A variable the switch reads that does not parse is one problem, not two."""
    environ = {"CELERY_AT_LEAST_ONCE": "1", "CELERY_WORKER_PREFETCH_MULTIPLIER": "many"}
    with pytest.raises(ConfigError) as caught:
        make_config(environ)
    assert len(caught.value.problems) == 1
    assert "CELERY_WORKER_PREFETCH_MULTIPLIER='many'" in caught.value.problems[0]


def test_at_least_once_problems_with_nothing_given() -> None:
    """With the switch on and nothing given, or off, there is no problem."""
    assert at_least_once_problems(True, {}) == []
    assert at_least_once_problems(False, {"task_acks_late": False}) == []

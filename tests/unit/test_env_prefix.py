from __future__ import annotations

from typing import Any

import pytest

from cadasta.workertoolbox._env_prefix import DEFAULT_ENV_PREFIX, env_prefix_of


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, "CELERY_"),
        ({"ENV_PREFIX": None}, "CELERY_"),
        ({"ENV_PREFIX": ""}, "CELERY_"),
        ({"ENV_PREFIX": "EXPORT_"}, "EXPORT_"),
    ],
)
def test_env_prefix_of_settings(settings: dict[str, Any], expected: str) -> None:
    """A configuration's ENV_PREFIX names its variables; unset or empty, CELERY_ does."""
    assert env_prefix_of(settings) == expected


def test_the_default_prefix_is_celerys() -> None:
    """Without ENV_PREFIX the variables are Celery's own, such as CELERY_BROKER_URL."""
    assert DEFAULT_ENV_PREFIX == "CELERY_"

"""The demo's example app and its result database, on SQLite: no server needed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from celery import Celery

from cadasta.workertoolbox.demo._app import (
    BackendUnavailable,
    create_app,
    prepare_result_backend,
)


@pytest.fixture
def make_demo_app() -> Iterator[Callable[[str], Celery]]:
    """Build the demo's app on an in-memory broker with a given result backend; close it."""
    apps: list[Celery] = []

    def make(result_backend: str) -> Celery:
        apps.append(create_app("memory://", result_backend))
        return apps[-1]

    yield make
    for app in apps:
        app.close()


def test_an_sqlite_database_is_prepared_without_creating_a_database(
    make_demo_app: Callable[[str], Celery], tmp_path: Path
) -> None:
    """SQLite makes its file itself: the tables are created, and no database is reported."""
    path = tmp_path / "results.sqlite"
    app = make_demo_app(f"db+sqlite:///{path}")

    assert prepare_result_backend(app) is False

    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        assert "celery_taskmeta" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_database_that_cannot_be_opened_is_not_taken_for_a_missing_one(
    make_demo_app: Callable[[str], Celery], tmp_path: Path
) -> None:
    """Only a PostgreSQL database is created: SQLite's failure is reported as it is."""
    url = f"db+sqlite:///{tmp_path}/no/such/folder/results.sqlite"
    app = make_demo_app(url)

    with pytest.raises(BackendUnavailable) as raised:
        prepare_result_backend(app)

    assert str(raised.value) == (
        f"cannot use the result backend {url}: OperationalError: "
        "(sqlite3.OperationalError) unable to open database file"
    )

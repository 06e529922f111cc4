"""The project names its app once; everything else comes from the plugin."""

import pytest


@pytest.fixture(scope="session")
def toolbox_app():
    from proj.celery import app

    return app

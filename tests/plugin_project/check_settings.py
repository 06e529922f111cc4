"""The endpoint and app fixtures' settings, run by tests/integration/test_plugin_project.py."""

import sys


def test_the_endpoint_in_use(toolbox_sqs_endpoint):
    print(f"endpoint in use: {toolbox_sqs_endpoint.url}")


def test_the_default_worker(toolbox_live_app, toolbox_worker):
    assert toolbox_worker.pool == "solo"
    assert toolbox_live_app.tasks["export.add"].delay(1, 2).get(timeout=20) == 3


def test_without_moto(monkeypatch, request):
    monkeypatch.setitem(sys.modules, "moto.server", None)
    request.getfixturevalue("toolbox_sqs_endpoint")


def test_without_naming_the_app(toolbox_sent_tasks):
    """Run with --noconftest: the project's conftest.py does not name its app."""

"""Misuse and failures, run on purpose by tests/integration/test_plugin_project.py."""

import threading

import pytest
from proj import tasks


def test_a_stray_task_fails_at_once(toolbox_sent_tasks):
    tasks.stray.delay()


def test_an_assertion_about_a_task_shows_where_every_task_went(toolbox_sent_tasks):
    tasks.render.delay(1)
    toolbox_sent_tasks.one("export.upload")


def test_a_failing_test_with_a_worker(toolbox_worker, toolbox_worker_pool):
    raise AssertionError("failed on purpose")


@pytest.fixture(params=["solo", "prefork"])
def toolbox_worker_pool(request):
    return request.param


class TestAPoolThatDoesNotExist:
    """A pool of a misspelt name."""

    @pytest.fixture
    def toolbox_worker_pool(self):
        """The pool asked for."""
        return "gevnet"

    def test_it_fails_naming_the_pools(self, toolbox_worker):
        """Never runs: the fixture fails first."""


def test_nothing_is_left_running():
    """Runs last: the workers of the failed tests are gone."""
    import os

    children = []
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as found:
            children += found.read().split()
    threads = [t.name for t in threading.enumerate() if t.name.startswith("toolbox-worker")]
    assert (children, threads) == ([], [])

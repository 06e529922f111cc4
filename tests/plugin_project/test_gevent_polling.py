"""A gevent worker of two or three queues runs a task within 2 s of its sending (it took 20 s)."""

import time

import pytest
from proj import tasks

#: Pauses before each send, so that the sends fall at different points of the polling round.
PAUSES = (0.0, 0.3, 0.6, 0.9, 1.2)


@pytest.fixture
def toolbox_worker_pool():
    return "gevent"


@pytest.fixture(params=[("celery", "export"), ("celery", "export", "msg")], ids=["2q", "3q"])
def toolbox_worker_queues(request):
    return request.param


def latencies(pauses):
    """Send one task after each pause, once the last ran; how long each waited to run."""
    found = []
    for pause in pauses:
        time.sleep(pause)
        sent = time.time()
        found.append(tasks.now.delay().get(timeout=30) - sent)
    return found


def test_with_the_default_settings(toolbox_live_app, toolbox_worker, toolbox_worker_queues):
    waited = latencies(PAUSES)
    print(f"{len(toolbox_worker_queues)} queues, latencies: {' '.join(f'{s:.2f}' for s in waited)}")
    assert max(waited) < 2, waited


class TestTheControl:
    """Each poll waits 4 s, as each waited 20 s before the fix: a task waits for the other queue."""

    @pytest.fixture
    def toolbox_worker_queues(self):
        """Two queues, as in the Quickstart."""
        return ("celery", "export")

    @pytest.fixture
    def toolbox_transport_options(self):
        """Each poll waits 4 s, whether queues take turns or not."""
        return {"wait_time_seconds": 4, "turn_wait_time_seconds": 4}

    def test_with_long_polls_taking_turns(self, toolbox_live_app, toolbox_worker):
        """The second task, sent while the worker polls 'celery', waits for that poll."""
        # The worker polls 'celery' right after it received the first task from 'export'.
        waited = latencies((0.0, 0.0))
        print(f"control latencies: {' '.join(f'{s:.2f}' for s in waited)}")
        assert waited[1] > 2, waited

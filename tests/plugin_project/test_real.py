"""Real mode: the app on an SQS endpoint, a worker on every pool, the monitor queue read."""

import time

import pytest
from proj import tasks


@pytest.fixture(params=["solo", "threads", "prefork", "gevent"])
def toolbox_worker_pool(request):
    return request.param


def test_a_task_runs_and_the_monitor_sees_it(toolbox_live_app, toolbox_worker, toolbox_monitor):
    result = tasks.render.delay(7)

    assert result.get(timeout=20) == "project 7 rendered"
    (record,) = toolbox_monitor.wait_for([result.id])
    assert (record.task, record.args) == ("export.render", [7])


def test_a_chain_a_group_and_a_chord_run_and_the_monitor_sees_every_task(
    toolbox_live_app, toolbox_worker, toolbox_monitor
):
    chained = tasks.render_then_notify(3)
    grouped = tasks.squares([1, 2])
    chorded = tasks.export_all([1, 2, 3])

    assert chained.get(timeout=20) == "notified: project 3 rendered"
    assert grouped.get(timeout=20) == [1, 4]
    assert chorded.get(timeout=20) == 14
    ids = [chained.id, chained.parent.id, *(r.id for r in grouped.results), chorded.id]
    toolbox_monitor.wait_for(ids, timeout=20)
    # The chord's callback handed its callback (notify) to the upload it scheduled.
    (upload,) = [r for r in toolbox_monitor.seen if r.task == "export.upload"]
    deadline = time.monotonic() + 20
    while not (notified := [r for r in toolbox_monitor.seen if r.parent_id == upload.id]):
        if time.monotonic() > deadline:
            break
        # Waits up to 0.5 s for a message (without expected=1, an empty queue returns at once).
        toolbox_monitor.read(expected=1, timeout=0.5)
    assert [r.task for r in notified] == ["msg.notify"], toolbox_monitor.describe()

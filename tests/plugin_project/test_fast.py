"""Fast mode: what the app sends and where it goes, without a broker."""

from proj import tasks


def test_a_task_goes_to_its_work_queue_and_the_monitor(toolbox_sent_tasks):
    tasks.render.delay(7)

    sent = toolbox_sent_tasks.one("export.render")
    assert sent.args == (7,)
    assert sent.routing_key == "export"
    assert sent.queues == {"export", "platform.fifo"}
    assert sent.work_queues == {"export"}
    assert sent.reaches_monitor


def test_a_chain_sends_its_first_task_carrying_the_rest(toolbox_sent_tasks):
    tasks.render_then_notify(3)

    assert toolbox_sent_tasks.names == ["export.render"]
    (rest,) = toolbox_sent_tasks[0].embed["chain"]
    assert rest["task"] == "msg.notify"


def test_a_group_sends_each_task_with_the_group_id(toolbox_sent_tasks):
    result = tasks.squares([1, 2, 3])

    assert toolbox_sent_tasks.names == ["export.square"] * 3
    assert [t.args for t in toolbox_sent_tasks] == [(1,), (2,), (3,)]
    assert {t.group_id for t in toolbox_sent_tasks} == {result.id}


def test_a_chord_sends_its_header_and_the_unlock_to_the_body_queue(toolbox_sent_tasks):
    tasks.export_all([1, 2, 3])

    assert sorted(toolbox_sent_tasks.names) == ["celery.chord_unlock"] + ["export.square"] * 3
    unlock = toolbox_sent_tasks.one("celery.chord_unlock")
    assert unlock.work_queues == {"export"}
    body = unlock.args[1]
    assert body["task"] == "export.bundle"
    assert [link["task"] for link in body["options"]["link"]] == ["msg.notify"]


def test_the_chord_callback_hands_its_callbacks_to_the_upload(toolbox_sent_tasks):
    request = {"callbacks": [tasks.notify.s()], "id": "bundle-id", "root_id": "root-id"}
    tasks.bundle.push_request(**request)
    try:
        assert tasks.bundle.run([1, 4, 9]) == 14
    finally:
        tasks.bundle.pop_request()

    upload = toolbox_sent_tasks.one("export.upload")
    assert upload.args == (14,)
    assert [link["task"] for link in upload.embed["callbacks"]] == ["msg.notify"]

"""Temporary smoke test of the service fixtures (removed once scenarios exist)."""

from tests.integration.services import task_id


def test_fixtures(make_sqs_app, sqs_endpoint, queue_prefix, database_url, amqp_url):
    """The fixtures give a working endpoint, database and broker."""
    app = make_sqs_app(queues=["export"])
    result = app.send_task("export.build")
    names = sqs_endpoint.queue_names(queue_prefix)
    assert names == [f"{queue_prefix}-export", f"{queue_prefix}-platform.fifo"]
    assert [task_id(m) for m in sqs_endpoint.drain(f"{queue_prefix}-export")] == [result.id]
    assert [task_id(m) for m in sqs_endpoint.drain(f"{queue_prefix}-platform.fifo")] == [result.id]

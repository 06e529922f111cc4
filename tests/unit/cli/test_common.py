import logging
from collections.abc import Callable

import pytest
from celery import Celery

from cadasta.workertoolbox.cli._common import (
    broker_location,
    first_line,
    not_configured_note,
    quiet_library_logs,
    redact,
    report_error,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("\n  first  \nsecond", "first"), ("", "no details"), (" \n ", "no details")],
)
def test_first_line(text: str, expected: str) -> None:
    """The first line that holds something, stripped."""
    assert first_line(text) == expected


def test_errors_are_one_line_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """A message with line breaks is printed as one line on standard error."""
    report_error("Cannot do it:\n  - this\n  - that")
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "Error: Cannot do it: - this - that\n")


def test_note_about_apps_without_config(make_app: Callable[..., Celery]) -> None:
    """Only an app not configured with Config gets a note, which says what to do."""
    assert not_configured_note(make_app()) is None
    app = Celery("plain", set_as_current=False)
    try:
        note = not_configured_note(app)
    finally:
        app.close()
    assert note is not None
    assert note.startswith("app 'plain' was not configured with cadasta.workertoolbox.conf.Config")
    assert "app.config_from_object(Config(...))" in note


def test_broker_location(make_app: Callable[..., Celery]) -> None:
    """The broker URL with its password masked, or the transport when there is no URL."""
    assert broker_location(make_app(broker_url="amqp://u:S3cret@h//")) == "'amqp://u:********@h//'"
    assert broker_location(make_app(broker_url=None)) == (
        "the default 'sqs' broker (broker_url is not set)"
    )


@pytest.mark.parametrize(
    ("text", "url", "expected"),
    [
        ("refused by u:S3cret@h", "amqp://u:S3cret@h//", "refused by u:********@h"),
        ("bad 'Pa/ss'", "sqs://k:Pa%2Fss@h:1", "bad '********'"),
        ("no password", "memory://", "no password"),
        ("no url", None, "no url"),
        ("empty password", "amqp://u:@h//", "empty password"),
        ("unparsable", "amqp://u:p@[::1//", "********"),
        ("token t%2Fk and t/k", "sqs://k@h/?sts_token=t%2Fk", "token ******** and ********"),
        ("at redis://x:other@h", "memory://", "at redis://x:********@h"),
    ],
)
def test_redact(text: str, url: str | None, expected: str) -> None:
    """
    The URL's secrets, as given or %-decoded, are masked; an unparsable URL hides all.

    The password and secret query parameters of *url*, and whatever else mask_text finds.
    """
    assert redact(text, url) == expected


def test_quiet_library_logs(caplog: pytest.LogCaptureFixture) -> None:
    """The library's records are dropped inside the block, kept again after it."""
    logger = logging.getLogger("cadasta.workertoolbox.provisioning")
    with caplog.at_level(logging.INFO):
        with quiet_library_logs():
            logger.warning("dropped")
        logger.warning("kept")
    assert [record.getMessage() for record in caplog.records] == ["kept"]
    assert logging.getLogger("cadasta.workertoolbox").propagate is True

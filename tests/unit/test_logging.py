from __future__ import annotations

import io
import logging
import logging.config
import logging.handlers
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cadasta.workertoolbox._logging import (
    BACKUP_COUNT,
    MAX_BYTES,
    MaskPasswordsFilter,
    configure_file_logging,
    logging_config,
    mask_passwords,
)
from cadasta.workertoolbox._secrets import MASK, mask_url
from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.exceptions import ConfigError
from cadasta.workertoolbox.utils import ColorFormatter

RED = "\x1b[1;31m"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Close the handlers a test adds to the root logger and restore its handlers."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def console() -> io.StringIO:
    """The stream the console handler writes to in place of standard error."""
    return io.StringIO()


@pytest.fixture
def apply_config(console: io.StringIO) -> Callable[..., None]:
    """Apply logging_config(log_dir) with the console on a StringIO."""

    def apply(log_dir: Path, **options: Any) -> None:
        config = logging_config(str(log_dir), **options)
        config["handlers"]["console"]["stream"] = console
        logging.config.dictConfig(config)

    return apply


def flush() -> None:
    """Flush the root logger's handlers, so that the files can be read."""
    for handler in logging.getLogger().handlers:
        handler.flush()


def test_logging_config_has_no_side_effects(tmp_path: Path) -> None:
    """Building the configuration creates no folder and touches no handler."""
    root = logging.getLogger()
    handlers = list(root.handlers)

    config = logging_config(str(tmp_path / "logs"))

    assert not (tmp_path / "logs").exists()
    assert root.handlers == handlers
    assert config["disable_existing_loggers"] is False
    assert config["root"] == {"level": "INFO", "handlers": ["console", "info_file", "error_file"]}


@pytest.mark.parametrize(
    ("handler", "filename", "level"),
    [("info_file", "info.log", "INFO"), ("error_file", "error.log", "ERROR")],
)
def test_logging_config_rotates_each_file(
    tmp_path: Path, handler: str, filename: str, level: str
) -> None:
    """Each file handler rotates its file in the log folder and keeps old files."""
    config = logging_config(str(tmp_path))["handlers"][handler]

    assert config["class"] == "logging.handlers.RotatingFileHandler"
    assert config["filename"] == str(tmp_path / filename)
    assert config["level"] == level
    assert (config["maxBytes"], config["backupCount"]) == (MAX_BYTES, BACKUP_COUNT)
    assert MAX_BYTES > 0
    assert BACKUP_COUNT > 0


def test_info_and_error_records_go_to_their_files(
    tmp_path: Path, apply_config: Callable[..., None]
) -> None:
    """INFO and above reach info.log, ERROR and above error.log, DEBUG neither."""
    apply_config(tmp_path, use_color=False)
    logger = logging.getLogger("cadasta.test")

    logger.debug("a detail")
    logger.info("an export started")
    logger.warning("an export is slow")
    logger.error("an export failed")
    flush()

    info = (tmp_path / "info.log").read_text()
    error = (tmp_path / "error.log").read_text()
    assert "a detail" not in info + error
    assert all(m in info for m in ("an export started", "an export is slow", "an export failed"))
    assert "an export failed" in error
    assert "an export started" not in error
    assert "an export is slow" not in error
    assert "INFO/MainProcess] cadasta.test: an export started" in info


def test_existing_loggers_keep_working(tmp_path: Path, apply_config: Callable[..., None]) -> None:
    """Loggers created before the configuration still log (disable_existing_loggers off)."""
    logger = logging.getLogger("cadasta.created_before")

    apply_config(tmp_path, use_color=False)
    logger.info("still here")
    flush()

    assert not logger.disabled
    assert "still here" in (tmp_path / "info.log").read_text()


@pytest.mark.parametrize(("use_color", "coloured"), [(True, True), (False, False)])
def test_console_is_coloured_on_request(
    tmp_path: Path,
    apply_config: Callable[..., None],
    console: io.StringIO,
    use_color: bool,
    coloured: bool,
) -> None:
    """The console colours an ERROR line when use_color is true; the files never do."""
    apply_config(tmp_path, use_color=use_color)

    logging.getLogger("cadasta.test").error("an export failed")
    flush()

    assert "an export failed" in console.getvalue()
    assert (RED in console.getvalue()) is coloured
    assert "\x1b[" not in (tmp_path / "error.log").read_text()
    console_handler = logging.getLogger().handlers[0]
    assert isinstance(console_handler.formatter, ColorFormatter)


def test_console_colour_follows_the_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without use_color, the console is coloured when standard error is a terminal."""
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert logging_config(str(tmp_path))["formatters"]["console"]["use_color"] is False

    controller, terminal = os.openpty()
    with open(terminal, "w") as stderr:
        monkeypatch.setattr(sys, "stderr", stderr)
        config = logging_config(str(tmp_path))
    os.close(controller)

    assert config["formatters"]["console"]["use_color"] is True


URLS = [
    "redis://worker:hunter2@redis.internal:6379/0",
    "db+postgresql+psycopg2://worker:p%40ss@db.internal/cadasta",
    "amqp://:secret@rabbit//",
    "sqs://AKIAEXAMPLE:wJalr%2FK7MDENG@",
]


@pytest.mark.parametrize("url", URLS)
def test_mask_passwords_masks_as_mask_url_does(url: str) -> None:
    """A URL in a text comes out as mask_url shows it."""
    assert mask_passwords(f"connecting to {url} now") == f"connecting to {mask_url(url)} now"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sqs://AKIA:wJal/K7MD@", f"sqs://AKIA:{MASK}@"),
        ("'amqp://u:p@ss@rabbit//'", f"'amqp://u:{MASK}@rabbit//'"),
        ("redis://redis.internal:6379/0 by ops@example.org", None),
        ("https://public@example.invalid/1", None),
        ("no URL here: a:b@c", None),
    ],
)
def test_mask_passwords_variants(text: str, expected: str | None) -> None:
    """Unescaped / and @ in a password are masked whole; texts without one are kept."""
    assert mask_passwords(text) == (text if expected is None else expected)


def test_secrets_are_masked_in_the_files(
    tmp_path: Path, apply_config: Callable[..., None], console: io.StringIO
) -> None:
    """Passwords in messages, arguments and tracebacks never reach the log output."""
    apply_config(tmp_path, use_color=False)
    logger = logging.getLogger("cadasta.test")

    logger.info("broker is %s", "redis://worker:hunter2@redis/0")
    logger.info("backend is db+postgresql://worker:hunter3@db/cadasta")
    try:
        raise ConnectionError("cannot reach amqp://guest:hunter4@rabbit//")
    except ConnectionError:
        logger.exception("connection lost")
    flush()

    outputs = [
        (tmp_path / "info.log").read_text(),
        (tmp_path / "error.log").read_text(),
        console.getvalue(),
    ]
    for output in outputs:
        assert "hunter" not in output
    assert f"redis://worker:{MASK}@redis/0" in outputs[0]
    assert f"db+postgresql://worker:{MASK}@db/cadasta" in outputs[0]
    assert f"ConnectionError: cannot reach amqp://guest:{MASK}@rabbit//" in outputs[1]


@pytest.mark.parametrize(
    ("handler", "output"),
    [("console", None), ("info_file", "info.log"), ("error_file", "error.log")],
)
def test_each_handler_masks_on_its_own(
    tmp_path: Path, console: io.StringIO, handler: str, output: str | None
) -> None:
    """Every handler masks passwords itself, whichever handlers the root logger keeps."""
    config = logging_config(str(tmp_path), use_color=False)
    config["handlers"]["console"]["stream"] = console
    config["root"]["handlers"] = [handler]
    logging.config.dictConfig(config)

    logging.getLogger("cadasta.test").error("broker is %s", "redis://worker:hunter2@redis/0")
    flush()

    text = console.getvalue() if output is None else (tmp_path / output).read_text()
    assert f"broker is redis://worker:{MASK}@redis/0" in text


def test_filter_keeps_records_without_secrets_as_they_are() -> None:
    """A record with nothing to mask keeps its message and arguments for other handlers."""
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "took %d s", (3,), None)

    assert MaskPasswordsFilter().filter(record) is True
    assert (record.msg, record.args) == ("took %d s", (3,))


def test_filter_masks_a_traceback_already_formatted() -> None:
    """A traceback another handler already formatted (exc_text) is masked too."""
    try:
        raise ValueError("x")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "m", (), sys.exc_info())
    record.exc_text = "Traceback: redis://u:hunter2@h"

    MaskPasswordsFilter().filter(record)

    assert record.exc_text == f"Traceback: redis://u:{MASK}@h"


def test_filter_lets_a_broken_record_through_to_be_reported(
    tmp_path: Path, apply_config: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    """A message whose arguments do not fit is reported by logging, not raised by the filter."""
    apply_config(tmp_path, use_color=False)

    logging.getLogger("cadasta.test").info("two %s %s", "one")

    assert "not enough arguments for format string" in capsys.readouterr().err


def test_configure_file_logging_creates_the_folder(tmp_path: Path) -> None:
    """The log folder is created, with both files, and the root logger writes to them."""
    log_dir = tmp_path / "nested" / "logs"

    configure_file_logging(str(log_dir))
    logging.getLogger("cadasta.test").error("written")
    flush()

    assert "written" in (log_dir / "info.log").read_text()
    assert "written" in (log_dir / "error.log").read_text()
    root = logging.getLogger()
    assert root.level == logging.INFO
    files = [h for h in root.handlers if isinstance(h, logging.handlers.RotatingFileHandler)]
    assert sorted(Path(h.baseFilename).name for h in files) == ["error.log", "info.log"]


@pytest.mark.parametrize("obstacle", ["log_dir_is_a_file", "info_log_is_a_folder"])
def test_configure_file_logging_refuses_an_unusable_folder(tmp_path: Path, obstacle: str) -> None:
    """A folder that cannot hold the files is a ConfigError naming LOG_DIR; logging is kept."""
    log_dir = tmp_path / "logs"
    if obstacle == "log_dir_is_a_file":
        log_dir.write_text("")
    else:
        (log_dir / "info.log").mkdir(parents=True)
    root = logging.getLogger()
    handlers = list(root.handlers)

    with pytest.raises(ConfigError, match=r"LOG_DIR=.*logs.* cannot hold the log files") as info:
        configure_file_logging(str(log_dir))

    assert "SETUP_FILE_LOGGING" in str(info.value)
    assert root.handlers == handlers


@pytest.mark.parametrize(
    "environ",
    [
        pytest.param({}, id="keywords"),
        pytest.param({"CELERY_SETUP_FILE_LOGGING": "true"}, id="environment"),
    ],
)
def test_config_applies_file_logging(tmp_path: Path, environ: dict[str, str]) -> None:
    """Config with SETUP_FILE_LOGGING logs to LOG_DIR and keeps Celery off the root logger."""
    settings: dict[str, Any] = {"LOG_DIR": str(tmp_path)}
    if not environ:
        settings["SETUP_FILE_LOGGING"] = True

    config = Config(environ=environ, broker_url="memory://", **settings)
    logging.getLogger("cadasta.test").info("configured by Config")
    flush()

    assert config["worker_hijack_root_logger"] is False
    assert "configured by Config" in (tmp_path / "info.log").read_text()


def test_config_leaves_logging_alone_by_default(tmp_path: Path) -> None:
    """Without SETUP_FILE_LOGGING, Config adds no handler and writes no file."""
    root = logging.getLogger()
    handlers = list(root.handlers)

    config = Config(environ={}, broker_url="memory://", LOG_DIR=str(tmp_path / "logs"))

    assert root.handlers == handlers
    assert not (tmp_path / "logs").exists()
    assert "worker_hijack_root_logger" not in config

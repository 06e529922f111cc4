from __future__ import annotations

import io
import logging
import logging.config
import logging.handlers
import os
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.config._logging import (
    BACKUP_COUNT,
    DEFAULT_FILE_MODE,
    MAX_BYTES,
    MaskPasswordsFilter,
    PrivateRotatingFileHandler,
    configure_file_logging,
    folder_mode,
    logging_config,
    mask_passwords,
    open_log_file,
)
from cadasta.workertoolbox.config._secrets import MASK, mask_url
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

    assert config["()"] is PrivateRotatingFileHandler
    assert issubclass(PrivateRotatingFileHandler, logging.handlers.RotatingFileHandler)
    assert config["file_mode"] == DEFAULT_FILE_MODE == 0o600
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


# -- the files' permissions and symbolic links --------------------------------------------


def mode_of(path: Path) -> int:
    """The permission bits of *path*, not following a symbolic link."""
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """Run the test under the usual umask, 022, which leaves new files world-readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("usual_umask")
@pytest.mark.parametrize(
    ("file_mode", "expected_folder_mode"),
    [(None, 0o700), (0o640, 0o750), (0o660, 0o770), (0o644, 0o755)],
    ids=["default", "0o640", "0o660", "0o644"],
)
def test_the_folder_and_the_files_are_private(
    tmp_path: Path, file_mode: int | None, expected_folder_mode: int
) -> None:
    """
    A folder created for the logs is 0700, the files 0600, unless LOG_FILE_MODE says else.

    Whatever the umask; files made at rotation get the same mode.
    """
    log_dir = tmp_path / "logs"
    if file_mode is None:
        configure_file_logging(str(log_dir))
        file_mode = 0o600
    else:
        configure_file_logging(str(log_dir), file_mode)
    logging.getLogger("cadasta.test").error("written")
    flush()

    assert mode_of(log_dir) == expected_folder_mode == folder_mode(file_mode)
    assert mode_of(log_dir / "info.log") == mode_of(log_dir / "error.log") == file_mode
    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrivateRotatingFileHandler):
            handler.doRollover()
    assert mode_of(log_dir / "info.log.1") == mode_of(log_dir / "info.log") == file_mode


@pytest.mark.usefixtures("usual_umask")
def test_an_existing_folder_is_kept_and_existing_files_are_made_private(tmp_path: Path) -> None:
    """A folder that exists keeps its mode; a log file written before (0644) becomes 0600."""
    tmp_path.chmod(0o755)
    (tmp_path / "info.log").write_text("older lines\n")
    (tmp_path / "info.log").chmod(0o644)

    configure_file_logging(str(tmp_path))

    assert mode_of(tmp_path) == 0o755
    assert mode_of(tmp_path / "info.log") == 0o600
    assert (tmp_path / "info.log").read_text() == "older lines\n"


@pytest.mark.parametrize("filename", ["info.log", "error.log"])
def test_a_log_file_that_is_a_symbolic_link_is_refused(tmp_path: Path, filename: str) -> None:
    """
    A log file that is a symbolic link is a ConfigError naming LOG_DIR; nothing is written.

    Following it would append to any file the process may write.
    """
    target = tmp_path / "elsewhere"
    target.write_text("not a log\n")
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    (log_dir / filename).symlink_to(target)
    root = logging.getLogger()
    handlers = list(root.handlers)

    with pytest.raises(ConfigError, match=f"holds '{filename}' as a symbolic link") as info:
        configure_file_logging(str(log_dir))

    assert "LOG_DIR=" in str(info.value)
    assert "Remove the link" in str(info.value)
    assert target.read_text() == "not a log\n"
    assert root.handlers == handlers


def test_the_handler_never_opens_a_symbolic_link(tmp_path: Path) -> None:
    """The handler opens every file, at start and at each rotation, without following links."""
    target = tmp_path / "elsewhere"
    (tmp_path / "info.log").symlink_to(target)

    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        PrivateRotatingFileHandler(str(tmp_path / "info.log"))

    assert not target.exists()


def test_open_log_file_refuses_a_link_and_closes_what_it_opened(tmp_path: Path) -> None:
    """ELOOP for a link; a file whose mode cannot be set is closed before the error."""
    (tmp_path / "link").symlink_to(tmp_path / "target")
    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        open_log_file(str(tmp_path / "link"), 0o600)
    assert not (tmp_path / "target").exists()

    with open_log_file(str(tmp_path / "plain.log"), 0o600) as opened:
        opened.write("line\n")
    assert (tmp_path / "plain.log").read_text() == "line\n"


def test_a_file_whose_mode_cannot_be_set_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log file owned by someone else (fchmod refused) is a ConfigError naming LOG_DIR."""
    (tmp_path / "info.log").write_text("")
    (tmp_path / "info.log").chmod(0o644)
    opened: list[int] = []
    real_open = os.open

    def recording_open(path: str, flags: int, mode: int = 0o777) -> int:
        opened.append(real_open(path, flags, mode))
        return opened[-1]

    def refused(descriptor: int, mode: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "open", recording_open)
    monkeypatch.setattr(os, "fchmod", refused)
    with pytest.raises(ConfigError, match=r"cannot hold the log files: .*Operation not permitted"):
        configure_file_logging(str(tmp_path))
    monkeypatch.undo()
    for descriptor in opened:
        with pytest.raises(OSError, match="Bad file descriptor"):
            os.fstat(descriptor)


@pytest.mark.parametrize(
    ("environ", "settings", "expected"),
    [
        pytest.param({}, {}, 0o600, id="default"),
        pytest.param({"CELERY_LOG_FILE_MODE": "0o640"}, {}, 0o640, id="environment"),
        pytest.param({}, {"LOG_FILE_MODE": 0o660}, 0o660, id="keyword"),
    ],
)
def test_config_applies_log_file_mode(
    tmp_path: Path, environ: dict[str, str], settings: dict[str, Any], expected: int
) -> None:
    """LOG_FILE_MODE (CELERY_LOG_FILE_MODE, in octal) sets the files' permissions."""
    config = Config(
        environ=environ,
        broker_url="memory://",
        SETUP_FILE_LOGGING=True,
        LOG_DIR=str(tmp_path / "logs"),
        **settings,
    )

    assert (config.LOG_FILE_MODE, mode_of(tmp_path / "logs" / "info.log")) == (expected, expected)


# -- what the filter masks -----------------------------------------------------------------


def record(msg: object, args: Any) -> logging.LogRecord:
    """A record of *msg* with *args*, as a logger call makes it."""
    made = logging.LogRecord("x", logging.INFO, __file__, 1, msg, None, None)
    made.args = args
    return made


@pytest.mark.parametrize(
    ("msg", "args", "expected"),
    [
        (
            "options %s",
            ({"password": "hunter2", "n": 1},),
            f"options {{'password': '{MASK}', 'n': 1}}",
        ),
        ("pin %(password)s for %(user)s", {"password": 1234, "user": "w"}, f"pin {MASK} for w"),
        ({"token": 99}, (), f"{{'token': '{MASK}'}}"),
        (
            "pin %(password)d",
            {"password": 1234},
            "pin %(password)d (not formatted: its arguments hold a secret)",
        ),
    ],
)
def test_filter_masks_secret_named_keys_of_logged_dicts(
    msg: object, args: Any, expected: str
) -> None:
    """
    A dict logged as the message or an argument has its secret-named keys masked.

    The caller's dict is left as it was. A numeric format that cannot take the mask
    is shown unformatted, its arguments withheld.
    """
    logged = record(msg, args)
    given = repr(args)

    assert MaskPasswordsFilter().filter(logged) is True

    assert logged.getMessage() == expected
    assert repr(args) == given

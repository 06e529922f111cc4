"""
Logging to the console and to private files, with secrets masked.

With ``SETUP_FILE_LOGGING``, :class:`~cadasta.workertoolbox.conf.Config` calls
:func:`configure_file_logging`: the root logger writes to the console in colour, every
record of level INFO and above to ``info.log`` and of level ERROR and above to
``error.log``. :func:`logging_config` builds the configuration without applying it.

The files are created with ``LOG_FILE_MODE`` (``0o600``: the owner alone reads them), and
their folder, when it is created, with the same permissions plus search (``0o700``). A
log file that is a symbolic link is refused: appending through it could write any file
the process may write.
"""

from __future__ import annotations

import errno
import logging
import logging.config
import logging.handlers
import os
import stat
import sys
from io import TextIOWrapper
from typing import TYPE_CHECKING, Any

from ..exceptions import ConfigError
from ..utils import ColorFormatter
from ._masking import mask_mapping, mask_text

if TYPE_CHECKING:
    from ._config import Config

__all__ = [
    "BACKUP_COUNT",
    "DEFAULT_FILE_MODE",
    "LOG_FORMAT",
    "MAX_BYTES",
    "MaskPasswordsFilter",
    "PrivateRotatingFileHandler",
    "configure_file_logging",
    "folder_mode",
    "logging_config",
    "mask_passwords",
    "open_log_file",
    "start_file_logging",
]

#: The format of every line: Celery's worker format, plus the logger's name.
LOG_FORMAT = "[%(asctime)s: %(levelname)s/%(processName)s] %(name)s: %(message)s"
#: A log file is rotated when it reaches this size…
MAX_BYTES = 10 * 1024 * 1024
#: …and this many rotated files are kept (``info.log.1`` … ``info.log.5``).
BACKUP_COUNT = 5

#: The permissions of the log files unless ``LOG_FILE_MODE`` says otherwise.
DEFAULT_FILE_MODE = 0o600

#: The log files and the least level each receives.
_FILES = {"info_file": ("info.log", "INFO"), "error_file": ("error.log", "ERROR")}

#: Formats tracebacks for masking, as :class:`logging.Formatter` does for every handler.
_TRACEBACKS = logging.Formatter()


def mask_passwords(text: str) -> str:
    """
    Return *text* with every secret in it replaced by the mask.

    A URL comes out as :func:`~cadasta.workertoolbox.config._secrets.mask_url` shows it:
    ``redis://user:********@host/0?password=********``; see
    :func:`~cadasta.workertoolbox.config._masking.mask_text` for the rest.
    """
    return mask_text(text)


def _message(msg: object, args: Any) -> str:
    """Format *msg* with *args* as :meth:`logging.LogRecord.getMessage` does."""
    text = str(msg)
    return text % args if args else text


class MaskPasswordsFilter(logging.Filter):
    """
    Mask the secrets in a record's message, arguments and traceback.

    A dict logged as the message or among the arguments has the values of its
    secret-named keys masked; the formatted message then loses every secret
    :func:`mask_passwords` finds. The record itself is changed, so every handler after
    this one sees it masked too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask *record* and let it through."""
        msg, args = mask_mapping(record.msg), mask_mapping(record.args)
        try:
            message = _message(msg, args)
        except Exception:
            if msg is record.msg and args is record.args:
                # A message whose arguments do not fit its format: the handler's
                # formatter raises the same error and logging reports it.
                return True
            # A masked value given to a numeric format (%(password)d): not shown at all.
            message = f"{msg} (not formatted: its arguments hold a secret)"
        masked = mask_passwords(message)
        if masked != message or msg is not record.msg or args is not record.args:
            record.msg, record.args = masked, None
        if record.exc_info:
            traceback = record.exc_text or _TRACEBACKS.formatException(record.exc_info)
            record.exc_text = mask_passwords(traceback)
        return True


def folder_mode(file_mode: int) -> int:
    """Return the permissions of a folder for files of *file_mode*: search wherever read."""
    return file_mode | ((file_mode & 0o444) >> 2)


def open_log_file(
    path: str, file_mode: int, encoding: str | None = None, errors: str | None = None
) -> TextIOWrapper:
    """
    Open *path* for appending, never through a symbolic link, with *file_mode* permissions.

    A file created here gets *file_mode* exactly (whatever the umask); an existing one is
    set to it.

    Raises:
        OSError: *path* is a symbolic link (``ELOOP``), or cannot be opened or set.

    """
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptor = os.open(path, flags, file_mode)
    try:
        if stat.S_IMODE(os.fstat(descriptor).st_mode) != file_mode:
            os.fchmod(descriptor, file_mode)
        return open(descriptor, "a", encoding=encoding, errors=errors)
    except BaseException:
        os.close(descriptor)
        raise


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """
    A :class:`~logging.handlers.RotatingFileHandler` whose files are private.

    Every file it opens, at start and after each rotation, is opened by
    :func:`open_log_file`: with *file_mode* permissions, never through a symbolic link.

    Args:
        filename: The log file.
        file_mode: The permissions of the files.
        **options: As for :class:`~logging.handlers.RotatingFileHandler`.

    """

    def __init__(self, filename: str, file_mode: int = DEFAULT_FILE_MODE, **options: Any):
        self.file_mode = file_mode
        super().__init__(filename, **options)

    def _open(self) -> TextIOWrapper:
        return open_log_file(self.baseFilename, self.file_mode, self.encoding, self.errors)


def logging_config(
    log_dir: str, *, use_color: bool | None = None, file_mode: int = DEFAULT_FILE_MODE
) -> dict[str, Any]:
    """
    Return the :func:`logging.config.dictConfig` configuration of file logging.

    Args:
        log_dir: The folder of ``info.log`` and ``error.log``.
        use_color: Whether the console lines are coloured; when omitted, they are if the
            standard error stream is a terminal.
        file_mode: The permissions of the log files (``LOG_FILE_MODE``).

    Returns:
        The configuration: the root logger at INFO writes to the console, to
        ``info.log`` and to ``error.log``, each file rotated at :data:`MAX_BYTES` with
        :data:`BACKUP_COUNT` old files kept, created with *file_mode* and never opened
        through a symbolic link. The loggers that exist keep working.

    """
    if use_color is None:
        use_color = sys.stderr is not None and sys.stderr.isatty()
    handlers: dict[str, dict[str, Any]] = {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "console",
            "filters": ["mask_passwords"],
        }
    }
    for handler, (filename, level) in _FILES.items():
        handlers[handler] = {
            "()": PrivateRotatingFileHandler,
            "filename": os.path.join(log_dir, filename),
            "file_mode": file_mode,
            "maxBytes": MAX_BYTES,
            "backupCount": BACKUP_COUNT,
            "encoding": "utf-8",
            "level": level,
            "formatter": "file",
            "filters": ["mask_passwords"],
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"mask_passwords": {"()": MaskPasswordsFilter}},
        "formatters": {
            "console": {"()": ColorFormatter, "fmt": LOG_FORMAT, "use_color": use_color},
            "file": {"format": LOG_FORMAT},
        },
        "handlers": handlers,
        "root": {"level": "INFO", "handlers": list(handlers)},
    }


def configure_file_logging(log_dir: str, file_mode: int = DEFAULT_FILE_MODE) -> None:
    """
    Log to the console, ``info.log`` and ``error.log``, creating *log_dir* if needed.

    The folder, when created here, gets :func:`folder_mode` of *file_mode* (``0o700``);
    an existing one is left as it is. The files are opened before logging is
    reconfigured, so that a folder that cannot hold them leaves logging as it was.
    Processes that share *log_dir* (the children of a prefork worker) share the files;
    rotation is then not coordinated between them.

    Args:
        log_dir: The folder of the log files.
        file_mode: The permissions of the log files (``LOG_FILE_MODE``).

    Raises:
        ConfigError: The folder or a file in it cannot be created or written, or a
            file is a symbolic link.

    """
    config = logging_config(log_dir, file_mode=file_mode)
    try:
        if not os.path.isdir(log_dir):
            os.makedirs(log_dir, mode=folder_mode(file_mode))
            os.chmod(log_dir, folder_mode(file_mode))  # exactly, whatever the umask
        for handler in _FILES:
            filename = config["handlers"][handler]["filename"]
            try:
                open_log_file(filename, file_mode).close()
            except OSError as error:
                if error.errno == errno.ELOOP and os.path.islink(filename):
                    raise ConfigError(
                        f"LOG_DIR={log_dir!r} holds {os.path.basename(filename)!r} as a "
                        "symbolic link; log files are never written through one, which "
                        "could make this process append to any file it may write. Remove "
                        "the link, or set LOG_DIR (the environment variable CELERY_LOG_DIR "
                        "by default) to another folder."
                    ) from None
                raise
    except OSError as error:
        raise ConfigError(
            f"LOG_DIR={log_dir!r} cannot hold the log files: {error}. Set LOG_DIR "
            "(the environment variable CELERY_LOG_DIR by default) to a folder this "
            "process can write to, or set SETUP_FILE_LOGGING to false."
        ) from error
    logging.config.dictConfig(config)


def start_file_logging(config: Config) -> None:
    """Log to files in ``LOG_DIR`` when the configuration's ``SETUP_FILE_LOGGING`` is on."""
    if config.SETUP_FILE_LOGGING:
        configure_file_logging(config.LOG_DIR, config.LOG_FILE_MODE)

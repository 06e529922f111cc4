"""
Logging to the console and to files, with the passwords of URLs masked.

With ``SETUP_FILE_LOGGING``, :class:`~cadasta.workertoolbox.conf.Config` calls
:func:`configure_file_logging`: the root logger writes to the console in colour, every
record of level INFO and above to ``info.log`` and of level ERROR and above to
``error.log``. :func:`logging_config` builds the configuration without applying it.
"""

from __future__ import annotations

import logging
import logging.config
import os
import re
import sys
from typing import Any

from ._secrets import MASK
from .exceptions import ConfigError
from .utils import ColorFormatter

__all__ = [
    "BACKUP_COUNT",
    "LOG_FORMAT",
    "MAX_BYTES",
    "MaskPasswordsFilter",
    "configure_file_logging",
    "logging_config",
    "mask_passwords",
]

#: The format of every line: Celery's worker format, plus the logger's name.
LOG_FORMAT = "[%(asctime)s: %(levelname)s/%(processName)s] %(name)s: %(message)s"
#: A log file is rotated when it reaches this size…
MAX_BYTES = 10 * 1024 * 1024
#: …and this many rotated files are kept (``info.log.1`` … ``info.log.5``).
BACKUP_COUNT = 5

#: The log files and the least level each receives.
_FILES = {"info_file": ("info.log", "INFO"), "error_file": ("error.log", "ERROR")}

#: ``scheme://user:password@`` anywhere in a text. The password runs to the last ``@``
#: before a blank, so that a password with an unescaped ``/`` or ``@`` is masked whole.
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s'\"]*):\S*@")

#: Formats tracebacks for masking, as :class:`logging.Formatter` does for every handler.
_TRACEBACKS = logging.Formatter()


def mask_passwords(text: str) -> str:
    """
    Return *text* with the password of every URL in it replaced by the mask.

    A URL comes out as :func:`~cadasta.workertoolbox._secrets.mask_url` shows it:
    ``redis://user:********@host/0``.
    """
    return _URL_PASSWORD.sub(rf"\g<head>:{MASK}@", text)


class MaskPasswordsFilter(logging.Filter):
    """
    Mask the passwords of URLs in a record's message and traceback.

    The record itself is changed, so every handler after this one sees it masked too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask *record* and let it through."""
        try:
            message = record.getMessage()
        except Exception:
            # A message whose arguments do not fit its format: the handler's formatter
            # raises the same error and logging reports it, with the record.
            return True
        masked = mask_passwords(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info:
            traceback = record.exc_text or _TRACEBACKS.formatException(record.exc_info)
            record.exc_text = mask_passwords(traceback)
        return True


def logging_config(log_dir: str, *, use_color: bool | None = None) -> dict[str, Any]:
    """
    Return the :func:`logging.config.dictConfig` configuration of file logging.

    Args:
        log_dir: The folder of ``info.log`` and ``error.log``.
        use_color: Whether the console lines are coloured; when omitted, they are if the
            standard error stream is a terminal.

    Returns:
        The configuration: the root logger at INFO writes to the console, to
        ``info.log`` and to ``error.log``, each file rotated at :data:`MAX_BYTES` with
        :data:`BACKUP_COUNT` old files kept. The loggers that exist keep working.

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
            "class": "logging.handlers.RotatingFileHandler",
            "filename": os.path.join(log_dir, filename),
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


def configure_file_logging(log_dir: str) -> None:
    """
    Log to the console, ``info.log`` and ``error.log``, creating *log_dir* if needed.

    The files are opened before logging is reconfigured, so that a folder that cannot
    hold them leaves logging as it was. Processes that share *log_dir* (the children of
    a prefork worker) share the files; rotation is then not coordinated between them.

    Args:
        log_dir: The folder of the log files.

    Raises:
        ConfigError: The folder or a file in it cannot be created or written.

    """
    config = logging_config(log_dir)
    try:
        os.makedirs(log_dir, exist_ok=True)
        for handler in _FILES:
            with open(config["handlers"][handler]["filename"], "a", encoding="utf-8"):
                pass
    except OSError as error:
        raise ConfigError(
            f"LOG_DIR={log_dir!r} cannot hold the log files: {error}. Set LOG_DIR "
            "(the environment variable CELERY_LOG_DIR by default) to a folder this "
            "process can write to, or set SETUP_FILE_LOGGING to false."
        ) from error
    logging.config.dictConfig(config)

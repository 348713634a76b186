"""Logging of the long-running processes (`portal serve`, `indexer`, `mailer`).

One line per record on standard error: the level, the logger's name, the message
(`WARNING portal.mail: mail server unavailable ...`), so an operator can alert on a
logger and a level rather than on a message's wording. Under systemd (the units of
deploy/systemd) the journal stamps every line, so no time is written; each line
instead starts with its syslog priority (`<4>`), which journald takes as the entry's
priority (SyslogLevelPrefix=, on by default): `journalctl -p warning` then finds the
warnings, a traceback's lines included. Elsewhere (a terminal, a container, a log
file) the line starts with the time.

gunicorn's error log (`gunicorn.error`) goes through the same handler: `portal serve`
hands `logging_config` to gunicorn as its `logconfig_dict`. Its access log keeps its
own format on standard output.
"""

from __future__ import annotations

import logging
import logging.config
import os
import sys
from typing import Any

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Python's levels as syslog priorities (sd-daemon(3)): <2> critical ... <7> debug.
PRIORITIES = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


class JournalFormatter(logging.Formatter):
    """Each line of a record (a traceback's too) prefixed with its syslog priority."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{PRIORITIES.get(record.levelno, 6)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())


def to_journal() -> bool:
    """Whether standard error is systemd's journal stream (systemd.exec(5), $JOURNAL_STREAM)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    try:
        status = os.fstat(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return stream == f"{status.st_dev}:{status.st_ino}"


def logging_config(level: str) -> dict[str, Any]:
    """The `logging.config.dictConfig` of a portal process, at this level and above."""
    if to_journal():
        formatter = {"()": JournalFormatter, "format": "%(levelname)s %(name)s: %(message)s"}
    else:
        formatter = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"portal": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "portal",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        # gunicorn gives its error log a handler of its own and no propagation.
        "loggers": {"gunicorn.error": {"level": level, "handlers": [], "propagate": True}},
    }


def configure(level: str) -> None:
    """Set up logging for a process that runs until it is stopped."""
    logging.config.dictConfig(logging_config(level))

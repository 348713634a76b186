"""The long-running processes log one line per record with its level and logger name
(portal/logs.py); under systemd's journal with the syslog priority journald reads."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from portal import ConfigurationError, create_app
from portal.logs import JournalFormatter

from .rehearsal.services import steady_port

ROOT = Path(__file__).resolve().parents[1]
FLASK = str(Path(sys.executable).with_name("flask"))


def run_until(
    arguments: list[str],
    folder: Path,
    line: str,
    journal: bool = False,
    settings: dict[str, str] | None = None,
    then: float = 0,
) -> str:
    """Run `portal <arguments>` with a fresh instance folder until its output (stdout
    and stderr, one file: the journal's stream when `journal`) has a line containing
    `line`, and `then` seconds more."""
    log = folder / "output.log"
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PORTAL_") and name != "JOURNAL_STREAM"
    }
    environment |= {"PORTAL_INSTANCE_PATH": str(folder / "instance"), **(settings or {})}
    with log.open("wb") as stderr:
        if journal:
            status = os.fstat(stderr.fileno())
            environment["JOURNAL_STREAM"] = f"{status.st_dev}:{status.st_ino}"
        process = subprocess.Popen(
            [FLASK, "--app", "wsgi", "portal", *arguments],
            cwd=ROOT, env=environment, stdout=stderr, stderr=stderr,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while line not in log.read_text() and process.poll() is None:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            time.sleep(then)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return log.read_text()


def test_a_warning_of_the_mailer_names_its_level_and_logger_after_the_time(tmp_path):
    # No schema in the fresh SQLite database: every turn fails and is retried.
    text = run_until(["mailer", "--interval", "0.2"], tmp_path, "sending failed")

    line = next(line for line in text.splitlines() if "sending failed" in line)
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
    assert re.match(stamp + r" WARNING portal\.cli: sending failed, retrying in ", line)


def test_under_the_journal_lines_carry_the_priority_and_no_time(tmp_path):
    text = run_until(["indexer", "--interval", "0.2"], tmp_path, "No search index", journal=True)
    # The failure to start is click's own message; nothing was logged before it.
    assert "Error: No search index" in text

    text = run_until(["mailer", "--interval", "0.2"], tmp_path, "sending failed", journal=True)
    line = next(line for line in text.splitlines() if "sending failed" in line)
    assert line.startswith("<4>WARNING portal.cli: sending failed, retrying in 0.2 s: ")


def test_the_log_level_setting_silences_what_is_below_it(tmp_path):
    # Every turn fails (no schema), the first one at once: each a warning, not logged.
    text = run_until(
        ["mailer", "--interval", "0.2"], tmp_path, "Sending the outbox",
        settings={"PORTAL_LOG_LEVEL": "error"}, then=1,
    )  # fmt: skip
    assert "sending failed" not in text


def test_gunicorn_logs_as_the_portal_does(tmp_path):
    """`portal serve` hands the same configuration to gunicorn: its error log is
    `gunicorn.error` with a level, in the journal's form too."""
    arguments = ["serve", "--port", str(steady_port()), "--threads", "2"]
    text = run_until(arguments, tmp_path, "Listening at", journal=True)

    assert re.search(r"^<6>INFO gunicorn\.error: Listening at: http://127\.0\.0\.1:", text, re.M)
    assert "[INFO]" not in text  # gunicorn's own format


def test_a_traceback_keeps_the_priority_on_every_line():
    formatter = JournalFormatter("%(levelname)s %(name)s: %(message)s")
    try:
        raise RuntimeError("broken")
    except RuntimeError:
        record = logging.LogRecord(
            "portal.api", logging.ERROR, __file__, 1, "unexpected error", None, sys.exc_info()
        )

    lines = formatter.format(record).splitlines()

    assert lines[0] == "<3>ERROR portal.api: unexpected error"
    assert len(lines) > 2 and all(line.startswith("<3>") for line in lines)
    assert lines[-1] == "<3>RuntimeError: broken"


def test_an_unknown_log_level_is_refused_at_start(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_LOG_LEVEL", "loud")

    with pytest.raises(ConfigurationError, match="PORTAL_LOG_LEVEL"):
        create_app({"INSTANCE_PATH": str(tmp_path)})

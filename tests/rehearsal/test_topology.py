"""The rehearsal topology answers through nginx, spreads browsers over both web hosts
and keeps each browser on one (the route cookie), as deploy/nginx says."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import requests

from ..documents.weed import niceness_of_threads
from .conftest import sign_in
from .topology import BACKGROUND_NICENESS, Rehearsal


def test_every_host_serves_and_a_browser_stays_on_one(rehearsal_intact: Rehearsal) -> None:
    rehearsal = rehearsal_intact
    upstreams: Counter[str] = Counter()
    for _ in range(40):
        browser = requests.Session()
        logged = _access_log(rehearsal)
        for _ in range(3):
            answer = browser.get(rehearsal.url + "/", timeout=10)
            assert answer.status_code == 200
        upstreams[_one_upstream(rehearsal, logged)] += 1
    assert set(upstreams) == {f"127.0.0.1:{serve.port}" for serve in rehearsal.serves()}


def test_a_member_signs_in_through_nginx(rehearsal_intact: Rehearsal) -> None:
    me = sign_in(rehearsal_intact).get(rehearsal_intact.url + "/api/v1/me", timeout=10)
    assert me.status_code == 200
    assert me.json()["is_secretariat"] is True


def _access_log(rehearsal: Rehearsal) -> list[str]:
    return (rehearsal.nginx.folder / "access.log").read_text().splitlines()


def _one_upstream(rehearsal: Rehearsal, logged: list[str]) -> str:
    """The one upstream of a browser's requests since `logged` (it fails if they were
    spread). nginx writes a request's line once it is done, which may be just after
    the client read the answer: wait for all three."""
    deadline = time.monotonic() + 5
    while len(lines := _access_log(rehearsal)[len(logged) :]) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    (upstream,) = {line.split()[-2] for line in lines}
    return upstream


def _session_niceness(pid: int) -> int | None:
    """The niceness of a process's session ("/autogroup-12 nice 10"), None without
    the kernel's autogroups."""
    autogroup = Path(f"/proc/{pid}/autogroup")
    return int(autogroup.read_text().split()[-1]) if autogroup.exists() else None


def test_background_work_runs_behind_the_pages_and_postgresql_ahead(
    rehearsal_intact: Rehearsal,
) -> None:
    """As deploy/systemd's CPUWeight= and Nice=: every thread of each process and its
    session (the kernel's autogroups) at its niceness."""
    rehearsal = rehearsal_intact
    behind = [rehearsal.mailer, *(host.indexer for host in rehearsal.hosts), rehearsal.s3]
    wanted = {process.process.pid: BACKGROUND_NICENESS for process in behind}
    if os.geteuid() == 0:  # ahead of the others needs root
        wanted[rehearsal.postgres.process.pid] = rehearsal.postgres.niceness
    for pid, niceness in wanted.items():
        assert set(niceness_of_threads(pid)) == {niceness}, pid
        assert _session_niceness(pid) in (None, niceness), pid
    for serve in rehearsal.serves():  # (its password-hashing threads run behind it)
        assert os.getpriority(os.PRIO_PROCESS, serve.process.pid) == 0
        assert _session_niceness(serve.process.pid) in (None, 0)

"""Faults against the rehearsal topology, under a running workload (issue #13, item 3).

Each test kills one component with SIGKILL while members write and listen, checks
how the portal answers while it is down, brings it back, times the recovery, and
checks that nothing committed is missing (tests/rehearsal/workload.py). Each writes
its row of the fault table to tests/artifacts/rehearsal/faults.json and prints it.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from whoosh import index as whoosh_index

from tests.mailserver import MailServer

from .topology import ROOT, Host, Rehearsal
from .workload import TIMEOUT, Workload, upstream_of

FAULTS = ROOT / "tests" / "artifacts" / "rehearsal" / "faults.json"


def record(fault: str, while_down: str, recovery: str, data_check: str, **numbers: Any) -> None:
    """Write this fault's row of the table (the others' rows kept) and print it."""
    FAULTS.parent.mkdir(parents=True, exist_ok=True)
    rows = json.loads(FAULTS.read_text()) if FAULTS.exists() else []
    row = {"fault": fault, "while_down": while_down, "recovery": recovery,
           "data_check": data_check, "numbers": numbers}  # fmt: skip
    rows = [r for r in rows if r["fault"] != fault] + [row]
    FAULTS.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"\n{fault} | {while_down} | {recovery} | {data_check}")


def wait_until(condition: Callable[[], Any], timeout: float = 30, message: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(message or f"not within {timeout} s")


def statuses(outcomes: list[Any]) -> str:
    counts = Counter(o.status for o in outcomes)
    return ", ".join(
        f"{count} x {status or 'no answer'}" for status, count in sorted(counts.items())
    )


def health(url: str) -> tuple[int, str]:
    try:
        answer = requests.get(url + "/api/v1/health", timeout=TIMEOUT)
    except requests.RequestException:
        return 0, ""
    return answer.status_code, answer.json().get("status", "")


@pytest.fixture
def workload(rehearsal_intact: Rehearsal) -> Iterator[Workload]:
    work = Workload(rehearsal_intact)
    yield work
    work.stop()
    for listener in work.listeners:
        listener.close()


def test_a_web_process_killed(rehearsal_intact: Rehearsal, workload: Workload) -> None:
    """nginx sends the host's requests and its live client to the other host; the
    client catches up from the feed; back up, the host gets its browsers again."""
    rehearsal = rehearsal_intact
    host1 = rehearsal.hosts[0]
    listener = workload.listen(host1)
    workload.start(host=host1)
    workload.wait_for_writes(6, after=0)

    killed = time.monotonic()
    host1.serve.kill()
    reconnected = wait_until(lambda: listener.reconnected_after(killed), 20, "no reconnection")
    workload.wait_for_writes(9, after=killed)
    down = workload.between(killed)
    failed = [o for o in down if o.status // 100 != 2]
    # Only what was in flight at the kill may fail (nginx never resends a POST or a
    # PATCH the dead process may have acted on): 503 `unavailable`, or no answer.
    assert len(failed) <= 2, statuses(down)
    assert all(o.status in (0, 503) and o.at - killed < 2 for o in failed), statuses(down)

    restarted_at = time.monotonic()
    host1.serve.start()
    restart = time.monotonic() - restarted_at
    # nginx tries the host again after its fail_timeout: the pinned browser returns.
    probe = requests.Session()  # a browser with the listener's route and nothing else
    probe.cookies.set("portal_route", listener.session.cookies["portal_route"], path="/")

    def back_on_host1() -> bool:
        path = f"/api/v1/route-probe-{time.monotonic_ns()}"
        probe.get(rehearsal.url + path, timeout=TIMEOUT)
        return upstream_of(rehearsal, path) == f"127.0.0.1:{host1.serve.port}"

    returned = wait_until(
        back_on_host1, 3 * rehearsal.nginx.fail_timeout, "the pinned browser did not return"
    )
    returned_after = time.monotonic() - restarted_at
    figures = workload.check()
    record(
        "kill -9 one `portal serve`",
        f"through nginx {len(down) - len(failed)}/{len(down)} requests 2xx ({statuses(down)}"
        f"{'; the others were in flight at the kill' if failed else ''}); the live client "
        f"pinned to it "
        f"reconnected to the other host in {reconnected:.2f} s and caught up from the feed",
        f"restart {restart:.1f} s; its pinned browsers back on it {returned_after:.1f} s "
        f"after the restart (nginx fail_timeout {rehearsal.nginx.fail_timeout:.0f} s)",
        f"{figures['written']} created ids read back; storage-check and reindex --check "
        f"clean on both hosts; live client: all {figures['listener0']['events']} events "
        f"({figures['listener0']['duplicates']} duplicates, dropped by event_id)",
        reconnect_s=round(reconnected, 2), restart_s=round(restart, 2), returned=returned,
        requests=len(down), failed=len(failed),
    )  # fmt: skip


def test_every_web_process_killed(rehearsal_intact: Rehearsal) -> None:
    """With no `portal serve` left, nginx answers 503 as the portal would (the API's
    envelope, a page elsewhere), and serves again once one is back."""
    rehearsal = rehearsal_intact
    for host in rehearsal.hosts:
        host.serve.kill()
    api = requests.get(rehearsal.url + "/api/v1/me", timeout=TIMEOUT)
    page = requests.get(rehearsal.url + "/", timeout=TIMEOUT)
    assert api.status_code == 503 and api.headers["Retry-After"] == "5"
    assert api.json()["error"]["code"] == "unavailable"
    assert page.status_code == 503 and page.headers["Content-Type"].startswith("text/html")
    assert "briefly unavailable" in page.text

    restarted_at = time.monotonic()
    for host in rehearsal.hosts:
        host.serve.start()
    # nginx tries a failed server again after its fail_timeout.
    wait_until(
        lambda: health(rehearsal.url)[0] == 200,
        3 * rehearsal.nginx.fail_timeout,
        "nginx did not serve again",
    )
    served_after = time.monotonic() - restarted_at
    record(
        "kill -9 every `portal serve`",
        "nginx answers 503 `unavailable` with Retry-After: 5 (the API's envelope on /api/, "
        "a four-language page elsewhere)",
        f"both restarted; served again through nginx {served_after:.1f} s after the restart",
        "nothing was written meanwhile",
        served_after_s=round(served_after, 2),
    )  # fmt: skip


def test_redis_killed(rehearsal_intact: Rehearsal, workload: Workload) -> None:
    """Without Redis the portal keeps working (health degraded) and each host's own
    clients get their events; events from the other host come back with Redis."""
    rehearsal = rehearsal_intact
    host1, host2 = rehearsal.hosts
    listener = workload.listen(host2)  # the writer is on host1: every event crosses
    workload.start(host=host1)
    workload.wait_for_writes(3, after=0)
    wait_until(lambda: listener.first_live_after(0), 10, "no live event across hosts")

    killed = time.monotonic()
    rehearsal.redis.kill()
    workload.wait_for_writes(9, after=killed + 0.5)
    time.sleep(max(0.0, killed + 4 - time.monotonic()))  # long enough to be noticed
    down_health = [health(host.serve.url) for host in rehearsal.hosts]
    down = workload.between(killed)

    restarted_at = time.monotonic()
    rehearsal.redis.start()
    restart = time.monotonic() - restarted_at
    newest = max(workload.database_events())
    crossing = wait_until(lambda: listener.first_live_after(newest), 90, "no event crossed again")
    crossing_after = crossing - restarted_at - restart
    up_health = wait_until(
        lambda: all(health(h.serve.url) == (200, "ok") for h in rehearsal.hosts), 90
    )
    reconnected = listener.reconnected_after(restarted_at)
    figures = workload.check()
    record(
        "kill -9 Redis",
        f"{sum(o.status // 100 == 2 for o in down)}/{len(down)} requests 2xx "
        f"({statuses(down)}); health {', '.join(f'{c} {s!r}' for c, s in down_health)}; "
        f"events reach only the clients of the host that wrote them",
        f"restart {restart:.2f} s; events cross hosts again {crossing_after:.2f} s later",
        f"{figures['written']} created ids read back; storage-check and reindex --check "
        f"clean; the live client, closed by its host when Redis returned, reconnected "
        f"and caught up: all {figures['listener0']['events']} events",
        restart_s=round(restart, 2), events_cross_again_s=round(crossing_after, 2),
        client_reconnected_s=reconnected and round(reconnected, 2),
        requests=len(down), health_ok=bool(up_health),
    )  # fmt: skip
    assert all(o.status // 100 == 2 for o in down), statuses(down)
    assert down_health == [(200, "degraded")] * 2, down_health


def test_postgresql_killed(rehearsal_intact: Rehearsal, workload: Workload) -> None:
    """Without the database every request answers 503, and the portal comes back by
    itself when the database does."""
    rehearsal = rehearsal_intact
    listener = workload.listen(rehearsal.hosts[1])
    workload.start()
    workload.wait_for_writes(3, after=0)

    killed = time.monotonic()
    rehearsal.postgres.kill()
    time.sleep(3)
    down_health = [health(host.serve.url) for host in rehearsal.hosts]
    # Requests answered a moment after the kill (not the ones it caught in flight).
    down = workload.between(killed + 0.5)
    assert down and all(o.status == 503 for o in down), statuses(down)
    assert [status for status, _ in down_health] == [503, 503], down_health

    restarted_at = time.monotonic()
    rehearsal.postgres.start()
    restart = time.monotonic() - restarted_at
    first_write = wait_until(lambda: workload.first_success_after(restarted_at + restart), 60)
    figures = workload.check()
    record(
        "kill -9 PostgreSQL",
        f"every request 503 `unavailable` ({statuses(down)}); health 503 on both hosts",
        f"restart {restart:.2f} s; first write 2xx {first_write:.2f} s later",
        f"{figures['written']} created ids read back; storage-check and reindex --check "
        f"clean; live client: all {figures['listener0']['events']} events",
        restart_s=round(restart, 2), first_write_s=round(first_write, 2), requests=len(down),
    )  # fmt: skip
    assert listener.distinct


def test_s3_killed(rehearsal_intact: Rehearsal, workload: Workload) -> None:
    """Without the object store uploads and downloads answer 503, everything else
    works, and no blob is left without its row (or a row without its blob)."""
    rehearsal = rehearsal_intact
    workload.listen(rehearsal.hosts[0])
    workload.start(uploads=True)
    workload.wait_for_writes(6, after=0)

    killed = time.monotonic()
    rehearsal.s3.kill()
    time.sleep(4)
    down = workload.between(killed + 0.5)
    blobs = [o for o in down if "/documents" in o.path]
    others = [o for o in down if "/documents" not in o.path]
    assert blobs and all(o.status == 503 for o in blobs), statuses(blobs)
    assert others and all(o.status // 100 == 2 for o in others), statuses(others)

    restarted_at = time.monotonic()
    rehearsal.s3.start()
    restart = time.monotonic() - restarted_at
    uploaded = wait_until(
        lambda: next((o.at for o in workload.between(restarted_at + restart)
                      if o.path.endswith("/documents") and o.status == 201), None),
        60, "no upload after the restart",
    )  # fmt: skip
    first_upload = uploaded - restarted_at - restart
    workload.wait_for_writes(12, after=uploaded)
    figures = workload.check()
    record(
        "kill -9 the S3 server",
        f"uploads and downloads 503 ({statuses(blobs)}); other requests 2xx ({statuses(others)})",
        f"restart {restart:.1f} s; first upload 201 {first_upload:.2f} s later",
        f"{figures['written']} created ids read back; {figures['storage_check']}; "
        f"reindex --check clean; live client: all {figures['listener0']['events']} events",
        restart_s=round(restart, 2), first_upload_s=round(first_upload, 2),
    )  # fmt: skip


def test_an_indexer_killed_mid_batch(rehearsal_intact: Rehearsal, workload: Workload) -> None:
    """A host's indexer killed while it writes a batch: its replica is stale meanwhile
    (searches answer, from the old index), then catches up from the event log, and
    both hosts answer the same search."""
    rehearsal = rehearsal_intact
    host1, host2 = rehearsal.hosts
    word = f"drill{time.monotonic_ns()}"
    writer = workload.member(0)
    reader = workload.member(1)
    burst = 120
    written: set[int] = set()

    def memo(number: int) -> int:
        answer = writer.post(
            f"{rehearsal.url}/api/v1/workspaces/{workload.workspace_id}/memos",
            json={"title": f"{word} memo {number}", "body": f"About {word}."},
            timeout=TIMEOUT,
        )
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])

    for _ in range(3):  # a step that overran the write leaves its batch whole
        host2.indexer.kill()  # the burst piles up for host2
        with ThreadPoolExecutor(4) as pool:
            written |= set(pool.map(memo, range(len(written), len(written) + burst)))
        if _killed_mid_write(host2):
            break
    else:
        raise AssertionError("three batches each committed within one step")
    killed = time.monotonic()
    stale = search_ids(reader, host2, word)
    fresh = wait_until(lambda: (ids := search_ids(reader, host1, word)) == written and ids, 60)

    restarted_at = time.monotonic()
    host2.indexer.start()
    wait_until(lambda: search_ids(reader, host2, word) == written, 120, "host2 did not catch up")
    caught_up = time.monotonic() - restarted_at
    assert search_ids(reader, host1, word) == search_ids(reader, host2, word) == written
    figures = workload.check()
    record(
        "kill -9 one host's indexer mid-batch",
        f"its host's search answers 200 from the stale replica ({len(stale)} of "
        f"{len(written)} new memos found, the other host {len(fresh)}); nothing else affected",
        f"restarted, caught up from the event log in {caught_up:.1f} s",
        f"both hosts answer the same {len(written)} ids; reindex --check clean on both; "
        f"{figures['written'] + len(written)} created ids read back",
        caught_up_s=round(caught_up, 1), stale_found=len(stale), burst=len(written),
        attempts=len(written) // burst, down_s=round(restarted_at - killed, 1),
    )  # fmt: skip


def _killed_mid_write(host: Host, step: float = 0.002) -> bool:
    """Start the host's indexer and kill it inside its batch's write: after whoosh has
    begun the files of a new segment and before the table of contents that commits it.

    The test holds the index's write lock while the indexer starts, so its batch waits;
    then the indexer is stopped (SIGSTOP), the lock let go, and the indexer let run a
    few milliseconds at a time, the folder looked at between steps. Polling a running
    indexer missed that window when the machine was busy; a stopped one moves only
    when let. False if one step carried it past the commit.
    """
    lock = whoosh_index.open_dir(str(host.index)).lock("WRITELOCK")
    assert lock.acquire(blocking=True)
    try:
        files_before = set(os.listdir(host.index))
        host.indexer.start()  # it follows the log, reads the burst and waits for the lock
        assert host.indexer.process is not None
        pid = host.indexer.process.pid
        _pause(pid)
    finally:
        lock.release()
    for _ in range(int(60 / step)):
        os.kill(pid, signal.SIGCONT)
        time.sleep(step)
        _pause(pid)
        new = set(os.listdir(host.index)) - files_before
        if any(name.endswith(".toc") for name in new):
            os.kill(pid, signal.SIGCONT)
            return False
        if new:
            host.indexer.kill()
            return True
    raise AssertionError("the indexer wrote nothing")


def _pause(pid: int) -> None:
    """SIGSTOP a process and wait until every thread of it has stopped."""
    os.kill(pid, signal.SIGSTOP)
    tasks = Path(f"/proc/{pid}/task")
    while any(_state(task) not in "tTZ" for task in tasks.iterdir()):
        time.sleep(0.0005)


def _state(task: Path) -> str:
    try:
        return (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:  # the thread ended meanwhile
        return "Z"


def search_ids(session: requests.Session, host: Host, word: str) -> set[int]:
    """Every hit of a search asked of one host directly (not through nginx)."""
    found: set[int] = set()
    for page in range(1, 20):
        answer = session.get(
            host.serve.url + "/api/v1/search",
            params={"q": word, "page": page, "per_page": 50},
            timeout=TIMEOUT,
        )
        answer.raise_for_status()
        items = answer.json()["items"]
        found |= {item["id"] for item in items}
        if len(items) < 50:
            break
    return found


def test_the_mailer_killed_mid_send(
    rehearsal_intact: Rehearsal, workload: Workload, mail_server: MailServer
) -> None:
    """Invitations are accepted while the mailer is down; after its restart every
    message arrives, the one it was sending when killed possibly twice (at least once:
    its claim expires, portal/mail.py CLAIM_SECONDS)."""
    rehearsal = rehearsal_intact
    tag = f"invite{time.monotonic_ns()}"
    invitations = 10
    mail_server.inbox.delay = 1.5  # a slow mail server: the kill lands mid-send

    def ours() -> list[Any]:
        return [m for m in mail_server.messages if tag in str(m["To"])]

    def invite(number: int) -> int:
        answer = workload.admin.post(
            rehearsal.url + "/api/v1/invitations",
            json={"email": f"{tag}-{number}@example.org", "locale": "en"},
            timeout=TIMEOUT,
        )
        return answer.status_code

    try:
        before = [invite(number) for number in range(invitations // 2)]
        wait_until(lambda: _sending(rehearsal, tag), 30, "the mailer sent nothing")
        rehearsal.mailer.kill()
        killed = time.monotonic()
        in_flight = _sending(rehearsal, tag)
        during = [invite(number) for number in range(invitations // 2, invitations)]
        assert before + during == [201] * invitations
        time.sleep(2)  # the mail server accepts the interrupted message after its delay
        arrived_while_down = len({m["Message-ID"] for m in ours()})
        # Its claim expires after CLAIM_SECONDS (600 s): age it rather than wait.
        rehearsal.postgres.psql(
            "UPDATE mail_outbox SET claimed_at = claimed_at - interval '1 hour' "
            f"WHERE status = 'sending' AND recipient LIKE '%{tag}%'",
            database="portal",
        )
        mail_server.inbox.delay = 0
        restarted_at = time.monotonic()
        rehearsal.mailer.start()
        restart = time.monotonic() - restarted_at
        wait_until(lambda: len({m["Message-ID"] for m in ours()}) == invitations, 60,
                   "not every invitation arrived")  # fmt: skip
        delivered = time.monotonic() - restarted_at
    finally:
        mail_server.inbox.delay = 0
    messages = ours()
    twice = len(messages) - invitations
    assert twice <= in_flight
    record(
        "kill -9 the mailer mid-send",
        f"invitations answered 201 ({invitations}/{invitations}); {in_flight} message "
        f"in flight at the kill; {arrived_while_down} arrived before the restart",
        f"restart {restart:.1f} s; the in-flight claim aged past CLAIM_SECONDS (600 s) "
        f"by the test; all delivered {delivered:.1f} s after the restart",
        f"{invitations}/{invitations} invitations arrived, "
        + (f"{twice} twice (at least once: same Message-ID)" if twice else
           "none twice (the mail server never accepted the interrupted one)"),
        delivered_s=round(delivered, 1), arrived=invitations, duplicates=twice,
        down_s=round(restarted_at - killed, 1),
    )  # fmt: skip
    assert workload.check()


def _sending(rehearsal: Rehearsal, tag: str) -> int:
    """How many of this test's messages the mailer holds claimed (mid-send)."""
    return int(
        rehearsal.postgres.psql(
            "SELECT count(*) FROM mail_outbox"
            f" WHERE status = 'sending' AND recipient LIKE '%{tag}%'",
            database="portal",
        )
    )

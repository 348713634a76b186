"""Latency of a big workspace through the HTTP API (`make bench`).

A workspace of 10,000 items (memos, tasks with assignees, meetings) and 50
members on a scratch SQLite database (and on PostgreSQL too when
PORTAL_BENCH_DATABASE_URL is set; that database is emptied first), served by
`flask --app wsgi portal serve` on a free loopback port. Measures the median and
95th percentile of GET /workspaces/{id}/items, a task filter and the activity
feed, beside the baseline: the portal's own GET /api/v1/health (a bare JSON
view that runs `SELECT 1`) served by the same server in the same run, so the
ratio shows the portal's own cost. Target: list p95 <= 50 ms.
"""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ITEMS = 10_000
MEMBERS = 50
REQUESTS = 300
WARMUP = 30
SECRET = "benchmark-secret-key-long-enough-for-production-0123456789"  # noqa: S105 - scratch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def populate(env: dict[str, str]) -> tuple[int, str, int]:
    """Schema, 50 members, 10,000 items through the services; returns the workspace
    id, an API token of a member, and one assignee's id."""
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "portal", "init"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip
    os.environ.update(env)
    from sqlalchemy import event, text

    from portal import create_app
    from portal.accounts import service as accounts
    from portal.extensions import db
    from portal.meetings import service as meetings_service
    from portal.memos import service as memos_service
    from portal.tasks import service as tasks_service
    from portal.tasks.models import TaskStatus
    from portal.workspaces import service as workspaces
    from portal.workspaces.models import Role

    app = create_app()
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            # Population speed only; the server runs with the portal's own settings.
            @event.listens_for(db.engine, "connect")
            def _fast(dbapi_connection, record):  # type: ignore[no-untyped-def]
                dbapi_connection.execute("PRAGMA synchronous=OFF")

            db.engine.dispose()
        admin = accounts.create_user(None, email="admin@bench.example", name="Admin",
                                     is_secretariat=True)  # fmt: skip
        ws = workspaces.create_workspace(admin, name="Sistemas de Comunidad Portuaria")
        members = []
        for n in range(MEMBERS):
            user = accounts.create_user(None, email=f"m{n}@bench.example", name=f"Miembro {n:02d}")
            role = Role.coordinator if n == 0 else Role.member if n < 40 else Role.observer
            workspaces.set_membership(admin, ws, user, role)
            members.append(user)
        base = datetime(2027, 1, 4, 14, tzinfo=UTC)
        statuses = list(TaskStatus)
        started = time.perf_counter()
        for n in range(ITEMS):
            author = members[n % 40]
            if n % 5 in (0, 1):
                memos_service.create_memo(
                    author, ws, title=f"Nota técnica {n}", body=f"## Nota {n}\n\n*Texto* " * 20
                )
            elif n % 5 in (2, 3):
                tasks_service.create_task(
                    author, ws, title=f"Tarea {n}", description="Revisar el anexo",
                    status=statuses[n % 3], due_date=date(2027, 1, 1) + timedelta(days=n % 400),
                    assignees=[members[n % 40], members[(n + 7) % 40]],
                )  # fmt: skip
            else:
                meetings_service.create_meeting(
                    author, ws, title=f"Reunión {n}", starts_at=base + timedelta(hours=n),
                    ends_at=base + timedelta(hours=n, minutes=90), timezone="America/Santiago",
                    guidelines="Puntualidad, por favor.",
                )  # fmt: skip
        print(f"  populated {ITEMS} items in {time.perf_counter() - started:.0f} s")
        # Planner statistics, as a database in service has them (autovacuum, ANALYZE).
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        _, token = accounts.create_token(members[1], "bench", 1)
        return ws.id, token, members[1].id


def measure(conn: http.client.HTTPConnection, path: str, token: str) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
    timings = []
    for n in range(WARMUP + REQUESTS):
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}: {body[:300]!r}")
        if n >= WARMUP:
            timings.append(elapsed)
    return timings


def run(label: str, database_url: str, instance: Path) -> None:
    print(f"\n== {label}")
    env = os.environ | {
        "PORTAL_INSTANCE_PATH": str(instance),
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_SECRET_KEY": SECRET,
        "PORTAL_INDEXER": "external",
    }
    ws_id, token, assignee = populate(env)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "portal", "serve",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        paths = {
            "baseline GET /api/v1/health": "/api/v1/health",
            "item list (20 of 10,000)": f"/api/v1/workspaces/{ws_id}/items",
            "task filter (status+assignee)": (
                f"/api/v1/workspaces/{ws_id}/tasks?status=doing&assignee={assignee}"
            ),
            "activity feed (50 events)": f"/api/v1/workspaces/{ws_id}/activity?after=0",
            # Pages (the token signs in the pages too): header count, tasks, feed.
            "My work page": "/work",
            "group activity page": f"/groups/{ws_id}/activity",
        }
        results = {name: measure(conn, path, token) for name, path in paths.items()}
        conn.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    base = statistics.median(results["baseline GET /api/v1/health"])
    print(f"  {'endpoint':32} {'median ms':>10} {'p95 ms':>8} {'x baseline':>11}")
    for name, timings in results.items():
        p50 = statistics.median(timings)
        p95 = statistics.quantiles(timings, n=20)[18]
        print(f"  {name:32} {p50:10.1f} {p95:8.1f} {p50 / base:11.1f}")
    list_p95 = statistics.quantiles(results["item list (20 of 10,000)"], n=20)[18]
    verdict = "met" if list_p95 <= 50 else "MISSED"
    print(f"  target item list p95 <= 50 ms: {verdict} ({list_p95:.1f} ms)")
    print(f"  {REQUESTS} requests each after {WARMUP} warm-up, one keep-alive connection")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as scratch:
        instance = Path(scratch)
        run("SQLite (scratch file)", f"sqlite:///{instance}/bench.db", instance)
    url = os.environ.get("PORTAL_BENCH_DATABASE_URL")
    if url:
        print("\n(PostgreSQL: run separately in a fresh process to keep the app state apart)")
        with tempfile.TemporaryDirectory(prefix="portal-bench-") as scratch:
            subprocess.run([sys.executable, __file__, "--postgresql", url, scratch], check=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--postgresql":
        from sqlalchemy import create_engine, text

        engine = create_engine(sys.argv[2])
        with engine.begin() as conn:  # a scratch database: emptied first
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        run("PostgreSQL", sys.argv[2], Path(sys.argv[3]))
    else:
        main()

"""No N+1: a page of items of mixed kinds costs the same number of SQL queries
whatever its length."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import event

from portal.accounts.models import User
from portal.extensions import db
from portal.meetings import service as meetings_service
from portal.memos import service as memos_service
from portal.tasks import service as tasks_service
from portal.workspaces.models import Workspace


@contextmanager
def listening(app, name: str, listener: Callable[..., None]) -> Iterator[None]:
    """`listener` on the app's engine's event `name` for the block."""
    with app.app_context():
        engine = db.engine
    event.listen(engine, name, listener)
    try:
        yield
    finally:
        event.remove(engine, name, listener)


@contextmanager
def count_queries(app) -> Iterator[list[str]]:
    statements: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with listening(app, "before_cursor_execute", listener):
        yield statements


def _add_items(app, world, start: int, count: int) -> None:
    """Memos, tasks with two assignees, and meetings, in turn."""
    with app.app_context():
        member = db.session.get(User, world.member.id)
        coordinator = db.session.get(User, world.coordinator.id)
        ws = db.session.get(Workspace, world.ws_id)
        base = datetime(2027, 1, 4, 14, tzinfo=UTC)
        for n in range(start, start + count):
            if n % 3 == 0:
                memos_service.create_memo(member, ws, title=f"Nota {n}", body=f"**Nota** {n}")
            elif n % 3 == 1:
                tasks_service.create_task(
                    member,
                    ws,
                    title=f"Tarea {n}",
                    description="Revisar *el* anexo",
                    due_date=date(2027, 1, 1) + timedelta(days=n),
                    assignees=[member, coordinator],
                )
            else:
                meetings_service.create_meeting(
                    member,
                    ws,
                    title=f"Reunión {n}",
                    starts_at=base + timedelta(days=n),
                    ends_at=base + timedelta(days=n, hours=1),
                    timezone="America/Santiago",
                    guidelines="Puntualidad",
                )
        db.session.remove()


def test_listing_5_or_200_mixed_items_costs_the_same_queries(app, world, as_user):
    member = as_user(world.member)
    url = f"/workspaces/{world.ws_id}/items?per_page=100"
    _add_items(app, world, 0, 5)
    member.get(url)  # warm up: the user and the session are loaded the same way each time

    with count_queries(app) as small:
        response = member.get(url)
    assert len(response.get_json()["items"]) == 5

    _add_items(app, world, 5, 195)
    counts = []
    for page in (1, 2):
        with count_queries(app) as large:
            response = member.get(f"{url}&page={page}")
        body = response.get_json()
        assert body["total"] == 200 and len(body["items"]) == 100
        assert {i["kind"] for i in body["items"]} == {"memo", "task", "meeting"}
        assert all(len(i["assignees"]) == 2 for i in body["items"] if i["kind"] == "task")
        counts.append(len(large))

    assert counts == [len(small), len(small)], (len(small), counts)


def test_task_and_meeting_lists_cost_the_same_queries_at_any_length(app, world, as_user):
    member = as_user(world.member)
    _add_items(app, world, 0, 6)
    sizes = {}
    for label in ("small", "large"):
        if label == "large":
            _add_items(app, world, 6, 90)
        for kind in ("tasks", "meetings"):
            member.get(f"/workspaces/{world.ws_id}/{kind}?per_page=100")
            with count_queries(app) as queries:
                member.get(f"/workspaces/{world.ws_id}/{kind}?per_page=100")
            sizes[(label, kind)] = len(queries)
    assert sizes[("small", "tasks")] == sizes[("large", "tasks")]
    assert sizes[("small", "meetings")] == sizes[("large", "meetings")]

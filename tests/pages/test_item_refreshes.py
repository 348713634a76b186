"""The live refreshes of the item pages (memo, task, document, meeting): each block that
htmx asks for alone is the same HTML as in the whole page, for every role that may read
the item, costs only the queries that block needs, and answers 404 to whom may not read.

The data is `item_world` (a memo shared with a group for view, `viewer`, and one for
edit, `editor`) plus a task, a document and a meeting of the same group, shared alike,
each with a comment; the meeting has a point on its agenda, one in its backlog and an
answer, the document two versions and a check-out."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from portal.accounts.models import User
from portal.documents import service as documents_service
from portal.documents.storage import current_store
from portal.documents.upload import received_bytes
from portal.extensions import db
from portal.meetings import service as meetings_service
from portal.meetings.models import AttendanceResponse
from portal.tasks import service as tasks_service
from portal.workspaces import items_service
from portal.workspaces.models import Item, Share, Workspace

from ..conftest import sign_in_session
from ..workspaces.test_item_queries import count_queries

READERS = ["observer", "member", "coordinator", "secretariat", "viewer", "editor"]

# Each item page, the blocks that refresh alone, and the most SQL statements each costs
# for a member of the owner group: the session's user, the item with its group, the
# viewer's access (two), then the block's own (a task's assignees come with it). The
# whole page ("") is the last of each.
PAGES = {
    "memo": ("/memos/{id}", {"memo_body": 4, "item_header": 4, "item_comments": 5, "": 11}),
    "task": ("/tasks/{id}", {"task_details": 5, "item_header": 5, "item_comments": 6, "": 13}),
    "document": ("/documents/{id}", {"document_file": 6, "document_versions": 6,
                                     "document_preview": 5, "item_header": 6,
                                     "item_comments": 5, "": 14}),
    "meeting": ("/meetings/{id}", {"meeting_agenda": 7, "meeting_attendance": 5,
                                   "item_header": 4, "item_comments": 5, "": 16}),
}  # fmt: skip
BLOCKS = [(kind, block) for kind, (_path, costs) in PAGES.items() for block in costs if block]


@pytest.fixture
def items(app, item_world):
    """kind -> the path of its page; the memo is item_world's."""
    with app.app_context():
        member = db.session.get(User, item_world.member.id)
        coordinator = db.session.get(User, item_world.coordinator.id)
        ws = db.session.get(Workspace, item_world.ws_id)
        task = tasks_service.create_task(
            member, ws, title="Revisar el anexo", description="Con *cuidado*",
            due_date=date(2027, 3, 1), assignees=[member],
        )  # fmt: skip
        document = documents_service.create_document(
            member, ws, received_bytes(current_store(), b"Orden del dia", "orden.txt")
        )
        meeting = meetings_service.create_meeting(
            member, ws, title="Comité", starts_at=datetime(2027, 3, 1, 14, tzinfo=UTC),
            ends_at=datetime(2027, 3, 1, 15, tzinfo=UTC), timezone="America/Santiago",
        )  # fmt: skip
        meetings_service.add_agenda_item(
            member, meeting, title="Apertura", duration_minutes=10, presenter_id=member.id
        )
        meetings_service.add_agenda_item(member, meeting, title="Varios", scheduled=False)
        meetings_service.set_attendance(member, meeting, AttendanceResponse.yes)
        documents_service.add_version(
            member, document, received_bytes(current_store(), b"Orden del dia 2", "orden.txt")
        )
        documents_service.check_out(member, document, 4)
        memo = db.session.get(Item, item_world.memo_id)
        for item in (task, document, meeting):
            for share in db.session.query(Share).filter_by(item_id=memo.id).all():
                target = db.session.get(Workspace, share.workspace_id)
                items_service.share(coordinator, item, target, share.permission)
        ids = {"memo": memo.id, "task": task.id, "document": document.id, "meeting": meeting.id}
        for item_id in ids.values():
            items_service.add_comment(member, db.session.get(Item, item_id), "Una *nota*")
        db.session.remove()
    return {kind: PAGES[kind][0].format(id=item_id) for kind, item_id in ids.items()}


@pytest.fixture
def reader(app, item_world):
    """`reader(role)`: a client signed in as the role's person, reading English."""

    def make(role):
        client = app.test_client()
        sign_in_session(client, getattr(item_world, role))
        client.set_cookie("portal_lang", "en")
        return client

    return make


def refresh(client, path, block):
    return client.get(path, headers={"HX-Request": "true", "HX-Target": block})


def comparable(html):
    """The HTML without what differs from one request to the next: the CSRF token's
    signature and the relative times ("5 seconds ago")."""
    html = re.sub(r'(name="csrf_token" value|data-csrf)="[^"]*"', r'\1=""', html)
    return re.sub(r"(<time [^>]*>)[^<]*</time>", r"\1</time>", html)


@pytest.mark.parametrize("role", READERS)
def test_each_refresh_is_the_block_of_the_whole_page(items, reader, role):
    client = reader(role)
    for kind, block in BLOCKS:
        page = client.get(items[kind])
        assert page.status_code == 200, (kind, page.status_code)
        answer = refresh(client, items[kind], block)
        assert answer.status_code == 200, (kind, block, answer.status_code)
        html = answer.get_data(as_text=True).strip()
        assert re.match(rf'<\w+ id="{block}"', html), (kind, block, html[:100])
        assert comparable(html) in comparable(page.get_data(as_text=True)), (kind, block)


@pytest.mark.parametrize("role", ["outsider", "bystander"])
def test_a_refresh_for_who_may_not_read_is_not_found(items, reader, role):
    client = reader(role)
    for kind, block in BLOCKS:
        assert refresh(client, items[kind], block).status_code == 404, (kind, block)


def test_a_refresh_of_an_item_in_the_trash_is_for_whom_may_restore(item_world, reader):
    path = f"/memos/{item_world.trashed_id}"
    assert refresh(reader("member"), path, "item_header").status_code == 404
    assert refresh(reader("coordinator"), path, "item_header").status_code == 200


# Who reads, and how many times a request looks at the item's shares to decide their
# access: once for an observer of the owner group (a share may grant more), never for a
# member (their role grants more than any share).
SHARE_LOOKUPS = {"member": 0, "observer": 1}


@pytest.mark.parametrize("role", SHARE_LOOKUPS)
@pytest.mark.parametrize(("kind", "block"), [(k, b) for k, (_p, c) in PAGES.items() for b in c])
def test_a_refresh_runs_only_the_queries_of_its_block(app, items, reader, kind, block, role):
    client = reader(role)
    client.get(items[kind])  # warm up
    headers = {"HX-Request": "true", "HX-Target": block} if block else {}
    with count_queries(app) as statements:
        assert client.get(items[kind], headers=headers).status_code == 200
    assert len(statements) <= PAGES[kind][1][block], "\n".join(statements)
    # The viewer's access is decided once per request.
    shared = [s for s in statements if "FROM shares JOIN memberships" in s]
    assert len(shared) == SHARE_LOOKUPS[role], shared


@pytest.mark.parametrize("role", ["observer", "viewer", "editor"])
def test_the_headers_refresh_carries_every_block_of_the_page(items, reader, role):
    """One request a live event about the item: the header names the page's other
    blocks (hx-select-oob, X-Portal-Carries) and its answer brings each one, as the whole
    page shows it; none of them asks for itself."""
    client = reader(role)
    for kind, (_path, costs) in PAGES.items():
        page = client.get(items[kind]).get_data(as_text=True)
        header = re.search(r'<header id="item_header"[^>]*>', page).group(0)
        carried = [block for block in costs if block not in ("", "item_header")]
        assert f'hx-select-oob="{",".join(f"#{block}" for block in carried)}"' in header, kind
        for block in carried:
            tag = re.search(rf'<\w+ id="{block}"[^>]*>', page).group(0)
            assert "hx-trigger" not in tag, (kind, block)
        headers = {
            "HX-Request": "true",
            "HX-Target": "item_header",
            "X-Portal-Carries": " ".join(carried),
        }
        answer = client.get(items[kind], headers=headers).get_data(as_text=True)
        parts = re.split(
            r'(?=<(?:header|section|div) id="(?:item_header|{})")'.format("|".join(carried)),
            answer.strip(),
        )
        shown = [re.match(r'<\w+ id="(\w+)"', part).group(1) for part in parts if part]
        assert shown == ["item_header", *carried], (kind, shown)
        for part in parts:
            if part:
                assert comparable(part.strip()) in comparable(page), (kind, part[:80])

"""What live.js asks of the server: each refreshing block rendered alone (htmx's
`HX-Target`), also a block of the frame a page extends and one that uses the
template's imported macros; the newest event id for its catch-up; who is online."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from portal.extensions import db

from ..conftest import sign_in_session


@pytest.fixture
def viewer(app, world):
    """`viewer(who)` -> a test client signed in as `who`."""

    def client_of(who):
        client = app.test_client()
        sign_in_session(client, getattr(world, who))
        return client

    return client_of


@pytest.fixture
def memo_id(viewer, world):
    client = viewer("member")
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/v1/auth/csrf").get_json()[
        "csrf_token"
    ]
    answer = client.post(
        f"/api/v1/workspaces/{world.ws_id}/memos", json={"title": "Hoja de ruta", "body": "Texto"}
    )
    assert answer.status_code == 201
    return answer.get_json()["id"]


def block(client, path, target):
    response = client.get(path, headers={"HX-Request": "true", "HX-Target": target})
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    assert "<html" not in html, f"{target}: the whole page came back"
    assert re.match(rf'\s*<\w+ id="{target}"', html), html[:200]
    return html


def test_the_group_page_blocks_render_alone(viewer, world, memo_id):
    client = viewer("observer")
    items = block(client, f"/groups/{world.ws_id}", "group_items")
    assert "Hoja de ruta" in items  # with the macros of the template (ui.ago...)
    members = block(client, f"/groups/{world.ws_id}", "group_members")
    assert "Member Person" in members


def test_a_block_of_the_item_frame_renders_alone_with_the_pages_own_parts(viewer, world, memo_id):
    header = block(viewer("coordinator"), f"/memos/{memo_id}", "item_header")
    assert "Hoja de ruta" in header
    assert f"/memos/{memo_id}/edit" in header  # memo.html's item_actions, inside the frame's block
    assert f"/memos/{memo_id}/edit" not in block(
        viewer("observer"), f"/memos/{memo_id}", "item_header"
    )


def test_signed_in_pages_tell_live_js_where_to_start(viewer, world, memo_id):
    html = viewer("observer").get(f"/groups/{world.ws_id}").get_data(as_text=True)
    meta = re.search(
        r'<meta name="portal-live" content="(\d+)" data-user="(\d+)" data-workspace="(\d+)">', html
    )
    assert meta, "no portal-live meta"
    newest = int(meta.group(1))
    feed = viewer("observer").get(f"/api/v1/workspaces/{world.ws_id}/activity?after={newest}")
    assert feed.get_json()["items"] == []  # nothing newer than the page
    assert (int(meta.group(2)), int(meta.group(3))) == (world.observer.id, world.ws_id)
    assert 'src="/static/js/live.js"' in html
    assert 'aria-live="polite"' in html


def test_the_members_block_marks_who_is_online(app, viewer, world):
    presence = app.extensions["portal.realtime"].presence
    presence.add(world.member.id, "test-connection")
    try:
        html = block(viewer("observer"), f"/groups/{world.ws_id}", "group_members")
    finally:
        presence.remove(world.member.id, "test-connection")
    rows = dict(re.findall(r'<li data-user="(\d+)"( class="online")?', html))
    assert rows[str(world.member.id)] and rows[str(world.observer.id)]  # and the viewer
    assert not rows[str(world.coordinator.id)]
    assert len(re.findall(r'<span class="presence">[^<]+</span>', html)) == 2  # said in words


def _statements(app, client, path, headers=None):
    """How many SQL statements answering `path` took."""
    counted = []

    def count(*_args):
        counted.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path, headers=headers or {}).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(counted)


@pytest.mark.parametrize(
    ("path", "target", "saved"),
    [("/work", "my_changes", 4), ("/work", "my_notifications", 4),
     ("/groups/{ws}", "group_items", 4), ("/groups/{ws}", "group_members", 4),
     # On the page the activity names the items and people its lists and members read;
     # alone it reads them.
     ("/groups/{ws}", "group_activity", 2)],
)  # fmt: skip
def test_a_live_refresh_runs_only_its_blocks_queries(
    app, viewer, world, memo_id, path, target, saved
):
    client = viewer("member")
    path = path.format(ws=world.ws_id)
    page = _statements(app, client, path)
    refresh = _statements(app, client, path, {"HX-Request": "true", "HX-Target": target})
    # The layout around a block costs a statement (the header's count and live cursor);
    # the other blocks' are skipped.
    assert refresh <= page - saved, (refresh, page)


def test_a_page_reads_the_viewers_membership_once(app, viewer, world):
    client = viewer("member")
    statements: list[str] = []

    def keep(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        assert client.get(f"/groups/{world.ws_id}").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    own = [s for s in statements if "FROM memberships" in s and "memberships.user_id =" in s
           and "memberships.workspace_id =" in s]  # fmt: skip
    assert len(own) == 1, own


def test_the_group_page_shows_each_kinds_newest_own_and_shared_items(as_user, viewer, world):
    """Five per kind, newest change first, the group's own and those shared with it
    merged; the counts are of all of them."""
    member, outsider = as_user(world.member), as_user(world.outsider)
    own = [
        member.post(f"/workspaces/{world.ws_id}/memos", {"title": f"Propia {n}", "body": "x"}).json
        for n in range(7)
    ]
    shared = outsider.post(
        f"/workspaces/{world.other_ws_id}/memos", {"title": "Compartida", "body": "x"}
    ).json
    outsider.post(
        f"/items/{shared['id']}/shares", {"workspace_id": world.ws_id, "permission": "view"}
    )
    member.patch(f"/memos/{own[0]['id']}", {"body": "changed last"})
    task = member.post(f"/workspaces/{world.ws_id}/tasks", {"title": "Tarea sola"}).json
    html = block(viewer("observer"), f"/groups/{world.ws_id}", "group_items")
    memos = re.findall(r'href="/memos/(\d+)"', html)
    newest = [own[0]["id"], shared["id"], own[6]["id"], own[5]["id"], own[4]["id"]]
    assert [int(found) for found in dict.fromkeys(memos)] == newest
    assert f'href="/tasks/{task["id"]}"' in html


@pytest.mark.parametrize(
    ("path", "target", "events"),
    [("/groups/{ws}/tasks/board", "task_board", ["live:tasks-{ws}", "live:members-{ws}"]),
     ("/groups/{ws}/tasks", "task_list", ["live:tasks-{ws}"]),
     ("/groups/{ws}/memos", "memo_list", ["live:memos-{ws}"]),
     ("/groups/{ws}/documents", "document_list", ["live:documents-{ws}"]),
     ("/groups/{ws}", "group_items", ["live:workspace-{ws}"])],
)  # fmt: skip
def test_a_list_refreshes_on_its_kinds_events_only(viewer, world, path, target, events):
    """A memo's change does not refetch the task board: each list listens to the events
    of its kind (and the board to membership, its move controls follow the role); a block
    of every kind listens to the whole group's."""
    html = block(viewer("member"), path.format(ws=world.ws_id), target)
    trigger = re.match(rf'\s*<\w+ id="{target}"[^>]*hx-trigger="([^"]*)"', html).group(1)
    assert trigger == ", ".join(f"{e.format(ws=world.ws_id)} from:body" for e in events)


def test_the_items_refresh_carries_the_groups_activity(viewer, world, memo_id):
    """Both change with every activity of the group: one request brings both, the
    activity swapped out of band (live_refresh's `carries`), as the whole page shows it."""
    client = viewer("observer")
    path = f"/groups/{world.ws_id}"
    page = client.get(path).get_data(as_text=True)
    items_tag = re.search(r'<div id="group_items"[^>]*>', page).group(0)
    assert 'hx-select-oob="#group_activity"' in items_tag
    assert "X-Portal-Carries" in items_tag
    assert (
        'id="group_activity" class="card" aria-labelledby="activity-title">' in page
    )  # no trigger
    headers = {
        "HX-Request": "true",
        "HX-Target": "group_items",
        "X-Portal-Carries": "group_activity",
    }
    both = client.get(path, headers=headers).get_data(as_text=True)
    items, activity = both.split('<section id="group_activity"')
    assert items.strip().startswith('<div id="group_items"') and "Hoja de ruta" in items
    activity = '<section id="group_activity"' + activity
    assert "Hoja de ruta" in activity
    assert _without_times(activity.strip()) in _without_times(page)


def _without_times(html):
    return re.sub(r"<time[^>]*>[^<]*</time>", "", html)


@pytest.mark.parametrize(
    "carried", ["no_such_block", "../../etc", "group_items", "a b c d e f g", "GROUP_ACTIVITY"]
)
def test_a_refresh_carrying_what_is_no_block_shows_its_own(viewer, world, carried):
    headers = {"HX-Request": "true", "HX-Target": "group_items", "X-Portal-Carries": carried}
    answer = viewer("member").get(f"/groups/{world.ws_id}", headers=headers)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert html.strip().startswith('<div id="group_items"') and html.count('id="group_items"') == 1
    assert 'id="group_activity"' not in html and "<html" not in html


def test_a_refresh_carries_nothing_of_a_group_its_caller_may_not_read(viewer, world):
    headers = {
        "HX-Request": "true",
        "HX-Target": "group_items",
        "X-Portal-Carries": "group_activity",
    }
    assert viewer("outsider").get(f"/groups/{world.ws_id}", headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("target", "carried"),
    [("main", ""), ("title", ""), ("item_main", ""), ("item_header", "main title item_main"),
     ("group_items", ""), ("group_items", "memo_body"), ("live_carried", ""),
     ("memo_body", "main")],
)  # fmt: skip
def test_a_refresh_naming_what_is_no_block_of_the_page_is_never_an_error(
    viewer, world, memo_id, target, carried
):
    """A block renders alone only if it is one (its element bears its name); anything
    else a client names gets the whole page, a 400 for another page's block, never a 500."""
    headers = {"HX-Request": "true", "HX-Target": target, "X-Portal-Carries": carried}
    client = viewer("member")
    for path in (f"/memos/{memo_id}", f"/groups/{world.ws_id}", "/work"):
        answer = client.get(path, headers=headers)
        assert answer.status_code in (200, 400), (path, target, carried, answer.status_code)
        html = answer.get_data(as_text=True)
        if answer.status_code == 200 and target in ("main", "title", "item_main", "live_carried"):
            assert "<html" in html  # the whole page
        for name in carried.split():
            assert f'id="{name}"' not in html or "<html" in html


def test_a_whole_page_does_not_read_every_template_for_the_blocks(viewer, world):
    """Which blocks render alone is read once, by the first live refresh (about a second
    of parsing): a page asked for whole never waits for it."""
    from portal.pages import _blocks_of_every_page

    _blocks_of_every_page.cache_clear()
    assert viewer("member").get(f"/groups/{world.ws_id}").status_code == 200
    assert _blocks_of_every_page.cache_info().misses == 0
    block(viewer("member"), f"/groups/{world.ws_id}", "group_items")
    assert _blocks_of_every_page.cache_info().misses == 1

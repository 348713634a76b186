"""Live updates in the browser (static/js/live.js): pages that change while they are
open, who is online, a member removed while their page is open, catching up after a
lost connection, an open editor that a refresh never overwrites, and lists that
refresh for their own kind's changes only."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .conftest import check_accessibility

# Keeps what live.js raises on <body> for the test to read (evaluated through the
# debugging protocol, which the page's Content-Security-Policy does not govern).
LISTEN = """() => {
  window.heard = [];
  document.body.addEventListener("live:activity", (e) => window.heard.push(e.detail));
}"""
HEARD = "id => window.heard.some((a) => a.item && a.item.id === id)"
_numbers = itertools.count(1)


def api(site: Any, who: str, method: str, path: str, **kwargs: Any) -> Any:
    response = site.server.api(method, path, getattr(site.data.tokens, who), **kwargs)
    assert response.status_code in {200, 201, 204}, (method, path, response.text)
    return response.json() if response.content else None


def new_memo(site: Any, workspace_id: int, who: str = "coordinator") -> dict[str, Any]:
    body = {"title": f"Nota en vivo {next(_numbers)}", "body": "Texto"}
    return api(site, who, "POST", f"/workspaces/{workspace_id}/memos", json=body)


def new_task(site: Any, workspace_id: int, who: str = "coordinator") -> dict[str, Any]:
    body = {"title": f"Tarea en vivo {next(_numbers)}"}
    return api(site, who, "POST", f"/workspaces/{workspace_id}/tasks", json=body)


def live_page(signed_in: Any, who: str, path: str) -> Any:
    """A page of `who` at `path` whose live connection is open, hearing its events."""
    page = signed_in(who, path)
    page.evaluate(LISTEN)
    page.locator("html[data-live=connected]").wait_for(state="attached")
    return page


def wait_heard(page: Any, item_id: int, timeout: float = 5) -> None:
    page.wait_for_function(HEARD, arg=item_id, timeout=timeout * 1000)


def heard(page: Any, item_id: int) -> bool:
    return page.evaluate(HEARD, item_id)


def refreshes(page: Any, block: str) -> list[str]:
    """The live refreshes of `block` the page asks for from now on (htmx names it)."""
    asked: list[str] = []
    page.on(
        "request", lambda r: asked.append(r.url) if r.headers.get("hx-target") == block else None
    )
    return asked


def live_targets(page: Any) -> list[str]:
    """The blocks the page's htmx requests ask for from now on, in order."""
    asked: list[str] = []
    page.on(
        "request",
        lambda r: asked.append(r.headers.get("hx-target")) if r.headers.get("hx-request") else None,
    )
    return asked


def is_refresh(block: str) -> Any:
    return lambda request: request.headers.get("hx-target") == block


def member_row(page: Any, user_id: int) -> Any:
    return page.locator(f"#group_members li[data-user='{user_id}']")


def wait_online(page: Any, user_id: int, online: bool = True) -> None:
    page.wait_for_function(
        """([id, online]) => document.querySelector(`#group_members li[data-user='${id}']`)
             .classList.contains("online") === online""",
        arg=[user_id, online],
    )


# --- presence -----------------------------------------------------------------------


def test_the_members_block_shows_who_is_online_as_they_come_and_go(signed_in, site):
    group = f"/groups/{site.data.workspace_id}"
    people = site.data.people
    observer = live_page(signed_in, "observer", group)
    me = member_row(observer, people.observer.id)
    assert "online" in me.get_attribute("class")  # the viewer is on the page
    assert me.locator(".presence").inner_text().strip()  # said in words, not only a dot
    member = live_page(signed_in, "member", group)
    # The newcomer's page rendered the observer online, from the presence store.
    assert "online" in (member_row(member, people.observer.id).get_attribute("class") or "")
    wait_online(observer, people.member.id)
    assert member_row(observer, people.member.id).locator(".presence").inner_text().strip()
    check_accessibility(observer)
    member.context.close()
    wait_online(observer, people.member.id, online=False)
    assert member_row(observer, people.member.id).locator(".presence").inner_text() == ""


# --- membership -----------------------------------------------------------------------


def test_a_member_removed_while_their_page_is_open_stops_receiving_the_group(signed_in, site):
    group_id = site.data.workspace_id
    outsider = site.data.people.outsider
    members = f"/workspaces/{group_id}/members/{outsider.id}"
    observer = live_page(signed_in, "observer", f"/groups/{group_id}")
    api(site, "coordinator", "PUT", members, json={"role": "member"})
    try:
        # The observer's members block refreshes with the newcomer.
        observer.locator("#group_members").get_by_text(outsider.name).wait_for()
        pedro = live_page(signed_in, "outsider", f"/groups/{group_id}")
        before = new_memo(site, group_id)
        wait_heard(pedro, before["id"])
        api(site, "coordinator", "DELETE", members)
        observer.locator("#group_members").get_by_text(outsider.name).wait_for(state="detached")
        after = new_memo(site, group_id)
        wait_heard(observer, after["id"])  # the group's members do get it
        # Pedro's other group still reaches him over the same connection, after this.
        elsewhere = new_memo(site, site.data.other_workspace_id, who="outsider")
        wait_heard(pedro, elsewhere["id"])
        assert not heard(pedro, after["id"])
    finally:
        site.server.api("DELETE", members, site.data.tokens.coordinator)  # gone either way


# --- a lost connection --------------------------------------------------------------------


def test_after_a_lost_connection_the_page_catches_up_from_the_activity_feed(signed_in, site):
    group_id = site.data.workspace_id
    page = live_page(signed_in, "observer", f"/groups/{group_id}")
    page.context.set_offline(True)
    page.locator("html[data-live=offline]").wait_for(state="attached")
    missed = new_memo(site, group_id)
    page.wait_for_timeout(300)
    assert not heard(page, missed["id"])
    # Notifications are not in the feed: the notification blocks refresh instead.
    catch_up = f"**/api/v1/workspaces/{group_id}/activity?after=*"
    with page.expect_request("**/notifications/badge"), page.expect_request(catch_up) as request:
        page.context.set_offline(False)
    assert request.value.url.split("after=")[1].split("&")[0] != "0"
    wait_heard(page, missed["id"])
    page.locator("html[data-live=connected]").wait_for(state="attached")


def test_an_event_raised_before_the_new_connection_is_reported_hides_no_missed_one(signed_in, site):
    """socket.io-client raises the events that come with a new connection before the
    connection's "connect": the catch-up must still start where the previous connection
    ended. The page's WebSockets pass through a route that cuts the first one and, on
    the second, lets the server's first event overtake its connection answer."""
    group_id = site.data.workspace_id
    page = signed_in("observer", "/account")  # the route must be there before the group page
    sockets: list[Any] = []
    held: list[str] = []
    released: list[str] = []
    page.route_web_socket("**/socket.io/**", lambda route: sockets.append(route))
    page.goto(f"{site.url}/groups/{group_id}")
    page.evaluate(LISTEN)

    def connect(route: Any, reorder: bool) -> Any:
        server = route.connect_to_server()
        route.on_message(lambda message: server.send(message))

        def from_server(message: Any) -> None:
            if reorder and not held and message.startswith("40"):
                held.append(message)  # the connection's answer waits for an activity
            elif held and not released and message.startswith('42["activity"'):
                route.send(message)
                route.send(held[0])
                released.append(message)
            else:
                route.send(message)

        server.on_message(from_server)
        return server

    def wait_until(condition: Any) -> None:
        # Playwright runs the route's handlers only while the test is in one of its calls.
        for _ in range(100):
            if condition():
                return
            page.wait_for_timeout(100)
        raise AssertionError("the page did not get there")

    wait_until(lambda: sockets)
    first_server = connect(sockets[0], reorder=False)
    page.locator("html[data-live=connected]").wait_for(state="attached")
    sockets[0].close()
    first_server.close()
    page.locator("html[data-live=offline]").wait_for(state="attached")
    wait_until(lambda: len(sockets) == 2)  # the page reconnects; not to the server yet
    missed = new_memo(site, group_id)
    connect(sockets[1], reorder=True)
    wait_until(lambda: held)
    overtaking = new_memo(site, group_id)
    wait_heard(page, overtaking["id"])
    assert released
    page.locator("html[data-live=connected]").wait_for(state="attached")
    wait_heard(page, missed["id"])


# --- an open editor ------------------------------------------------------------------------


def _put_a_field_in(page: Any, block: str) -> None:
    """A textarea inside a block that refreshes live, as a comment form or an editor
    would be; the block's element is marked to tell whether it was swapped."""
    page.evaluate(
        """id => {
          const block = document.getElementById(id);
          block.original = true;
          const field = document.createElement("textarea");
          field.id = "draft";
          field.setAttribute("aria-label", "Borrador");
          block.append(field);
        }""",
        block,
    )


def _swapped(page: Any, block: str) -> bool:
    return page.evaluate("id => !document.getElementById(id).original", block)


def test_a_refresh_never_overwrites_a_field_the_user_is_in(signed_in, site):
    group_id = site.data.workspace_id
    page = live_page(signed_in, "observer", f"/groups/{group_id}")
    block = "group_items"
    _put_a_field_in(page, block)
    page.locator("#draft").click()
    page.keyboard.type("Mi comentario a medio escribir")
    first = new_memo(site, group_id)
    wait_heard(page, first["id"])
    page.locator(f"#{block}[data-live-held]").wait_for(state="attached")
    assert not _swapped(page, block)
    # Leaving the field with its text unsent keeps the block as it is too.
    page.locator("nav.breadcrumb a").first.focus()
    page.wait_for_timeout(300)
    assert not _swapped(page, block)
    assert page.locator("#draft").input_value() == "Mi comentario a medio escribir"
    # Emptied and left, the field holds nothing to lose: the refresh waiting happens.
    page.locator("#draft").fill("")
    page.locator("#draft").focus()
    page.locator("nav.breadcrumb a").first.focus()
    page.wait_for_function("id => !document.getElementById(id).original", arg=block)
    page.locator(f"#{block}[data-live-held]").wait_for(state="detached")


def test_focus_stays_on_the_same_link_after_its_block_refreshes(signed_in, site):
    group_id = site.data.workspace_id
    memo = new_memo(site, group_id)
    page = live_page(signed_in, "observer", f"/groups/{group_id}")
    link = page.locator(f"#group_items a[href='/memos/{memo['id']}']")
    link.focus()
    page.evaluate("() => { document.getElementById('group_items').original = true; }")
    newer = new_memo(site, group_id)
    page.locator(f"#group_items a[href='/memos/{newer['id']}']").wait_for()
    assert page.evaluate("() => !document.getElementById('group_items').original")
    assert (
        page.evaluate("() => document.activeElement.getAttribute('href')") == f"/memos/{memo['id']}"
    )


def test_a_burst_of_changes_refreshes_a_block_once_or_twice(signed_in, site):
    group_id = site.data.workspace_id
    page = live_page(signed_in, "observer", f"/groups/{group_id}")
    refreshes = []
    page.on(
        "request",
        lambda r: refreshes.append(r.url) if r.headers.get("hx-target") == "group_items" else None,
    )
    with ThreadPoolExecutor(6) as pool:
        memos = list(pool.map(lambda _: new_memo(site, group_id), range(6)))
    for memo in memos:
        wait_heard(page, memo["id"])
    page.locator(f"#group_items a[href='/memos/{memos[-1]['id']}']").wait_for()
    page.wait_for_timeout(500)
    assert 1 <= len(refreshes) < len(memos)


# --- the two browsers ---------------------------------------------------------------


def test_two_people_change_a_memo_and_a_third_sees_both_without_reloading(signed_in, site):
    """Marta edits through the memo's page, Ana through the API, while Óscar's page of
    the memo is open: it shows both changes, and says so to a screen reader."""
    memo = new_memo(site, site.data.workspace_id)
    path = f"/memos/{memo['id']}"
    observer = live_page(signed_in, "observer", path)
    observer.evaluate("() => { window.sameDocument = true; }")

    editor = signed_in("member", path + "/edit")
    editor.locator("textarea[name=body]").fill("La versión de Marta, desde la página.")
    editor.locator("form.memo-form button.primary").click()
    editor.wait_for_url(f"**{path}")
    observer.locator("#memo_body").get_by_text("La versión de Marta, desde la página.").wait_for()
    observer.locator("#live-announcer").get_by_text("Marta Miembro", exact=False).wait_for(
        state="attached"
    )
    assert memo["title"] in observer.locator("#live-announcer").inner_text()

    api(
        site,
        "coordinator",
        "PATCH",
        path,
        json={"title": "Nota revisada", "body": "La de Ana, por la API."},
    )
    observer.locator("#memo_body").get_by_text("La de Ana, por la API.").wait_for()
    observer.locator("#item_header h1").get_by_text("Nota revisada").wait_for()
    assert observer.evaluate("() => window.sameDocument === true")  # never reloaded
    check_accessibility(observer)


def test_a_group_page_shows_a_change_to_an_item_shared_into_it(signed_in, site):
    """Pedro's group reads a memo of another group: his group's page follows its changes."""
    memo = new_memo(site, site.data.workspace_id)
    other = site.data.other_workspace_id
    api(site, "coordinator", "POST", f"/items/{memo['id']}/shares",
        json={"workspace_id": other, "permission": "view"})  # fmt: skip
    page = live_page(signed_in, "outsider", f"/groups/{other}")
    page.evaluate("() => { window.sameDocument = true; }")
    page.get_by_role("link", name=memo["title"]).first.wait_for()

    api(site, "coordinator", "PATCH", f"/memos/{memo['id']}", json={"title": "Nota compartida"})

    page.get_by_role("link", name="Nota compartida").first.wait_for()
    assert page.evaluate("() => window.sameDocument === true")  # never reloaded


# --- each list refreshes for its own kind ------------------------------------------------


def test_a_memo_change_refreshes_the_memo_list_and_not_the_task_board(signed_in, site):
    group_id = site.data.workspace_id
    board = live_page(signed_in, "observer", f"/groups/{group_id}/tasks/board")
    memos = live_page(signed_in, "member", f"/groups/{group_id}/memos")
    board_refreshes = refreshes(board, "task_board")

    memo = new_memo(site, group_id)

    memos.locator("#memo_list").get_by_role("link", name=memo["title"]).wait_for()
    wait_heard(board, memo["id"])
    board.wait_for_timeout(1300)  # past the longest coalescing window (1 s)
    assert board_refreshes == []
    assert board.locator("#live-announcer").inner_text() == ""  # nothing it shows changed


def test_a_task_change_refreshes_the_board_and_the_task_list(signed_in, site):
    group_id = site.data.workspace_id
    board = live_page(signed_in, "observer", f"/groups/{group_id}/tasks/board")
    listing = live_page(signed_in, "member", f"/groups/{group_id}/tasks")
    memos = live_page(signed_in, "member", f"/groups/{group_id}/memos")
    memo_refreshes = refreshes(memos, "memo_list")

    task = new_task(site, group_id)

    board.locator(f"#task_board #task-{task['id']}").wait_for()
    listing.locator("#task_list").get_by_role("link", name=task["title"]).wait_for()
    # Said to the observer, whose page shows the group's tasks (not a group-wide block).
    board.locator("#live-announcer").get_by_text(task["title"], exact=False).wait_for(
        state="attached"
    )
    wait_heard(memos, task["id"])
    memos.wait_for_timeout(1300)
    assert memo_refreshes == []


def test_an_item_shared_into_a_group_refreshes_that_groups_list_of_its_kind(signed_in, site):
    """Pedro's group's memo list follows a memo of another group shared with it."""
    other = site.data.other_workspace_id
    memo = new_memo(site, site.data.workspace_id)
    page = live_page(signed_in, "outsider", f"/groups/{other}/memos")
    listing = page.locator("#memo_list")
    assert listing.get_by_role("link", name=memo["title"]).count() == 0

    api(site, "coordinator", "POST", f"/items/{memo['id']}/shares",
        json={"workspace_id": other, "permission": "view"})  # fmt: skip
    listing.get_by_role("link", name=memo["title"]).wait_for()

    renamed = f"{memo['title']} revisada"
    api(site, "coordinator", "PATCH", f"/memos/{memo['id']}", json={"title": renamed})
    listing.get_by_role("link", name=renamed).wait_for()


def test_a_change_of_the_group_itself_still_refreshes_its_lists(signed_in, site):
    """A group renamed, archived or restored may change every list (names, controls)."""
    group_id = site.data.workspace_id
    memos = live_page(signed_in, "observer", f"/groups/{group_id}/memos")
    board = live_page(signed_in, "member", f"/groups/{group_id}/tasks/board")
    group = f"/workspaces/{group_id}"
    try:
        memo_list, task_board = is_refresh("memo_list"), is_refresh("task_board")
        with memos.expect_request(memo_list), board.expect_request(task_board):
            api(site, "secretariat", "PATCH", group, json={"description": "En vivo"})
    finally:
        api(site, "secretariat", "PATCH", group, json={"description": ""})


def test_the_groups_activity_comes_with_its_items_in_one_request(signed_in, site):
    group_id = site.data.workspace_id
    page = live_page(signed_in, "observer", f"/groups/{group_id}")
    targets = live_targets(page)
    memo = new_memo(site, group_id)
    page.locator(f"#group_items a[href='/memos/{memo['id']}']").wait_for()
    page.locator("#group_activity").get_by_text(memo["title"]).first.wait_for()
    assert "group_items" in targets and "group_activity" not in targets, targets


def test_a_carried_block_with_a_field_in_use_is_kept(signed_in, site):
    group_id = site.data.workspace_id
    page = live_page(signed_in, "observer", f"/groups/{group_id}")
    _put_a_field_in(page, "group_activity")
    page.locator("#draft").click()
    page.keyboard.type("Nota a medio escribir")
    page.evaluate("() => { document.getElementById('group_items').original = true; }")
    memo = new_memo(site, group_id)
    page.locator(f"#group_items a[href='/memos/{memo['id']}']").wait_for()
    assert _swapped(page, "group_items") and not _swapped(page, "group_activity")
    assert page.locator("#draft").input_value() == "Nota a medio escribir"


def test_an_item_page_refreshes_in_one_request_and_keeps_a_comment_being_written(signed_in, site):
    """The memo's header brings its body and comments; a comment being written stays
    as it is while the memo changes, and the comments refresh once it is left empty."""
    memo = new_memo(site, site.data.workspace_id)
    path = f"/memos/{memo['id']}"
    page = live_page(signed_in, "member", path)
    targets = live_targets(page)
    comment = page.locator("#item_comments textarea")
    comment.click()
    page.keyboard.type("Mi comentario a medio escribir")
    page.evaluate("() => { document.getElementById('item_comments').original = true; }")
    api(site, "coordinator", "PATCH", path, json={"title": "Nota cambiada", "body": "Cuerpo nuevo"})
    api(site, "coordinator", "POST", f"/items/{memo['id']}/comments", json={"body": "Opino que sí"})
    page.locator("#item_header h1").get_by_text("Nota cambiada").wait_for()
    page.locator("#memo_body").get_by_text("Cuerpo nuevo").wait_for()
    page.wait_for_timeout(1500)  # the comment's own event has come by now
    assert not _swapped(page, "item_comments")
    assert comment.input_value() == "Mi comentario a medio escribir"
    assert set(targets) == {"item_header"}, targets
    # Emptied and left, the comments come: the header's refresh waiting happens.
    comment.fill("")
    page.locator("#memo_body").click()
    page.locator("#item_comments").get_by_text("Opino que sí").wait_for()

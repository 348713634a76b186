"""The task pages in the browser: the list's filters, a new task, a task's page, and the
board, where a card moves by drag and drop, by keyboard alone and without JavaScript."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest

from .conftest import check_accessibility, shoot

# Waiting on the page's text without `eval`, which the Content-Security-Policy forbids.
expect = pytest.importorskip("playwright.sync_api").expect

_serial = itertools.count(1)


def make_task(site: Any, who: str = "member", **fields: Any) -> dict[str, Any]:
    """A task of the group made through the API; its title is unique in the site."""
    fields["title"] = f"{fields.get('title', 'Tarea de prueba')} {next(_serial)}"
    response = site.server.api(
        "POST",
        f"/workspaces/{site.data.workspace_id}/tasks",
        getattr(site.data.tokens, who),
        json=fields,
    )
    assert response.status_code == 201, response.text
    return response.json()


def status_of(site: Any, task_id: int) -> str:
    return site.server.api("GET", f"/tasks/{task_id}", site.data.tokens.member).json()["status"]


def board_path(site: Any) -> str:
    return f"/groups/{site.data.workspace_id}/tasks/board"


def tasks_event(site: Any) -> str:
    """The live event the board listens to (live.js raises it on <body>)."""
    return f"live:tasks-{site.data.workspace_id}"


def in_column(page: Any, status: str, task_id: int) -> Any:
    return page.locator(f'#task_board .board-column[data-status="{status}"] #task-{task_id}')


def test_the_list_filters_the_tasks(signed_in, site):
    member = site.data.people.member.id
    mine = make_task(site, title="Informe de escalas", assignee_ids=[member], priority="high")
    late = make_task(site, title="Tarifa vencida", due_date=str(date.today() - timedelta(days=2)))
    page = signed_in("member", f"/groups/{site.data.workspace_id}/tasks", language="en")
    assert page.get_by_role("link", name=mine["title"]).is_visible()
    late_row = page.get_by_role("row").filter(has_text=late["title"])
    assert "Overdue" in late_row.inner_text()

    page.get_by_label("Only my tasks").check()
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**mine=1**")
    assert page.get_by_role("link", name=mine["title"]).is_visible()
    assert page.get_by_role("link", name=late["title"]).count() == 0

    page.get_by_label("Only my tasks").uncheck()
    page.get_by_label("Only overdue tasks").check()
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**overdue=true**")
    assert page.get_by_role("link", name=late["title"]).is_visible()
    assert page.get_by_role("link", name=mine["title"]).count() == 0
    assert page.get_by_label("Only overdue tasks").is_checked()

    page.get_by_role("link", name="Show all tasks").click()
    page.get_by_label("Status").select_option("todo")
    page.get_by_label("Assigned to").select_option(label="Marta Miembro")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**assignee=**")
    assert page.get_by_role("link", name=mine["title"]).is_visible()
    assert page.get_by_role("link", name=late["title"]).count() == 0
    check_accessibility(page)
    shoot(page, "tasks")


def test_a_member_creates_a_task_and_edits_it(signed_in, site):
    page = signed_in("member", f"/groups/{site.data.workspace_id}/tasks", language="en")
    page.get_by_role("link", name="New task").click()
    page.get_by_role("button", name="Create the task").click()
    assert page.locator("#title-error").inner_text() == "Fill in this field."
    check_accessibility(page)
    shoot(page, "task-new")

    page.get_by_label("Title").fill("Coordinar la visita al puerto")
    page.get_by_label("Description").fill("Con **navieras** y agentes")
    page.get_by_label("Priority").select_option("urgent")
    page.get_by_label("Due date").fill("2027-05-20")
    page.get_by_label("Ana Coordinadora").check()
    page.get_by_role("button", name="Create the task").click()

    page.wait_for_url("**/tasks/*")
    assert page.get_by_role("heading", level=1).inner_text() == "Coordinar la visita al puerto"
    details = page.locator(".task-details")
    assert "Urgent" in details.inner_text() and "Ana Coordinadora" in details.inner_text()
    assert details.locator("strong", has_text="navieras").is_visible()
    page.get_by_label("Status", exact=True).select_option("doing")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_role("status").filter(has_text="Saved").is_visible()
    assert "Doing" in page.locator(".task-details").inner_text()
    check_accessibility(page)
    shoot(page, "task")


def test_an_observer_reads_the_board_without_controls(signed_in, site):
    task = make_task(site)
    page = signed_in("observer", board_path(site), language="en")
    assert in_column(page, "todo", task["id"]).is_visible()
    assert page.locator("form.move").count() == 0
    assert page.locator(".task-card[draggable=true]").count() == 0
    assert page.get_by_role("link", name="New task").count() == 0


def test_a_card_is_dragged_to_another_column(signed_in, site):
    task = make_task(site, title="Arrastrar al tablero")
    page = signed_in("member", board_path(site), language="en")
    card = in_column(page, "todo", task["id"])
    assert card.get_attribute("draggable") == "true"

    card.drag_to(page.locator('.board-column[data-status="doing"]'))

    # The card goes at once; the board the server answers follows, with the message.
    expect(page.locator("#board-announcer")).to_contain_text("Moved “Arrastrar al tablero")
    assert in_column(page, "doing", task["id"]).is_visible()
    assert status_of(site, task["id"]) == "doing"


def _tab_to(page: Any, element_id: str, limit: int = 400) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def test_a_card_is_moved_with_the_keyboard_alone(signed_in, site):
    task = make_task(site, title="Mover con el teclado")
    page = signed_in("member", board_path(site), language="en")
    card_id = f"task-{task['id']}"
    assert page.locator("#board-help").is_visible()

    _tab_to(page, card_id)
    announcer = page.locator("#board-announcer")
    page.keyboard.press("Space")
    expect(announcer).to_contain_text("Picked up")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert in_column(page, "done", task["id"]).is_visible()
    page.keyboard.press("Escape")  # changed my mind: back to To do
    assert in_column(page, "todo", task["id"]).is_visible()
    expect(announcer).to_contain_text("Move cancelled")

    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")

    expect(page.locator("#board-announcer")).to_contain_text("Moved")
    assert in_column(page, "doing", task["id"]).is_visible()
    assert page.evaluate("document.activeElement.id") == card_id
    assert status_of(site, task["id"]) == "doing"
    expect(announcer).to_contain_text("Moved “Mover con el teclado")
    check_accessibility(page)
    shoot(page, "task-board")


def test_the_board_refreshes_on_live_events_but_not_during_a_move(signed_in, site):
    first = make_task(site, title="Ya en el tablero")
    page = signed_in("member", board_path(site), language="en")
    live = f"document.body.dispatchEvent(new CustomEvent('{tasks_event(site)}'))"

    added = make_task(site, who="coordinator", title="Llegó en vivo")
    page.evaluate(live)
    in_column(page, "todo", added["id"]).wait_for()

    _tab_to(page, f"task-{first['id']}")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    later = make_task(site, who="coordinator", title="Llegó durante el movimiento")
    page.evaluate(live)
    page.wait_for_timeout(500)
    assert page.locator(f"#task-{later['id']}").count() == 0
    assert in_column(page, "doing", first["id"]).is_visible()  # still in the user's hands

    page.keyboard.press("Escape")
    in_column(page, "todo", later["id"]).wait_for()
    # Focus comes back once the held refresh has settled (the socket's own event for the
    # new task may bring one more refresh).
    expect(page.locator(f"#task-{first['id']}")).to_be_focused()


def test_focus_follows_the_card_after_a_refresh_that_waited_for_a_field(signed_in, site):
    """A refresh whose answer finds a card's status field focused waits (live.js); the
    board must not remember that field as the place to put the focus back later."""
    first = make_task(site, title="Con el foco")
    page = signed_in("member", board_path(site), language="en")
    answers: list[Any] = []  # the board's live refreshes, held until the field has the focus

    def hold_refreshes(route: Any) -> None:
        if route.request.headers.get("hx-request"):
            answers.append(route)
        else:
            route.continue_()

    page.route(f"**{board_path(site)}", hold_refreshes)
    added = make_task(site, who="coordinator", title="Mientras tanto")
    page.evaluate(f"document.body.dispatchEvent(new CustomEvent('{tasks_event(site)}'))")
    for _ in range(100):
        if answers:
            break
        page.wait_for_timeout(50)
    assert answers, "no live refresh"
    page.focus(f"#move-{first['id']}")
    page.evaluate(
        "document.addEventListener('htmx:afterRequest', () => {"
        " document.body.dataset.answered = 1 })"
    )
    answers.pop().continue_()
    page.locator("body[data-answered]").wait_for(state="attached")
    assert page.locator(f"#task-{added['id']}").count() == 0  # not swapped over the field
    page.unroute(f"**{board_path(site)}")

    page.focus(f"#task-{first['id']}")  # the field left: the refresh comes in
    in_column(page, "todo", added["id"]).wait_for()
    expect(page.locator(f"#task-{first['id']}")).to_be_focused()


def test_a_card_moves_without_javascript(signed_in, site):
    task = make_task(site, title="Mover sin JavaScript")
    page = signed_in("member", board_path(site), language="en", javascript=False)
    card = in_column(page, "todo", task["id"])

    card.get_by_label("New status", exact=False).select_option("done")
    card.get_by_role("button", name="Move").click()

    page.wait_for_url(f"**{board_path(site)}#task-{task['id']}")
    assert in_column(page, "done", task["id"]).is_visible()
    assert page.get_by_role("status").filter(has_text="Moved").is_visible()
    assert status_of(site, task["id"]) == "done"

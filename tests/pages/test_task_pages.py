"""The task pages without a browser: the list and its filters, the board and its moves,
a new task, a task's page and its edit form, as each role sees them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from portal.accounts.models import User
from portal.extensions import db
from portal.tasks import service as tasks_service
from portal.tasks.models import Task, TaskPriority, TaskStatus
from portal.workspaces.models import Workspace

from ..conftest import sign_in_session
from ..workspaces.test_item_queries import count_queries


@pytest.fixture
def tasks(app, world) -> SimpleNamespace:
    """Three tasks of `ws`: one overdue assigned to the member, one in progress assigned
    to the coordinator, one done; and one task of the other group."""
    with app.app_context():
        member = db.session.get(User, world.member.id)
        coordinator = db.session.get(User, world.coordinator.id)
        outsider = db.session.get(User, world.outsider.id)
        ws = db.session.get(Workspace, world.ws_id)
        late = tasks_service.create_task(
            member,
            ws,
            title="Revisar el manual",
            description="Leer **todo** el anexo",
            priority=TaskPriority.high,
            due_date=date.today() - timedelta(days=3),
            assignees=[member],
        )
        doing = tasks_service.create_task(
            member,
            ws,
            title="Preparar el taller",
            status=TaskStatus.doing,
            due_date=date.today() + timedelta(days=10),
            assignees=[coordinator],
        )
        done = tasks_service.create_task(
            coordinator, ws, title="Enviar la convocatoria", status=TaskStatus.done
        )
        other = tasks_service.create_task(
            outsider, db.session.get(Workspace, world.other_ws_id), title="Tarea ajena"
        )
        ids = SimpleNamespace(late=late.id, doing=doing.id, done=done.id, other=other.id)
        db.session.remove()
    return ids


def client_of(app, user):
    client = app.test_client()
    client.set_cookie("portal_lang", "en")  # the pages in English, whatever the user's own
    if user is not None:
        sign_in_session(client, user)
    return client


def html_of(response) -> str:
    return response.get_data(as_text=True)


def csrf_of(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html_of(client.get(path))).group(1)


def version_of(app, task_id: int) -> int:
    with app.app_context():
        return db.session.get(Task, task_id).version


def task_row(app, task_id: int) -> SimpleNamespace:
    with app.app_context():
        task = db.session.get(Task, task_id)
        return SimpleNamespace(
            title=task.title,
            status=task.status,
            priority=task.priority,
            due_date=task.due_date,
            description=task.description,
            assignee_ids={u.id for u in task.assignees},
            version=task.version,
        )


def titles(html: str) -> set[str]:
    return set(re.findall(r'<a href="/tasks/\d+">([^<]+)</a>', html))


# --- the list ---------------------------------------------------------------------


def test_the_list_shows_each_task_with_its_status_priority_due_date_and_assignees(
    app, world, tasks
):
    html = html_of(client_of(app, world.member).get(f"/groups/{world.ws_id}/tasks"))

    assert titles(html) == {"Revisar el manual", "Preparar el taller", "Enviar la convocatoria"}
    row = re.search(rf'<tr>\s*<th scope="row"><a href="/tasks/{tasks.late}">.*?</tr>', html, re.S)
    assert "High" in row.group(0) and "To do" in row.group(0)
    assert "Overdue" in row.group(0) and "Member Person" in row.group(0)
    assert html.count("Overdue") == 1
    assert "3 tasks" in html
    assert f'href="/groups/{world.ws_id}/tasks/new"' in html
    assert f'hx-trigger="live:tasks-{world.ws_id} from:body"' in html


@pytest.mark.parametrize(
    "query, expected",
    [
        ("mine=1", {"Revisar el manual"}),
        ("status=doing", {"Preparar el taller"}),
        ("status=done", {"Enviar la convocatoria"}),
        ("overdue=true", {"Revisar el manual"}),
        (f"due_before={date.today().isoformat()}", {"Revisar el manual"}),
    ],
)
def test_the_list_filters(app, world, tasks, query, expected):
    response = client_of(app, world.member).get(f"/groups/{world.ws_id}/tasks?{query}")

    assert response.status_code == 200
    assert titles(html_of(response)) == expected
    assert "Show all tasks" in html_of(response)


def test_the_list_filters_by_assignee_from_the_groups_members(app, world, tasks):
    client = client_of(app, world.member)
    html = html_of(client.get(f"/groups/{world.ws_id}/tasks"))
    assert f'<option value="{world.coordinator.id}">Coordinator Person</option>' in html
    assert "Outsider Person" not in html

    found = html_of(client.get(f"/groups/{world.ws_id}/tasks?assignee={world.coordinator.id}"))

    assert titles(found) == {"Preparar el taller"}
    assert f'<option value="{world.coordinator.id}" selected>' in found


def test_the_list_refreshes_alone_when_htmx_asks_for_it(app, world, tasks):
    response = client_of(app, world.member).get(
        f"/groups/{world.ws_id}/tasks?status=doing",
        headers={"HX-Request": "true", "HX-Target": "task_list"},
    )

    html = html_of(response)
    assert html.lstrip().startswith('<section id="task_list"')
    assert titles(html) == {"Preparar el taller"}
    assert f'hx-get="/groups/{world.ws_id}/tasks?status=doing"' in html


def test_a_filter_that_cannot_be_read_is_named_beside_its_field(app, world, tasks):
    response = client_of(app, world.member).get(
        f"/groups/{world.ws_id}/tasks?due_before=someday&status=doing"
    )

    html = html_of(response)
    assert response.status_code == 400
    assert '<p class="field-error" id="due_before-error">Enter a date.</p>' in html
    assert titles(html) == {"Preparar el taller"}  # the other filters still apply


def test_the_list_is_paginated_keeping_the_filters(app, world):
    with app.app_context():
        member = db.session.get(User, world.member.id)
        ws = db.session.get(Workspace, world.ws_id)
        for n in range(30):
            tasks_service.add_task(member, ws, title=f"Tarea {n:02d}", status=TaskStatus.doing)
        db.session.commit()
    client = client_of(app, world.member)

    first = html_of(client.get(f"/groups/{world.ws_id}/tasks?status=doing"))
    second = html_of(client.get(f"/groups/{world.ws_id}/tasks?status=doing&page=2"))

    assert len(titles(first)) == 25 and len(titles(second)) == 5
    assert f'href="/groups/{world.ws_id}/tasks?page=2&amp;status=doing" rel="next"' in first
    assert "Page 2 of 2" in second


def _add_tasks(app, world, start: int, count: int) -> None:
    with app.app_context():
        member = db.session.get(User, world.member.id)
        coordinator = db.session.get(User, world.coordinator.id)
        ws = db.session.get(Workspace, world.ws_id)
        for n in range(start, start + count):
            tasks_service.add_task(
                member,
                ws,
                title=f"Tarea {n}",
                status=list(TaskStatus)[n % 3],
                due_date=date(2027, 1, 1) + timedelta(days=n),
                assignees=[member, coordinator],
            )
        db.session.commit()


@pytest.mark.parametrize("path", ["/groups/{ws}/tasks", "/groups/{ws}/tasks/board"])
def test_the_list_and_the_board_cost_the_same_queries_whatever_the_number_of_tasks(
    app, world, path
):
    client = client_of(app, world.member)
    url = path.format(ws=world.ws_id)
    _add_tasks(app, world, 0, 3)
    client.get(url)
    with count_queries(app) as small:
        client.get(url)
    _add_tasks(app, world, 3, 60)
    with count_queries(app) as large:
        html = html_of(client.get(url))

    assert "Tarea 62" in html
    assert len(large) == len(small), large


# --- the board --------------------------------------------------------------------


def _column(html: str, status: str) -> str:
    return re.search(
        rf'<section class="board-column" data-status="{status}".*?</section>', html, re.S
    ).group(0)


def test_the_board_has_a_column_per_status_with_its_count_and_cards(app, world, tasks):
    html = html_of(client_of(app, world.member).get(f"/groups/{world.ws_id}/tasks/board"))

    todo, doing, done = (_column(html, s) for s in ("todo", "doing", "done"))
    assert 'To do <span class="count">(1)</span>' in todo and "Revisar el manual" in todo
    assert "Overdue" in todo and "High" in todo and "Member Person" in todo
    assert "Preparar el taller" in doing and "Coordinator Person" in doing
    assert "Enviar la convocatoria" in done
    assert "Tarea ajena" not in html
    assert html.count('<form method="post" action="/tasks/') == 3
    assert 'id="task_board"' in html and "data-movable" in html
    assert "js/board.js" in html


def test_each_board_column_shows_its_first_cards_in_its_own_order(app, world):
    """To do and doing: soonest due first, no due date last, then the newest; done: the
    last finished first. Each column is cut at BOARD_CARDS, whatever the others hold."""
    from portal.tasks.views import BOARD_CARDS

    with app.app_context():
        member = db.session.get(User, world.member.id)
        ws = db.session.get(Workspace, world.ws_id)
        for n in range(BOARD_CARDS + 5):
            for status in (TaskStatus.todo, TaskStatus.doing):
                due = None if n % 4 == 0 else date(2027, 1, 1) + timedelta(days=(n * 7) % 40)
                tasks_service.add_task(
                    member, ws, title=f"{status.value} {n}", status=status, due_date=due
                )
        for n in range(BOARD_CARDS + 5):
            task = tasks_service.add_task(member, ws, title=f"done {n}", status=TaskStatus.doing)
            db.session.flush()
            task.status = TaskStatus.done
            task.completed_at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=(n * 11) % 50)
        db.session.commit()

        def first(status, *order):
            query = select(Task.title).where(Task.workspace_id == ws.id, Task.status == status)
            return db.session.scalars(query.order_by(*order, Task.id.desc()).limit(BOARD_CARDS))

        undone = (Task.due_date.is_(None), Task.due_date, Task.created_at.desc())
        expected = {
            "todo": list(first(TaskStatus.todo, *undone)),
            "doing": list(first(TaskStatus.doing, *undone)),
            "done": list(first(TaskStatus.done, Task.completed_at.desc())),
        }
        db.session.remove()
    html = html_of(client_of(app, world.member).get(f"/groups/{world.ws_id}/tasks/board"))

    for status, titles in expected.items():
        shown = re.findall(r'<a class="title" href="[^"]*">([^<]+)</a>', _column(html, status))
        assert shown == titles, status
        assert len(titles) == BOARD_CARDS


def test_the_board_refreshes_alone_when_htmx_asks_for_it(app, world, tasks):
    response = client_of(app, world.member).get(
        f"/groups/{world.ws_id}/tasks/board",
        headers={"HX-Request": "true", "HX-Target": "task_board"},
    )

    html = html_of(response)
    assert html.lstrip().startswith('<div id="task_board"')
    assert "Revisar el manual" in html and "<header" not in html


def test_moving_a_card_without_javascript(app, world, tasks):
    client = client_of(app, world.member)
    board = f"/groups/{world.ws_id}/tasks/board"
    token = csrf_of(client, board)

    response = client.post(
        f"/tasks/{tasks.late}/status",
        data={
            "csrf_token": token,
            "status": "doing",
            "version": version_of(app, tasks.late),
            "workspace_id": world.ws_id,
        },
    )

    assert response.status_code == 303
    assert response.headers["Location"] == f"{board}#task-{tasks.late}"
    assert task_row(app, tasks.late).status is TaskStatus.doing
    html = html_of(client.get(board))
    assert "Moved “Revisar el manual” to Doing." in html
    assert "Revisar el manual" in _column(html, "doing")


def test_a_move_from_a_stale_board_changes_nothing_and_says_so(app, world, tasks):
    client = client_of(app, world.member)
    board = f"/groups/{world.ws_id}/tasks/board"
    token = csrf_of(client, board)
    stale = version_of(app, tasks.late)
    with app.app_context():
        task = db.session.get(Task, tasks.late)
        tasks_service.update_task(
            db.session.get(User, world.coordinator.id), task, {"priority": TaskPriority.low}
        )

    response = client.post(
        f"/tasks/{tasks.late}/status",
        data={"csrf_token": token, "status": "done", "version": stale},
    )

    assert response.status_code == 303
    assert task_row(app, tasks.late).status is TaskStatus.todo
    html = html_of(client.get(board))
    assert "“Revisar el manual” was not moved: someone changed it" in html


def test_a_move_through_htmx_answers_the_board_with_its_message(app, world, tasks):
    client = client_of(app, world.member)
    board = f"/groups/{world.ws_id}/tasks/board"
    token = csrf_of(client, board)
    headers = {"HX-Request": "true", "HX-Target": "task_board"}

    response = client.post(
        f"/tasks/{tasks.doing}/status",
        data={"csrf_token": token, "status": "done", "version": version_of(app, tasks.doing)},
        headers=headers,
        follow_redirects=True,
    )

    html = html_of(response)
    assert html.lstrip().startswith('<div id="task_board"')
    assert (
        '<p class="notice board-message" data-announce>Moved “Preparar el taller” to Done.</p>'
        in html
    )
    assert "Preparar el taller" in _column(html, "done")


def test_an_unknown_status_is_refused(app, world, tasks):
    client = client_of(app, world.member)
    token = csrf_of(client, f"/groups/{world.ws_id}/tasks/board")

    response = client.post(
        f"/tasks/{tasks.late}/status",
        data={"csrf_token": token, "status": "lost", "version": version_of(app, tasks.late)},
    )

    assert response.status_code == 400
    assert task_row(app, tasks.late).status is TaskStatus.todo


def test_an_observer_sees_no_controls_and_is_refused_when_forcing_them(app, world, tasks):
    client = client_of(app, world.observer)
    board = html_of(client.get(f"/groups/{world.ws_id}/tasks/board"))
    listing = html_of(client.get(f"/groups/{world.ws_id}/tasks"))
    page = html_of(client.get(f"/tasks/{tasks.late}"))
    assert "Revisar el manual" in board and "Revisar el manual" in listing
    assert 'action="/tasks/' not in board and "data-movable" not in board
    assert "/tasks/new" not in board + listing
    assert "Edit the task" not in page and "Leer <strong>todo</strong> el anexo" in page
    token = csrf_of(client, "/work")
    version = version_of(app, tasks.late)

    refusals = [
        client.get(f"/groups/{world.ws_id}/tasks/new"),
        client.post(f"/groups/{world.ws_id}/tasks/new", data={"csrf_token": token, "title": "X"}),
        client.post(
            f"/tasks/{tasks.late}/status",
            data={"csrf_token": token, "status": "done", "version": version},
        ),
        client.post(
            f"/tasks/{tasks.late}",
            data={"csrf_token": token, "title": "X", "version": version},
        ),
    ]

    assert [r.status_code for r in refusals] == [403] * 4
    assert all("error-page" in html_of(r) for r in refusals)
    assert task_row(app, tasks.late).status is TaskStatus.todo


@pytest.mark.parametrize(
    "path",
    ["/groups/{ws}/tasks", "/groups/{ws}/tasks/board", "/groups/{ws}/tasks/new", "/tasks/{task}"],
)
def test_someone_outside_the_group_gets_the_not_found_page(app, world, tasks, path):
    response = client_of(app, world.outsider).get(path.format(ws=world.ws_id, task=tasks.late))

    assert response.status_code == 404
    assert "error-page" in html_of(response)


def test_someone_outside_the_group_cannot_move_or_edit_its_tasks(app, world, tasks):
    client = client_of(app, world.outsider)
    token = csrf_of(client, "/work")
    data = {"csrf_token": token, "status": "done", "title": "X", "version": 1}

    assert client.post(f"/tasks/{tasks.late}/status", data=data).status_code == 404
    assert client.post(f"/tasks/{tasks.late}", data=data).status_code == 404
    assert client.post(f"/groups/{world.ws_id}/tasks/new", data=data).status_code == 404


def test_a_visitor_is_sent_to_sign_in(app, world, tasks):
    response = app.test_client().get(f"/groups/{world.ws_id}/tasks/board")

    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- a new task -------------------------------------------------------------------


def test_a_member_creates_a_task_with_its_assignees(app, world):
    client = client_of(app, world.member)
    path = f"/groups/{world.ws_id}/tasks/new"
    html = html_of(client.get(path))
    for person in ("Coordinator Person", "Member Person", "Observer Person"):
        assert f">{person}</label>" in html
    assert "Outsider Person" not in html

    response = client.post(
        path,
        data={
            "csrf_token": csrf_of(client, path),
            "title": "Redactar el informe",
            "description": "Con *datos* de 2026",
            "status": "doing",
            "priority": "urgent",
            "due_date": "2027-03-01",
            "assignee_ids-present": "1",
            "assignee_ids": [str(world.member.id), str(world.observer.id)],
        },
    )

    assert response.status_code == 303
    task_id = int(response.headers["Location"].rsplit("/", 1)[1])
    task = task_row(app, task_id)
    assert (task.title, task.status, task.priority) == (
        "Redactar el informe",
        TaskStatus.doing,
        TaskPriority.urgent,
    )
    assert task.due_date == date(2027, 3, 1)
    assert task.assignee_ids == {world.member.id, world.observer.id}
    page = html_of(client.get(response.headers["Location"]))
    assert "Created the task “Redactar el informe”." in page
    assert "Con <em>datos</em> de 2026" in page


def test_a_new_task_with_errors_shows_them_beside_the_fields_and_keeps_the_input(app, world):
    client = client_of(app, world.member)
    path = f"/groups/{world.ws_id}/tasks/new"

    response = client.post(
        path,
        data={
            "csrf_token": csrf_of(client, path),
            "title": "",
            "description": "Texto que no se pierde",
            "priority": "whenever",
            "due_date": "2027-02-30",
            "assignee_ids": [str(world.coordinator.id)],
        },
    )

    html = html_of(response)
    assert response.status_code == 400
    assert '<p class="field-error" id="title-error">Fill in this field.</p>' in html
    assert '<p class="field-error" id="priority-error">Choose one of the options.</p>' in html
    assert 'id="due_date-error"' in html and 'value="2027-02-30"' in html
    assert "Texto que no se pierde</textarea>" in html
    assert f'value="{world.coordinator.id}" checked' in html
    assert 'role="alert"' in html


def test_only_people_who_can_read_the_task_may_be_assigned(app, world):
    client = client_of(app, world.member)
    path = f"/groups/{world.ws_id}/tasks/new"

    response = client.post(
        path,
        data={
            "csrf_token": csrf_of(client, path),
            "title": "Tarea para un extraño",
            "assignee_ids": [str(world.member.id), str(world.bystander.id)],
        },
    )

    html = html_of(response)
    assert response.status_code == 400
    assert "Assign only people who can read the task: the group&#39;s members." in html
    with app.app_context():
        assert db.session.query(Task).filter_by(title="Tarea para un extraño").count() == 0


# --- a task's page ----------------------------------------------------------------


def test_the_task_page_shows_the_task_and_its_edit_form(app, world, tasks):
    html = html_of(client_of(app, world.member).get(f"/tasks/{tasks.late}"))

    assert "<h1>Revisar el manual</h1>" in html
    assert "Leer <strong>todo</strong> el anexo" in html
    assert "Overdue" in html and "High" in html
    assert f'href="/groups/{world.ws_id}/tasks"' in html  # the breadcrumb
    assert "Edit the task" in html
    assert f'value="{world.member.id}" checked' in html
    assert f'name="version" value="{version_of(app, tasks.late)}"' in html


def test_the_task_details_refresh_alone_when_htmx_asks(app, world, tasks):
    response = client_of(app, world.member).get(
        f"/tasks/{tasks.late}", headers={"HX-Request": "true", "HX-Target": "task_details"}
    )

    html = html_of(response).strip()
    assert html.startswith('<section id="task_details"')
    assert "hx-trigger" not in html.split(">")[0]  # the item's header carries it
    assert "Leer <strong>todo</strong> el anexo" in html and "<footer" not in html


def test_editing_a_task_saves_every_field(app, world, tasks):
    client = client_of(app, world.member)
    path = f"/tasks/{tasks.late}"

    response = client.post(
        path,
        data={
            "csrf_token": csrf_of(client, path),
            "version": version_of(app, tasks.late),
            "title": "Revisar el manual v2",
            "description": "",
            "status": "done",
            "priority": "low",
            "due_date": "",
            "assignee_ids-present": "1",
            "assignee_ids": [str(world.coordinator.id)],
        },
    )

    assert response.status_code == 303 and response.headers["Location"] == path
    task = task_row(app, tasks.late)
    assert (task.title, task.description, task.status, task.priority, task.due_date) == (
        "Revisar el manual v2",
        "",
        TaskStatus.done,
        TaskPriority.low,
        None,
    )
    assert task.assignee_ids == {world.coordinator.id}
    assert "Saved “Revisar el manual v2”." in html_of(client.get(path))


def test_unassigning_everyone(app, world, tasks):
    client = client_of(app, world.member)
    path = f"/tasks/{tasks.late}"

    client.post(
        path,
        data={
            "csrf_token": csrf_of(client, path),
            "version": version_of(app, tasks.late),
            "title": "Revisar el manual",
            "assignee_ids-present": "1",
        },
    )

    assert task_row(app, tasks.late).assignee_ids == set()


def test_an_edit_with_errors_keeps_the_input(app, world, tasks):
    client = client_of(app, world.member)
    path = f"/tasks/{tasks.late}"

    response = client.post(
        path,
        data={
            "csrf_token": csrf_of(client, path),
            "version": version_of(app, tasks.late),
            "title": "x" * 301,
            "description": "Nueva descripción",
            "assignee_ids-present": "1",
            "assignee_ids": [str(world.outsider.id)],
        },
    )

    html = html_of(response)
    assert response.status_code == 400
    assert "Keep it to 300 characters." in html
    assert "Nueva descripción</textarea>" in html
    assert task_row(app, tasks.late).title == "Revisar el manual"


def test_an_edit_assigning_someone_outside_the_group_is_refused(app, world, tasks):
    client = client_of(app, world.member)
    path = f"/tasks/{tasks.late}"

    response = client.post(
        path,
        data={
            "csrf_token": csrf_of(client, path),
            "version": version_of(app, tasks.late),
            "title": "Revisar el manual",
            "assignee_ids-present": "1",
            "assignee_ids": [str(world.outsider.id)],
        },
    )

    assert response.status_code == 400
    assert "Assign only people who can read the task" in html_of(response)
    assert task_row(app, tasks.late).assignee_ids == {world.member.id}


def test_an_edit_keeps_an_assignee_deactivated_since_without_asking_again(app, world, tasks):
    client = client_of(app, world.coordinator)
    path = f"/tasks/{tasks.late}"
    token = csrf_of(client, path)
    with app.app_context():
        db.session.get(User, world.member.id).active = False
        db.session.commit()

    response = client.post(
        path,
        data={
            "csrf_token": token,
            "version": version_of(app, tasks.late),
            "title": "Revisar el manual hoy",
            "assignee_ids-present": "1",
            "assignee_ids": [str(world.member.id)],
        },
    )

    assert response.status_code == 303
    assert task_row(app, tasks.late).title == "Revisar el manual hoy"
    assert task_row(app, tasks.late).assignee_ids == {world.member.id}


def test_a_stale_edit_shows_the_current_values_and_keeps_the_input(app, world, tasks):
    client = client_of(app, world.member)
    path = f"/tasks/{tasks.late}"
    token = csrf_of(client, path)
    stale = version_of(app, tasks.late)
    with app.app_context():
        tasks_service.update_task(
            db.session.get(User, world.coordinator.id),
            db.session.get(Task, tasks.late),
            {"title": "Revisar el manual (coordinación)"},
        )

    response = client.post(
        path,
        data={"csrf_token": token, "version": stale, "title": "Mi título", "priority": "urgent"},
    )

    html = html_of(response)
    assert response.status_code == 409
    assert "Someone saved this task while you were editing it" in html
    assert "<h1>Revisar el manual (coordinación)</h1>" in html
    assert 'value="Mi título"' in html
    assert f'name="version" value="{version_of(app, tasks.late)}"' in html
    assert task_row(app, tasks.late).title == "Revisar el manual (coordinación)"


def test_a_task_from_a_meeting_links_to_it(app, world):
    from portal.meetings import service as meetings_service

    with app.app_context():
        member = db.session.get(User, world.member.id)
        ws = db.session.get(Workspace, world.ws_id)
        start = datetime(2027, 1, 4, 14, tzinfo=UTC)
        meeting = meetings_service.create_meeting(
            member,
            ws,
            title="Comité de marzo",
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            timezone="America/Bogota",
        )
        task = tasks_service.create_task(member, ws, title="Acuerdo 1", meeting_id=meeting.id)
        task_id = task.id

    html = html_of(client_of(app, world.member).get(f"/tasks/{task_id}"))

    assert "From the meeting" in html and "Comité de marzo" in html


def test_the_group_page_lists_the_tasks(app, world, tasks):
    html = html_of(client_of(app, world.member).get(f"/groups/{world.ws_id}"))

    assert f'href="/groups/{world.ws_id}/tasks"' in html
    assert f'href="/tasks/{tasks.late}"' in html
    assert f'href="/groups/{world.ws_id}/tasks/new"' in html

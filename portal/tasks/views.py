"""The pages of tasks: the list with its filters, the board by status (a card moves by
drag, by keyboard through static/js/board.js, or by a small form without JavaScript),
a new task and a task's page with its edit form.

Every write goes through the API's rules: the same body models (`parse_form`), the same
loaders of `permissions`, the same `tasks.service` functions, the same version check.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from sqlalchemy import Select, func, select, union_all
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from .. import permissions
from ..accounts.models import User
from ..api import ApiError, paginate
from ..extensions import db
from ..pages import page, parse_form, render, renders
from ..permissions import ItemAccess, WorkspaceAction
from ..workspaces import kinds
from ..workspaces.models import Membership, Workspace
from ..workspaces.serialize import html_of
from ..workspaces.views import item_context
from . import service as tasks_service
from .api import filtered_tasks
from .models import Task, TaskPriority, TaskStatus
from .schemas import TaskBody, TaskQuery, TaskUpdateBody

bp = Blueprint("tasks", __name__)

PER_PAGE = 25
# Cards shown in a board column; the list, filtered by that status, has the rest.
BOARD_CARDS = 30

STATUS_LABELS = {
    TaskStatus.todo: lazy_gettext("To do"),
    TaskStatus.doing: lazy_gettext("Doing"),
    TaskStatus.done: lazy_gettext("Done"),
}
PRIORITY_LABELS = {
    TaskPriority.low: lazy_gettext("Low"),
    TaskPriority.normal: lazy_gettext("Normal"),
    TaskPriority.high: lazy_gettext("High"),
    TaskPriority.urgent: lazy_gettext("Urgent"),
}


@bp.app_template_global()
def task_status_label(status: Any) -> str:
    return str(STATUS_LABELS[TaskStatus(status)])


@bp.app_template_global()
def task_priority_label(priority: Any) -> str:
    return str(PRIORITY_LABELS[TaskPriority(priority)])


@bp.app_template_global()
def task_status_options() -> list[tuple[str, str]]:
    return [(str(status), str(label)) for status, label in STATUS_LABELS.items()]


@bp.app_template_global()
def task_priority_options() -> list[tuple[str, str]]:
    return [(str(priority), str(label)) for priority, label in PRIORITY_LABELS.items()]


def _may_contribute(workspace: Workspace) -> bool:
    """New tasks and moves on the group's pages: members and coordinators of an open group."""
    return workspace.archived_at is None and permissions.may_on_workspace(
        current_user, workspace, WorkspaceAction.contribute
    )


def assignable_people(workspace_id: int, task: Task | None = None) -> list[User]:
    """Whom the forms offer as assignees: the group's active members, and whoever the
    task already has (someone of a sharing group, the secretariat), by name."""
    people = {
        u.id: u
        for u in db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.workspace_id == workspace_id, User.active)
        )
    }
    for user in task.assignees if task is not None else []:
        people.setdefault(user.id, user)
    return sorted(people.values(), key=lambda u: u.name.casefold())


def _checked_assignees(user_ids: list[int], task: Task) -> tuple[list[User], dict[str, str]]:
    """`permissions.check_readers`, its refusal worded for the form."""
    try:
        return permissions.check_readers(user_ids, task), {}
    except ApiError as refusal:
        if refusal.status != 400:
            raise
        message = gettext("Assign only people who can read the task: the group's members.")
        return [], {"assignee_ids": message}


def _form_values(task: Task | None = None) -> dict[str, Any]:
    """What the form fields show: the posted input when there is some, else the task's
    (or a new task's defaults)."""
    if request.method == "POST":
        values: dict[str, Any] = request.form.to_dict()
        values["assignee_ids"] = request.form.getlist("assignee_ids")
        return values
    if task is None:
        return {"status": "todo", "priority": "normal", "assignee_ids": []}
    return {
        "title": task.title,
        "description": task.description,
        "status": str(task.status),
        "priority": str(task.priority),
        "due_date": task.due_date.isoformat() if task.due_date else "",
        "assignee_ids": [str(u.id) for u in task.assignees],
    }


# --- the list -------------------------------------------------------------------


def _list_filters() -> tuple[TaskQuery, dict[str, str], bool]:
    """The list's GET form read by the API's `TaskQuery`; "mine" is the viewer as the
    assignee. A value that cannot be read is left out and named beside its field."""
    args = MultiDict(request.args)
    args["per_page"] = str(PER_PAGE)
    mine = args.get("mine") == "1"
    query, errors = parse_form(TaskQuery, form=args)
    if query is None:
        for name in errors:
            args.pop(name, None)
        query = parse_form(TaskQuery, form=args)[0] or TaskQuery(per_page=PER_PAGE)
    if mine:
        query.assignee = current_user.id
    errors.pop("page", None)
    return query, errors, mine


@bp.get("/groups/<int:workspace_id>/tasks")
@page(access=permissions.signed_in)
def list_page(workspace_id: int) -> tuple[str, int]:
    workspace = permissions.load_workspace(workspace_id)
    query, errors, mine = _list_filters()
    result = paginate(filtered_tasks(workspace.id, query), query, lambda task: task)
    filters = {
        name: request.args[name]
        for name in ("status", "assignee", "due_before", "overdue")
        if request.args.get(name) and name not in errors
    }
    if mine:
        filters["mine"] = "1"
    people = assignable_people(workspace.id)
    return render(
        "tasks/list.html",
        workspace=workspace,
        tasks=result["items"],
        total=result["total"],
        page_number=query.page,
        per_page=PER_PAGE,
        filters=filters,
        filtered=bool(filters),
        errors=errors,
        people_options=[(str(u.id), u.name) for u in people],
        page_url=lambda number: url_for(
            ".list_page", workspace_id=workspace.id, page=number, **filters
        ),
        may_contribute=_may_contribute(workspace),
    ), 400 if errors else 200


# --- the board ------------------------------------------------------------------


def board_columns(workspace_id: int) -> list[dict[str, Any]]:
    """The board's columns, todo, doing, done: each its count and its first cards (soonest
    due first; done: the last finished first). Two queries: the counts, and the cards."""
    counting, cards = _board_statements()
    group = {permissions.GROUP: workspace_id}
    counts = dict(db.session.execute(counting, group).all())
    columns: dict[TaskStatus, list[Task]] = {status: [] for status in TaskStatus}
    for task in db.session.scalars(cards, group):
        columns[task.status].append(task)
    return [
        {"status": str(status), "count": counts.get(status, 0), "cards": columns[status]}
        for status in TaskStatus
    ]


@functools.cache
def _board_statements() -> tuple[Select[Any], Select[tuple[Task]]]:
    """`board_columns`' queries, built once for any group (permissions.GROUP). The cards:
    each column's first BOARD_CARDS in its own order, with their place in it, in one
    round trip."""
    visible = permissions.in_workspace(permissions.bound_id(permissions.GROUP))
    counting = select(Task.status, func.count()).where(visible).group_by(Task.status)
    firsts = []
    for status in TaskStatus:
        if status is TaskStatus.done:
            order = [Task.completed_at.desc()]
        else:
            order = [Task.due_date.is_(None), Task.due_date, Task.created_at.desc()]
        order.append(Task.id.desc())
        column = (
            select(Task.id, func.row_number().over(order_by=order).label("place"))
            .where(visible, Task.status == status)
            .order_by(*order)
            .limit(BOARD_CARDS)
            .subquery()
        )
        firsts.append(select(column.c.id, column.c.place))
    cards = union_all(*firsts).subquery()
    return counting, select(Task).join(cards, Task.id == cards.c.id).order_by(cards.c.place)


@bp.get("/groups/<int:workspace_id>/tasks/board")
@page(access=permissions.signed_in)
def board_page(workspace_id: int) -> str:
    workspace = permissions.load_workspace(workspace_id)
    return render(
        "tasks/board.html",
        workspace=workspace,
        columns=board_columns(workspace.id),
        may_contribute=_may_contribute(workspace),
    )


@bp.post("/tasks/<int:item_id>/status")
@page(access=permissions.signed_in)
def move(item_id: int) -> Response:
    """Move a card to another column (the board's form, or board.js through htmx), then
    back to the board: a move based on a stale board changes nothing and says so."""
    task = permissions.load_item(item_id, ItemAccess.edit, kind=Task)
    body, _ = parse_form(TaskUpdateBody, form=MultiDict({"status": request.form.get("status", "")}))
    if body is None or body.status is None:
        raise BadRequest()
    status = task_status_label(body.status)
    if request.form.get("version") != str(task.version):
        flash(
            gettext(
                "“%(title)s” was not moved: someone changed it after the board was shown. "
                "The board now shows it as it is.",
                title=task.title,
            )
        )
    else:
        tasks_service.update_task(current_user, task, {"status": body.status})
        flash(gettext("Moved “%(title)s” to %(status)s.", title=task.title, status=status))
    board = request.form.get("workspace_id", type=int) or task.workspace_id
    return redirect(url_for(".board_page", workspace_id=board, _anchor=f"task-{task.id}"), 303)


# --- one task -------------------------------------------------------------------


def _meeting_of(task: Task) -> dict[str, Any] | None:
    """The meeting whose outcome created the task, if the viewer may read it."""
    if task.meeting_id is None:
        return None
    meeting = db.session.get(kinds.get("meeting").model, task.meeting_id)
    if meeting is None or permissions.item_access(current_user, meeting) is ItemAccess.none:
        return None
    url = kinds.page_url(meeting) if kinds.pages_of("meeting") else None
    return {"title": meeting.title, "url": url}


def _task_page(
    task: Task,
    access: ItemAccess,
    errors: dict[str, str] | None = None,
    *,
    stale: bool = False,
    status: int = 200,
) -> tuple[str, int]:
    context = item_context(task, access)
    if renders():  # the edit form shows with the whole page only
        context |= {
            "may_edit": access >= ItemAccess.edit
            and task.deleted_at is None
            and context["workspace"].archived_at is None,
            "values": _form_values(task),
            "errors": errors or {},
            "stale": stale,
            "people": assignable_people(task.workspace_id, task),
        }
    return render(
        "tasks/task.html",
        **context,
        task=task,
        description_html=html_of(task.description),
        meeting=_meeting_of(task) if renders("task_details") else None,
    ), status


@bp.get("/tasks/<int:item_id>")
@page(access=permissions.signed_in)
def task_page(item_id: int) -> tuple[str, int]:
    return _task_page(*permissions.load_item_access(item_id, kind=Task))


@bp.post("/tasks/<int:item_id>")
@page(access=permissions.signed_in)
def update(item_id: int) -> tuple[str, int] | Response:
    """Save the edit form: every field posted, validated as the API's new task is."""
    task, access = permissions.load_item_access(item_id, ItemAccess.edit, kind=Task)
    body, errors = parse_form(TaskBody, lists=("assignee_ids",))
    assignees: list[User] | None = None
    # Checked when they change only: someone deactivated since stays until unticked.
    if body is not None and set(body.assignee_ids) != {u.id for u in task.assignees}:
        assignees, errors = _checked_assignees(body.assignee_ids, task)
    if request.form.get("version") != str(task.version):
        # Someone saved first: the page shows the task as it is now, the form keeps
        # this input (with the current version, so saving again replaces theirs).
        return _task_page(task, access, errors, stale=True, status=409)
    if body is None or errors:
        return _task_page(task, access, errors, status=400)
    changes = body.model_dump(exclude={"assignee_ids"})
    tasks_service.update_task(current_user, task, changes, assignees)
    flash(gettext("Saved “%(title)s”.", title=task.title))
    return redirect(url_for(".task_page", item_id=task.id), 303)


# --- a new task -----------------------------------------------------------------


def _new_page(workspace: Workspace, errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    return render(
        "tasks/new.html",
        workspace=workspace,
        values=_form_values(),
        errors=errors,
        people=assignable_people(workspace.id),
    ), status


@bp.get("/groups/<int:workspace_id>/tasks/new")
@page(access=permissions.signed_in)
def new_page(workspace_id: int) -> tuple[str, int]:
    return _new_page(permissions.load_workspace(workspace_id, WorkspaceAction.contribute), {})


@bp.post("/groups/<int:workspace_id>/tasks/new")
@page(access=permissions.signed_in)
def create(workspace_id: int) -> tuple[str, int] | Response:
    workspace = permissions.load_workspace(workspace_id, WorkspaceAction.contribute)
    body, errors = parse_form(TaskBody, lists=("assignee_ids",))
    if body is not None:
        assignees, errors = _checked_assignees(body.assignee_ids, Task(workspace_id=workspace.id))
    if body is None or errors:
        return _new_page(workspace, errors, 400)
    fields = body.model_dump(exclude={"assignee_ids"})
    task = tasks_service.create_task(current_user, workspace, assignees=assignees, **fields)
    flash(gettext("Created the task “%(title)s”.", title=task.title))
    return redirect(url_for(".task_page", item_id=task.id), 303)


kinds.register_pages(
    "task", item="tasks.task_page", listing="tasks.list_page", new="tasks.new_page"
)

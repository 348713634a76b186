"""The console's working groups: the list with its counts and the archived filter,
creating, editing, archiving and restoring a group, and its members with their roles;
to anyone but the secretariat these pages and forms do not exist."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.accounts import service as accounts
from portal.accounts.models import User
from portal.events import Event
from portal.extensions import db
from portal.memos import service as memos
from portal.workspaces import items_service
from portal.workspaces import service as workspaces
from portal.workspaces.models import Membership, Role, Workspace

from ..factories import make_user
from ..workspaces.test_item_queries import count_queries

OTHERS = ["outsider", "observer", "member", "coordinator", "bystander"]


def _english(client):
    client.set_cookie("portal_lang", "en")
    return client


@pytest.fixture
def console(as_user, world):
    """The secretariat's browser, in English."""
    return _english(as_user(world.secretariat).client)


def _html(response) -> str:
    return response.get_data(as_text=True)


def _main(response) -> str:
    return re.search(r"<main.*</main>", _html(response), re.S).group(0)


def _group(app, workspace_id) -> Workspace:
    with app.app_context():
        workspace = db.session.get(Workspace, workspace_id)
        db.session.expunge(workspace)
        return workspace


def _roles(app, workspace_id) -> dict[int, str]:
    with app.app_context():
        rows = db.session.execute(
            select(Membership.user_id, Membership.role).where(
                Membership.workspace_id == workspace_id
            )
        ).all()
        return {user_id: str(role) for user_id, role in rows}


def _pages(world) -> list[tuple[str, str, dict]]:
    group = f"/console/groups/{world.ws_id}"
    member = f"{group}/members/{world.member.id}"
    return [
        ("GET", "/console/groups", {}),
        ("GET", "/console/groups?archived=true", {}),
        ("GET", "/console/groups/new", {}),
        ("POST", "/console/groups/new", {"name": "Grupo intruso"}),
        ("GET", group, {}),
        ("GET", f"{group}/edit", {}),
        ("POST", f"{group}/edit", {"name": "Renombrado"}),
        ("POST", f"{group}/archive", {"archived": "true"}),
        ("POST", f"{group}/members", {"user_id": str(world.bystander.id), "role": "member"}),
        ("POST", member, {"role": "coordinator"}),
        ("POST", f"{member}/remove", {}),
    ]


# --- who reaches them ---------------------------------------------------------------


@pytest.mark.parametrize("role", OTHERS)
def test_the_group_pages_do_not_exist_for_anyone_but_the_secretariat(app, as_user, world, role):
    client = _english(as_user(getattr(world, role)).client)
    before = _roles(app, world.ws_id)

    for method, path, form in _pages(world):
        response = client.open(path, method=method, data=form)
        assert response.status_code == 404, (method, path)
        assert "Working groups" not in _main(response)
    group = _group(app, world.ws_id)
    assert group.name == "Sistemas de Comunidad Portuaria" and group.archived_at is None
    assert _roles(app, world.ws_id) == before
    with app.app_context():
        assert db.session.scalar(select(Workspace).where(Workspace.name == "Grupo intruso")) is None


def test_a_visitor_is_sent_to_sign_in(app, world):
    client = app.test_client()
    for method, path, form in _pages(world):
        response = client.open(path, method=method, data=form)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_every_page_answers_the_secretariat(console, world):
    for method, path, _form in _pages(world):
        if method == "GET":
            assert console.get(path).status_code == 200, path
    assert 'href="/console/groups">Working groups</a>' in _html(console.get("/console"))


# --- the list -------------------------------------------------------------------------


def _rows(response) -> list[list[str]]:
    """Each row of the list as its cells' text."""
    table = re.search(r"<tbody>.*</tbody>", _html(response), re.S)
    if table is None:
        return []
    cells = r"<t[hd][^>]*>(.*?)</t[hd]>"
    return [
        [re.sub(r"<[^>]+>|\s+", " ", cell).strip() for cell in re.findall(cells, row, re.S)][:4]
        for row in re.findall(r"<tr>(.*?)</tr>", table.group(0), re.S)
    ]


def test_the_list_counts_members_and_items_and_filters_archived(app, console, world):
    with app.app_context():
        author = db.session.get(User, world.member.id)
        ws = db.session.get(Workspace, world.ws_id)
        memos.create_memo(author, ws, title="Uno", body="x")
        trashed = memos.create_memo(author, ws, title="Dos", body="x")
        items_service.move_to_trash(db.session.get(User, world.coordinator.id), trashed)
        old = workspaces.create_workspace(None, name="Antiguo comité")
        workspaces.update_workspace(
            db.session.get(User, world.secretariat.id), old, {"archived": True}
        )

    everything = _rows(console.get("/console/groups"))

    assert everything == [
        ["Antiguo comité", "0", "0", "Archived"],
        ["Grupo Reservado de Aduanas", "1", "0", "Not archived"],
        ["Sistemas de Comunidad Portuaria", "3", "1", "Not archived"],
    ]
    assert [row[0] for row in _rows(console.get("/console/groups?archived=true"))] == [
        "Antiguo comité"
    ]
    assert len(_rows(console.get("/console/groups?archived=false"))) == 2
    assert [row[0] for row in _rows(console.get("/console/groups?q=aduanas"))] == [
        "Grupo Reservado de Aduanas"
    ]
    html = _html(console.get("/console/groups"))
    assert f'href="/groups/{world.ws_id}"' in html  # the group's own page
    assert '<td data-label="Items">1</td>' in html  # a phone shows each count's name


def test_a_filter_that_cannot_be_read_is_named(console, world):
    response = console.get("/console/groups?archived=sometimes&q=sistemas")

    assert response.status_code == 400
    assert 'id="archived-error"' in _html(response) and 'value="sistemas"' in _html(response)


def test_the_list_costs_the_same_queries_with_few_or_many_groups(app, console, world):
    console.get("/console/groups")
    with count_queries(app) as few:
        console.get("/console/groups")
    with app.app_context():
        secretariat = db.session.get(User, world.secretariat.id)
        for n in range(12):
            ws = workspaces.create_workspace(secretariat, name=f"Grupo {n}")
            workspaces.set_membership(secretariat, ws, secretariat, Role.coordinator)
        db.session.remove()
    with count_queries(app) as many:
        console.get("/console/groups")

    assert len(many) == len(few), (len(few), len(many))


# --- create, edit, archive ------------------------------------------------------------


def test_creating_a_group(app, console, world):
    response = console.post(
        "/console/groups/new", data={"name": "Ventanilla Única", "description": "Trámites."}
    )

    assert response.status_code == 303
    with app.app_context():
        created = db.session.scalar(select(Workspace).where(Workspace.name == "Ventanilla Única"))
        assert created.description == "Trámites."
        assert response.headers["Location"].endswith(f"/console/groups/{created.id}")
    page = console.get(response.headers["Location"])
    assert "Created the working group Ventanilla Única" in _html(page)
    assert "This group has no coordinator" in _html(page)


def test_a_group_without_a_name_is_not_created_and_the_input_is_kept(app, console, world):
    response = console.post("/console/groups/new", data={"name": "  ", "description": "Texto"})

    assert response.status_code == 400
    html = _html(response)
    assert 'id="name-error"' in html and ">Texto</textarea>" in html
    with app.app_context():
        assert db.session.scalar(select(Workspace).where(Workspace.description == "Texto")) is None


def test_editing_a_group(app, console, world):
    path = f"/console/groups/{world.ws_id}/edit"
    assert 'value="Sistemas de Comunidad Portuaria"' in _html(console.get(path))

    response = console.post(path, data={"name": "Sistemas Portuarios", "description": "PCS"})

    assert response.status_code == 303
    group = _group(app, world.ws_id)
    assert (group.name, group.description) == ("Sistemas Portuarios", "PCS")
    assert console.post(path, data={"name": "Sistemas Portuarios"}).status_code == 303
    assert _group(app, world.ws_id).description == ""  # emptied


def test_an_edit_that_cannot_be_saved_changes_nothing(app, console, world):
    response = console.post(
        f"/console/groups/{world.ws_id}/edit", data={"name": "x" * 161, "description": "Nuevo"}
    )

    assert response.status_code == 400
    assert 'id="name-error"' in _html(response) and ">Nuevo</textarea>" in _html(response)
    assert _group(app, world.ws_id).name == "Sistemas de Comunidad Portuaria"


def test_archiving_and_restoring_a_group(app, as_user, console, world):
    path = f"/console/groups/{world.ws_id}"

    response = console.post(f"{path}/archive", data={"archived": "true"})

    assert response.status_code == 303 and _group(app, world.ws_id).archived_at is not None
    page = _html(console.get(path))
    assert "This working group is archived" in page and "Add a member" not in page
    assert f'action="/console/groups/{world.ws_id}/members' not in page
    # its members keep reading it
    assert as_user(world.member).client.get(f"/groups/{world.ws_id}").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(Event.verb).order_by(Event.id.desc()).limit(1)) == (
            "workspace.archived"
        )

    response = console.post(f"{path}/archive", data={"archived": "false"})

    assert response.status_code == 303 and _group(app, world.ws_id).archived_at is None
    assert "Add a member" in _html(console.get(path))


def test_members_of_an_archived_group_do_not_change(app, console, world):
    path = f"/console/groups/{world.ws_id}"
    console.post(f"{path}/archive", data={"archived": "true"})
    before = _roles(app, world.ws_id)

    for url, form in (
        (f"{path}/members", {"user_id": str(world.bystander.id), "role": "member"}),
        (f"{path}/members/{world.member.id}", {"role": "observer"}),
        (f"{path}/members/{world.member.id}/remove", {}),
    ):
        response = console.post(url, data=form)
        assert response.status_code == 409, url
        assert "restore it before changing its members" in _html(response)
    assert _roles(app, world.ws_id) == before


# --- members --------------------------------------------------------------------------


def test_the_group_page_lists_members_with_their_roles(console, world):
    html = _html(console.get(f"/console/groups/{world.ws_id}"))

    names = re.findall(r'<th scope="row"><a href="/console/users/\d+">([^<]+)</a>', html)
    assert names == ["Coordinator Person", "Member Person", "Observer Person"]
    assert f'<select id="role-{world.member.id}" name="role">' in html
    assert '<option value="member" selected>Member</option>' in html
    assert f'href="/groups/{world.ws_id}"' in html
    add = re.search(r'<select id="user_id".*?</select>', html, re.S).group(0)
    assert "Bystander Person" in add and "Member Person" not in add


def test_adding_a_member_with_a_role(app, console, world):
    response = console.post(
        f"/console/groups/{world.ws_id}/members",
        data={"user_id": str(world.bystander.id), "role": "observer"},
    )

    assert response.status_code == 303
    assert _roles(app, world.ws_id)[world.bystander.id] == "observer"
    page = _html(console.get(response.headers["Location"]))
    assert "Added Bystander Person to the group (role: Observer)." in page


@pytest.mark.parametrize(
    ("form", "field"),
    [({"role": "member"}, "user_id"), ({"user_id": "999999", "role": "member"}, "user_id"),
     ({"user_id": "BYSTANDER", "role": "chief"}, "role")],
)  # fmt: skip
def test_an_addition_that_cannot_be_made_keeps_the_input(app, console, world, form, field):
    form = {k: v.replace("BYSTANDER", str(world.bystander.id)) for k, v in form.items()}
    before = _roles(app, world.ws_id)

    response = console.post(f"/console/groups/{world.ws_id}/members", data=form)

    assert response.status_code == 400
    html = _html(response)
    assert f'id="{field}-error"' in html
    if form.get("user_id") == str(world.bystander.id):
        assert f'<option value="{world.bystander.id}" selected>' in html
    assert _roles(app, world.ws_id) == before


def test_a_deactivated_person_is_not_added(app, console, world):
    with app.app_context():
        secretariat = db.session.get(User, world.secretariat.id)
        accounts.update_user(
            secretariat, db.session.get(User, world.bystander.id), {"active": False}
        )
    page = _html(console.get(f"/console/groups/{world.ws_id}"))
    assert "Bystander Person" not in re.search(
        r'<select id="user_id".*?</select>', page, re.S
    ).group(0)

    response = console.post(
        f"/console/groups/{world.ws_id}/members",
        data={"user_id": str(world.bystander.id), "role": "member"},
    )

    assert response.status_code == 400 and "account is deactivated" in _html(response)
    assert world.bystander.id not in _roles(app, world.ws_id)


def test_changing_a_role_and_removing_a_member(app, console, world):
    path = f"/console/groups/{world.ws_id}/members/{world.member.id}"

    changed = console.post(path, data={"role": "coordinator"})

    assert changed.status_code == 303
    assert _roles(app, world.ws_id)[world.member.id] == "coordinator"
    assert "The role of Member Person is now: Coordinator." in _html(
        console.get(changed.headers["Location"])
    )

    removed = console.post(f"{path}/remove")

    assert removed.status_code == 303 and world.member.id not in _roles(app, world.ws_id)
    assert "Removed Member Person from the group." in _html(
        console.get(removed.headers["Location"])
    )


def test_a_role_that_does_not_exist_changes_nothing(app, console, world):
    response = console.post(
        f"/console/groups/{world.ws_id}/members/{world.member.id}", data={"role": "chief"}
    )

    assert response.status_code == 400 and "Choose one of the options." in _html(response)
    assert _roles(app, world.ws_id)[world.member.id] == "member"


def test_someone_who_is_not_a_member_is_not_found(console, world):
    path = f"/console/groups/{world.ws_id}/members/{world.bystander.id}"
    assert console.post(path, data={"role": "member"}).status_code == 404
    assert console.post(f"{path}/remove").status_code == 404
    assert console.get("/console/groups/999999").status_code == 404


def test_the_secretariat_may_remove_the_last_coordinator_and_is_told(app, console, world):
    path = f"/console/groups/{world.ws_id}"
    response = console.post(f"{path}/members/{world.coordinator.id}/remove")

    assert response.status_code == 303
    assert "This group has no coordinator" in _html(console.get(path))
    make_coordinator = console.post(
        f"{path}/members/{world.member.id}", data={"role": "coordinator"}
    )
    assert make_coordinator.status_code == 303
    assert "This group has no coordinator" not in _html(console.get(path))


def test_a_persons_groups_link_to_the_groups_console_page(console, world):
    html = _html(console.get(f"/console/users/{world.outsider.id}"))
    assert f'href="/console/groups/{world.other_ws_id}">Grupo Reservado de Aduanas</a>' in html
    assert "— Coordinator" in html


def test_a_new_user_appears_among_the_candidates(app, console, world):
    with app.app_context():
        make_user(name="Alba Nueva")
        db.session.remove()
    html = _html(console.get(f"/console/groups/{world.ws_id}"))
    assert "Alba Nueva · user" in html  # no community: the e-mail says who it is

"""Working groups and memberships: who sees what, and the rules coordinators live by."""

from __future__ import annotations

from portal.extensions import db


def test_members_see_only_their_workspaces(as_user, world):
    outsider = as_user(world.outsider).get("/workspaces").get_json()
    member = as_user(world.member).get("/workspaces").get_json()
    admin = as_user(world.secretariat).get("/workspaces").get_json()

    assert [w["id"] for w in outsider["items"]] == [world.other_ws_id]
    assert outsider["total"] == 1
    assert [(w["id"], w["role"]) for w in member["items"]] == [(world.ws_id, "member")]
    assert admin["total"] == 2


def test_me_lists_the_callers_workspaces_with_roles(as_user, world):
    me = as_user(world.coordinator).get("/me").get_json()

    assert me["workspaces"] == [
        {"id": world.ws_id, "name": "Sistemas de Comunidad Portuaria", "role": "coordinator"}
    ]


def test_workspace_shows_member_count_and_role(as_user, world):
    body = as_user(world.observer).get(f"/workspaces/{world.ws_id}").get_json()

    assert body["member_count"] == 3
    assert body["role"] == "observer"
    assert body["slug"] == "sistemas-de-comunidad-portuaria"


def test_coordinator_adds_changes_and_removes_members(as_user, world):
    coordinator = as_user(world.coordinator)
    url = f"/workspaces/{world.ws_id}/members/{world.bystander.id}"

    added = coordinator.put(url, {"role": "observer"})
    promoted = coordinator.put(url, {"role": "member"})
    removed = coordinator.delete(url)

    assert added.status_code == 200 and added.get_json()["role"] == "observer"
    assert promoted.get_json()["role"] == "member"
    assert removed.status_code == 200
    verbs = [
        e["verb"]
        for e in as_user(world.secretariat)
        .get(f"/audit?workspace_id={world.ws_id}&per_page=100")
        .get_json()["items"]
    ]
    assert verbs[:3] == ["member.removed", "member.role_changed", "member.added"]


def test_new_member_reads_the_workspace_at_once_and_loses_it_on_removal(as_user, world):
    bystander = as_user(world.bystander)
    coordinator = as_user(world.coordinator)
    url = f"/workspaces/{world.ws_id}/members/{world.bystander.id}"
    assert bystander.get(f"/workspaces/{world.ws_id}").status_code == 404

    coordinator.put(url, {"role": "member"})
    assert bystander.get(f"/workspaces/{world.ws_id}").status_code == 200

    coordinator.delete(url)
    assert bystander.get(f"/workspaces/{world.ws_id}").status_code == 404


def test_last_coordinator_cannot_leave_or_step_down(as_user, world):
    coordinator = as_user(world.coordinator)
    url = f"/workspaces/{world.ws_id}/members/{world.coordinator.id}"

    step_down = coordinator.put(url, {"role": "member"})
    leave = coordinator.delete(url)

    assert step_down.status_code == 409 and leave.status_code == 409
    assert coordinator.get(f"/workspaces/{world.ws_id}").get_json()["role"] == "coordinator"


def test_coordinator_may_step_down_once_another_is_appointed(as_user, world):
    coordinator = as_user(world.coordinator)
    coordinator.put(f"/workspaces/{world.ws_id}/members/{world.member.id}", {"role": "coordinator"})

    response = coordinator.put(
        f"/workspaces/{world.ws_id}/members/{world.coordinator.id}", {"role": "member"}
    )

    assert response.status_code == 200


def test_adding_an_unknown_or_deactivated_user(as_user, world):
    admin = as_user(world.secretariat)
    admin.patch(f"/users/{world.bystander.id}", {"active": False})

    unknown = admin.put(f"/workspaces/{world.ws_id}/members/9999", {"role": "member"})
    inactive = admin.put(
        f"/workspaces/{world.ws_id}/members/{world.bystander.id}", {"role": "member"}
    )

    assert unknown.status_code == 404
    assert inactive.status_code == 400


def test_archived_workspace_stays_readable_and_takes_no_changes(as_user, world):
    admin = as_user(world.secretariat)

    archived = admin.delete(f"/workspaces/{world.ws_id}")
    change = admin.put(
        f"/workspaces/{world.ws_id}/members/{world.bystander.id}", {"role": "member"}
    )
    read = as_user(world.member).get(f"/workspaces/{world.ws_id}")
    restored = admin.patch(f"/workspaces/{world.ws_id}", {"archived": False})

    assert archived.get_json()["archived_at"] is not None
    assert change.status_code == 409
    assert read.status_code == 200
    assert restored.get_json()["archived_at"] is None


def test_workspace_slug_conflict(as_user, world):
    admin = as_user(world.secretariat)

    body = {"name": "Otro", "slug": "sistemas-de-comunidad-portuaria"}
    response = admin.post("/workspaces", body)

    assert response.status_code == 409


def test_a_long_workspace_name_taken_twice_gets_a_slug_that_fits(as_user, world):
    admin = as_user(world.secretariat)
    name = "0" * 160

    created = [admin.post("/workspaces", {"name": name}) for _ in range(3)]

    assert [response.status_code for response in created] == [201, 201, 201]
    assert [response.get_json()["slug"] for response in created] == [
        "0" * 80,
        "0" * 78 + "-2",
        "0" * 78 + "-3",
    ]


def test_hidden_workspace_404_is_identical_to_a_missing_one(as_user, world):
    outsider = as_user(world.outsider)

    hidden = outsider.get(f"/workspaces/{world.ws_id}")
    missing = outsider.get("/workspaces/9999")

    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json() == missing.get_json()


def test_a_role_read_again_in_one_request_is_what_the_session_says(app, world):
    """role_in holds the membership for the request (a page asks several times); a
    change or a removal made meanwhile is what it answers next."""
    from portal.accounts.models import User
    from portal.permissions import role_in
    from portal.workspaces import service as workspaces
    from portal.workspaces.models import Membership, Role, Workspace

    with app.test_request_context():
        member = db.session.get(User, world.member.id)
        secretariat = db.session.get(User, world.secretariat.id)
        workspace = db.session.get(Workspace, world.ws_id)
        assert role_in(member, world.ws_id) == Role.member
        workspaces.set_membership(secretariat, workspace, member, Role.coordinator)
        assert role_in(member, world.ws_id) == Role.coordinator
        membership = db.session.get(Membership, (world.ws_id, member.id))
        workspaces.remove_membership(secretariat, workspace, membership)
        assert role_in(member, world.ws_id) is None

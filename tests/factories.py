"""Test data made through the real services, so it passes real validation."""

from __future__ import annotations

import functools
import itertools
from types import SimpleNamespace
from typing import Any

from portal.accounts import service as accounts
from portal.network import service as network
from portal.workspaces import service as workspaces
from portal.workspaces.models import Role

_serial = itertools.count(1)


def user_ref(user: Any) -> SimpleNamespace:
    """What tests keep of a user once the session that loaded it is gone."""
    return SimpleNamespace(id=user.id, email=user.email, name=user.name, session_id=user.get_id())


def make_user(*, password: str | None = None, secretariat: bool = False, **fields: Any) -> Any:
    n = next(_serial)
    fields.setdefault("email", f"user{n}@ports.example")
    fields.setdefault("name", f"Test User {n}")
    return accounts.create_user(None, password=password, is_secretariat=secretariat, **fields)


def make_community(state: str = "CO", **fields: Any) -> Any:
    from portal.extensions import db
    from portal.network.models import MemberState

    if db.session.get(MemberState, state) is None:
        network.create_member_state(None, state, {"CO": "Colombia"}.get(state, f"State {state}"))
    n = next(_serial)
    fields.setdefault("name", f"Comunidad Portuaria {n}")
    fields.setdefault("port", f"Puerto {n}")
    return network.create_community(None, member_state=state, **fields)


def make_world() -> SimpleNamespace:
    """Workspace `ws` with a coordinator, a member and an observer; `other_ws` with
    the outsider as its coordinator; a secretariat user; one community. Its people read
    the portal in Spanish (a new account has no language until its first sign-in)."""
    community = make_community()
    make_person = functools.partial(make_user, locale="es")
    secretariat = make_person(secretariat=True, name="Secretaría Técnica")
    ws = workspaces.create_workspace(secretariat, name="Sistemas de Comunidad Portuaria")
    other_ws = workspaces.create_workspace(secretariat, name="Grupo Reservado de Aduanas")
    people = {}
    for role in Role:
        person = make_person(name=f"{role.value.title()} Person", community_id=community.id)
        workspaces.set_membership(secretariat, ws, person, role)
        people[role.value] = person
    outsider = make_person(name="Outsider Person")
    workspaces.set_membership(secretariat, other_ws, outsider, Role.coordinator)
    bystander = make_person(name="Bystander Person")
    return SimpleNamespace(
        community_id=community.id,
        ws_id=ws.id,
        other_ws_id=other_ws.id,
        secretariat=user_ref(secretariat),
        coordinator=user_ref(people["coordinator"]),
        member=user_ref(people["member"]),
        observer=user_ref(people["observer"]),
        outsider=user_ref(outsider),
        bystander=user_ref(bystander),
        anonymous=None,
    )


def make_item_world() -> SimpleNamespace:
    """`make_world` plus a memo of `ws` written by its member, shared with a group for
    view (whose member is `viewer`) and one for edit (`editor`), and a trashed memo."""
    from portal.accounts.models import User
    from portal.extensions import db
    from portal.memos import service as memos_service
    from portal.workspaces import items_service
    from portal.workspaces.models import SharePermission, Workspace

    world = make_world()
    secretariat = db.session.get(User, world.secretariat.id)
    author = db.session.get(User, world.member.id)
    coordinator = db.session.get(User, world.coordinator.id)
    ws = db.session.get(Workspace, world.ws_id)
    groups = {}
    for name, permission in (("viewer", SharePermission.view), ("editor", SharePermission.edit)):
        group = workspaces.create_workspace(secretariat, name=f"Grupo {name}")
        person = make_user(name=f"{name.title()} Person")
        workspaces.set_membership(secretariat, group, person, Role.member)
        groups[name] = (group, person, permission)
    memo = memos_service.create_memo(
        author, ws, title="Hoja de ruta de la Ventanilla Única", body="Primera versión"
    )
    for group, _person, permission in groups.values():
        items_service.share(coordinator, memo, group, permission)
    trashed = memos_service.create_memo(author, ws, title="Borrador descartado", body="x")
    items_service.move_to_trash(coordinator, trashed)
    world.memo_id = memo.id
    world.trashed_id = trashed.id
    world.view_ws_id = groups["viewer"][0].id
    world.edit_ws_id = groups["editor"][0].id
    world.viewer = user_ref(groups["viewer"][1])
    world.editor = user_ref(groups["editor"][1])
    return world

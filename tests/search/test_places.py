"""The names of an item's community, port and member state find it, in staff and public
search, and follow a renamed community or a person who changed community."""

from __future__ import annotations

import pytest

from portal.extensions import db


def _hits(client, path, text):
    response = client.get(path, query_string={"q": text, "per_page": 50})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def _community_world(world):
    """A member of `ws` from the Manzanillo community (Mexico) with a memo, and the memo of
    `ws`'s member from the world's Colombian community."""
    from portal.accounts.models import User
    from portal.memos import service as memos_service
    from portal.network import service as network
    from portal.workspaces import service as workspaces
    from portal.workspaces.models import Role, Workspace

    from ..factories import make_user, user_ref

    network.create_member_state(None, "MX", "México")
    community = network.create_community(
        None, name="Comunidad Portuaria de Manzanillo", port="Manzanillo", member_state="MX"
    )
    secretariat = db.session.get(User, world.secretariat.id)
    ws = db.session.get(Workspace, world.ws_id)
    author = make_user(name="Autora de Manzanillo", community_id=community.id)
    workspaces.set_membership(secretariat, ws, author, Role.member)
    memo = memos_service.create_memo(author, ws, title="Calado del canal", body="Dragado")
    other = memos_service.create_memo(
        db.session.get(User, world.member.id), ws, title="Calado en Cartagena", body="Dragado"
    )
    return community.id, user_ref(author), memo.id, other.id


@pytest.mark.parametrize(
    "query",
    ["manzanillo", "Manzanillo", "comunidad portuaria de manzanillo", "México", "mexico",
     "Mexique", "manza"],
)  # fmt: skip
def test_community_port_and_member_state_names_find_the_items_from_there(
    app, api, as_user, item_world, sync, publish, query
):
    with app.app_context():
        _community_id, _author, memo_id, other_id = _community_world(item_world)
        db.session.remove()
    publish(item_world, memo_id)
    publish(item_world, other_id)
    sync()

    public = _hits(api, "/public/search", query)
    staff = _hits(as_user(item_world.member), "/search", query)

    assert [hit["id"] for hit in public] == [memo_id]
    assert [hit["id"] for hit in staff] == [memo_id]
    assert public[0]["community"] == "comunidad-portuaria-de-manzanillo"


def test_a_renamed_community_is_found_by_its_new_names(
    app, api, as_user, item_world, sync, publish
):
    from portal.accounts import service as accounts
    from portal.accounts.models import User
    from portal.network import service as network
    from portal.network.models import Community

    with app.app_context():
        community_id, author, memo_id, _other = _community_world(item_world)
        db.session.remove()
    publish(item_world, memo_id)
    sync()
    with app.app_context():
        secretariat = db.session.get(User, item_world.secretariat.id)
        community = db.session.get(Community, community_id)
        network.update_community(
            secretariat, community, {"name": "Comunidad Logística de Colima", "port": "Colima"}
        )
        db.session.remove()
    sync()
    member = as_user(item_world.member)

    for client, path in ((api, "/public/search"), (member, "/search")):
        assert [hit["id"] for hit in _hits(client, path, "colima")] == [memo_id]
        assert _hits(client, path, "manzanillo") == []

    with app.app_context():  # the author moves to the world's Colombian community
        accounts.update_user(
            db.session.get(User, item_world.secretariat.id),
            db.session.get(User, author.id),
            {"community_id": item_world.community_id},
        )
        db.session.remove()
    sync()

    assert _hits(member, "/search", "colima") == []
    assert memo_id in {hit["id"] for hit in _hits(member, "/search", "colombia")}


def test_a_word_in_the_text_ranks_above_the_same_word_in_the_community_name(
    app, as_user, item_world, sync
):
    from portal.accounts.models import User
    from portal.memos import service as memos_service
    from portal.workspaces import service as workspaces
    from portal.workspaces.models import Role, Workspace

    from ..factories import make_user

    with app.app_context():
        _community_id, _author, from_there, _other = _community_world(item_world)
        ws = db.session.get(Workspace, item_world.ws_id)
        nowhere = make_user(name="Sin comunidad")
        workspaces.set_membership(
            db.session.get(User, item_world.secretariat.id), ws, nowhere, Role.member
        )
        in_text = memos_service.create_memo(
            nowhere, ws, title="Estrategia", body="La estrategia portuaria de la región"
        ).id
        db.session.remove()
    sync()

    hits = _hits(as_user(item_world.member), "/search", "portuaria")

    assert hits[0]["id"] == in_text and from_there in [hit["id"] for hit in hits]
    assert hits[0]["score"] > max(hit["score"] for hit in hits[1:])

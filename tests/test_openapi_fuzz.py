"""Schemathesis over every operation of /api/v1/openapi.json, as each role.

Each (operation, role) pair is one test. Roles: anonymous, and by API token an
observer, a member and the coordinator of a working group, and the
secretariat. Every test starts from the same world (see `_build_world`), built
once and restored before each test, so what one test changes the next does
not see. Hypothesis draws valid and invalid requests from the document
(schemathesis' positive and negative generation); ids in paths, query strings
and bodies are often swapped for ids of the world's real objects, so requests
get past the 404s. A response fails the test when it is a 5xx or breaks the
document: status, content type, headers, body schema.

Bounded for CI: PORTAL_FUZZ_EXAMPLES examples per pair (default 4, about 1,700
requests and 1.5 minutes of CPU per database), each pair with a seed of its
own so every run sends the same requests. Deeper, locally:
`PORTAL_FUZZ_EXAMPLES=50 .venv/bin/pytest tests/test_openapi_fuzz.py`.
"""

from __future__ import annotations

import os
import tempfile
import zlib
from types import SimpleNamespace
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from portal import create_app
from portal.api import openapi_document
from portal.extensions import db

from .conftest import TEST_SETTINGS, ApiClient, empty_tables, sign_in_session

EXAMPLES = int(os.environ.get("PORTAL_FUZZ_EXAMPLES", "4"))
ROLES = ("anonymous", "observer", "member", "coordinator", "secretariat")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=EXAMPLES,
    database=None,
    deadline=None,
    # No shrinking: it would replay requests on a world the failing ones changed.
    phases=[Phase.generate],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


def _load_schema() -> Any:
    """The document the app serves, from an app of its own (tests are made at collection)."""
    with tempfile.TemporaryDirectory() as instance:
        app = create_app({"INSTANCE_PATH": instance, "DATABASE_URL": "sqlite://", **TEST_SETTINGS})
        return schemathesis.openapi.from_dict(openapi_document(app))


OPERATIONS = [result.ok() for result in _load_schema().get_all_operations()]

# The real objects that a path parameter, query parameter or body field of this name names.
REAL_IDS = {
    "workspace_id": "workspaces",
    "user_id": "users",
    "presenter_id": "users",
    "assignee": "users",
    "assignee_ids": "users",
    "actor": "users",
    "item_id": "items",
    "memo_id": "memos",
    "task_id": "tasks",
    "meeting_id": "meetings",
    "document_id": "documents",
    "agenda_item_id": "agenda_items",
    "ids": "agenda_items",
    "community_id": "communities",
    "token_id": "api_tokens",
    "number": "numbers",
    "version": "numbers",
    "code": "member_states",
    "member_state": "member_states",
    "token": "calendar_tokens",
}


def _build_world(app: Any) -> SimpleNamespace:
    """`make_planning_world` (memo, task, meeting with its agenda, shares, a trashed memo)
    plus a published document and memo, a task awaiting review, a comment, a calendar
    token, an API token per role, and the ids of it all by kind."""
    from portal.accounts import service as accounts
    from portal.accounts.models import ApiToken, User
    from portal.documents.models import Document
    from portal.meetings.models import AgendaItem, Meeting
    from portal.memos.models import Memo
    from portal.network.models import Community, MemberState
    from portal.tasks.models import Task
    from portal.workspaces.models import Item, Workspace

    from .documents.conftest import upload
    from .workspaces.planning_world import make_planning_world

    with app.app_context():
        world = make_planning_world()
        db.session.remove()

    def client(user: Any) -> ApiClient:
        signed_in = ApiClient(app.test_client())
        sign_in_session(signed_in.client, user)
        signed_in.fetch_csrf()
        return signed_in

    def ok(response: Any) -> Any:
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()

    coordinator, member = client(world.coordinator), client(world.member)
    document = upload(coordinator, world.ws_id, b"Informe de transbordo", "informe.txt")
    document_id = ok(document)["id"]
    for item_id in (document_id, world.memo_id, world.task_id):
        ok(coordinator.post(f"/items/{item_id}/publication", {"action": "submit"}))
    for item_id in (document_id, world.memo_id):
        ok(client(world.secretariat).post(f"/items/{item_id}/publication", {"action": "approve"}))
    ok(member.post(f"/items/{world.memo_id}/comments", {"body": "Visto"}))
    calendar_token = ok(member.post("/me/calendar-token"))["token"]
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    with app.app_context():
        for role in ROLES[1:]:
            user = db.session.get(User, getattr(world, role).id)
            headers[role] = {"Authorization": f"Bearer {accounts.create_token(user, role, 1)[1]}"}
        db.session.commit()
        kinds = {
            "workspaces": Workspace.id,
            "users": User.id,
            "items": Item.id,
            "documents": Document.id,
            "memos": Memo.id,
            "tasks": Task.id,
            "meetings": Meeting.id,
            "agenda_items": AgendaItem.id,
            "communities": Community.id,
            "api_tokens": ApiToken.id,
            "member_states": MemberState.code,
        }
        pools = {kind: db.session.scalars(select(column)).all() for kind, column in kinds.items()}
        db.session.remove()
    pools |= {"numbers": [1, 2], "calendar_tokens": [calendar_token]}
    return SimpleNamespace(headers=headers, pools=pools)


@pytest.fixture(scope="module")
def world_snapshot(app: Any) -> tuple[SimpleNamespace, dict[Any, list[dict[str, Any]]]]:
    """The world, built once, and every row of it, to restore before each test."""
    world = _build_world(app)
    with app.app_context(), db.engine.connect() as conn:
        rows = {
            table: [dict(row._mapping) for row in conn.execute(table.select())]
            for table in db.metadata.sorted_tables
        }
    empty_tables(app)
    return world, rows


@pytest.fixture
def fuzz_world(app: Any, world_snapshot: Any) -> SimpleNamespace:
    """The world's rows, inserted again (`clean_database` empties the tables after each
    test): building it anew for each of the 450 tests would take twenty minutes."""
    world, rows = world_snapshot
    with app.app_context(), db.engine.begin() as conn:
        for table, table_rows in rows.items():
            if table_rows:
                conn.execute(table.insert(), table_rows)
    return world


def _aim(container: Any, pools: dict[str, list[Any]], data: st.DataObject) -> None:
    """Swap generated ids for real ones now and then (the generated value stays a choice)."""
    if not isinstance(container, dict):
        return
    for name, value in container.items():
        pool = pools.get(REAL_IDS.get(name, ""))
        if not pool:
            continue
        if isinstance(value, list):
            if data.draw(st.booleans(), label=f"real {name}"):
                container[name] = data.draw(st.lists(st.sampled_from(pool), max_size=3))
        else:
            container[name] = data.draw(st.sampled_from([*pool, value]), label=name)


def _requests(operation: Any) -> st.SearchStrategy[Any]:
    """Valid and invalid requests of the operation."""
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    return st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in modes))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_every_answer_is_documented_and_no_server_error(app, fuzz_world, operation, role):
    @FUZZ
    @seed(zlib.crc32(f"{operation.label} as {role}".encode()))  # the same requests every run
    @given(case=_requests(operation), data=st.data())
    def send(case: Any, data: st.DataObject) -> None:
        for container in (case.path_parameters, case.query, case.body):
            _aim(container, fuzz_world.pools, data)
        response = case.call(app=app, headers=fuzz_world.headers[role])
        case.validate_response(response, checks=CHECKS)

    send()

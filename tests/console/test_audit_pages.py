"""The console's audit log: who may see it, each filter, the sentences in the viewer's
language, the CSV export (its content, its filters, no formula injection), and that the
page and `GET /api/v1/audit` read the log through one query."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from portal.accounts.models import User
from portal.events import Event
from portal.extensions import db
from portal.memos import service as memos
from portal.workspaces.models import Workspace

from ..pages.test_work_pages import recorded_verbs

ROLES_REFUSED = ["outsider", "observer", "member", "coordinator"]
PATHS = ["/console/audit", "/console/audit.csv"]


def english(as_user, user):
    client = as_user(user).client
    client.set_cookie("portal_lang", "en")
    return client


@pytest.fixture
def log(app, world) -> SimpleNamespace:
    """`world` plus two memos written by its member and its coordinator (the second titled
    like a spreadsheet formula), the first backdated to 4 March 2026 03:00 UTC (the evening
    of 3 March in Panama, the secretariat's timezone)."""
    with app.app_context():
        ws = db.session.get(Workspace, world.ws_id)
        plan = memos.create_memo(
            db.session.get(User, world.member.id), ws, title="Plan de tarifas", body="x"
        )
        formula = memos.create_memo(
            db.session.get(User, world.coordinator.id),
            ws,
            title='=HYPERLINK("http://evil.example","clic")',
            body="y",
        )
        db.session.execute(
            update(Event)
            .where(Event.item_id == plan.id)
            .values(at=datetime(2026, 3, 4, 3, 0, tzinfo=UTC))
        )
        db.session.execute(
            update(User).where(User.id == world.secretariat.id).values(timezone="America/Panama")
        )
        db.session.commit()
        world.plan_id, world.formula_id = plan.id, formula.id
        return world


def event_count(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Event.id)).all())


# --- who may see it ---------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("role", [*ROLES_REFUSED, "secretariat"])
def test_only_the_secretariat_reads_the_audit_log(as_user, world, role, path):
    response = english(as_user, getattr(world, role)).get(path)

    if role == "secretariat":
        assert response.status_code == 200
    else:
        assert response.status_code == 404
        assert "Secretaría" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", PATHS)
def test_a_visitor_is_sent_to_sign_in(app, path):
    response = app.test_client().get(path)

    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_console_menu_leads_to_the_audit_log(as_user, world):
    html = english(as_user, world.secretariat).get("/console").get_data(as_text=True)

    assert 'href="/console/audit"' in html and 'href="/console/health"' in html


# --- the list ---------------------------------------------------------------------------


def rows_of(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


def test_every_event_reads_as_a_sentence_newest_first(as_user, log):
    html = english(as_user, log.secretariat).get("/console/audit").get_data(as_text=True)
    rows = rows_of(html)

    assert "Coordinator Person wrote the memo" in rows[0]
    assert f'href="/memos/{log.formula_id}"' in rows[0]
    assert f'<a href="/groups/{log.ws_id}">Sistemas de Comunidad Portuaria</a>' in rows[0]
    assert any(
        "Secretaría Técnica created the working group Grupo Reservado de Aduanas" in r for r in rows
    )
    assert not any("item.created" in row or "workspace.created" in row for row in rows)
    # Times are the viewer's: 03:00 UTC is 22:00 the day before in Panama.
    assert "Mar 3, 2026, 10:00:00" in html


def test_the_sentences_are_in_the_viewers_language(as_user, log):
    client = as_user(log.secretariat).client
    client.set_cookie("portal_lang", "es")

    html = client.get("/console/audit").get_data(as_text=True)

    assert "Coordinator Person escribió el memorando" in html
    assert "Secretaría Técnica creó el grupo de trabajo Grupo Reservado de Aduanas" in html


def test_pages_of_fifty(app, as_user, world):
    from portal.events import record

    with app.app_context():
        actor = db.session.get(User, world.bystander.id)
        for _ in range(60):
            record("auth.login", actor=actor)
        db.session.commit()
    total = event_count(app)
    client = english(as_user, world.secretariat)

    first = client.get("/console/audit").get_data(as_text=True)
    last_page = (total + 49) // 50
    last = client.get(f"/console/audit?page={last_page}").get_data(as_text=True)

    assert len(rows_of(first)) == 50 and f"{total} events" in first
    assert f"Page 1 of {last_page}" in first and 'rel="next"' in first
    assert len(rows_of(last)) == total - 50 * (last_page - 1)


# --- the filters ------------------------------------------------------------------------


def filtered(as_user, world, **query) -> str:
    response = english(as_user, world.secretariat).get("/console/audit", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def test_filter_by_actor(as_user, log):
    html = filtered(as_user, log, actor=log.member.id)

    assert len(rows_of(html)) == 1 and "Member Person wrote the memo" in html
    assert f'<option value="{log.member.id}" selected>Member Person ({log.member.email})' in html


@pytest.mark.parametrize(
    ("verb", "expected"),
    [("item.created", 2), ("item.", 2), ("workspace.created", 2), ("member.added", 4),
     ("publication.", 0)],
)  # fmt: skip
def test_filter_by_verb(as_user, log, verb, expected):
    html = filtered(as_user, log, verb=verb)

    assert len(rows_of(html)) == expected
    assert f'<option value="{verb}" selected>' in html


def test_the_verbs_are_named_and_grouped(as_user, log):
    from portal.console.audit import VERB_GROUPS

    html = filtered(as_user, log)

    assert '<optgroup label="Working groups">' in html
    assert '<option value="workspace.">Working groups: all</option>' in html
    assert '<option value="item.deleted">Item moved to the trash</option>' in html
    # Every verb the portal records can be chosen, at least by its noun.
    prefixes = {prefix for _group, prefix, _verbs in VERB_GROUPS}
    assert {v for v in recorded_verbs() if v.split(".")[0] + "." not in prefixes} == set()


@pytest.mark.parametrize("item", ["id", "tarifas", "PLAN DE"])
def test_filter_by_item_id_or_title(as_user, log, item):
    html = filtered(as_user, log, item=str(log.plan_id) if item == "id" else item)

    assert len(rows_of(html)) == 1 and "Plan de tarifas" in html


def test_a_title_filter_is_not_a_pattern(as_user, log):
    assert rows_of(filtered(as_user, log, item="%")) == []


def test_filter_by_working_group(as_user, log):
    html = filtered(as_user, log, workspace_id=log.other_ws_id)

    rows = rows_of(html)
    assert rows and all("Grupo Reservado de Aduanas" in row for row in rows)
    assert not any("wrote the memo" in row for row in rows)


@pytest.mark.parametrize(
    ("days", "plan_shown"),
    [({"to_date": "2026-03-03"}, True), ({"from_date": "2026-03-04"}, False),
     ({"from_date": "2026-03-03", "to_date": "2026-03-03"}, True),
     ({"to_date": "2026-03-02"}, False)],
)  # fmt: skip
def test_filter_by_days_in_the_viewers_timezone(as_user, log, days, plan_shown):
    html = filtered(as_user, log, **days)

    assert ("Plan de tarifas" in html) is plan_shown
    if "to_date" in days:  # only the backdated memo is that old
        assert len(rows_of(html)) == (1 if plan_shown else 0)


def test_filters_combine(as_user, log):
    html = filtered(as_user, log, actor=log.coordinator.id, verb="item.", workspace_id=log.ws_id)

    assert len(rows_of(html)) == 1 and "HYPERLINK" in html


@pytest.mark.parametrize(
    ("query", "field", "rows"),
    [({"verb": "drop.table"}, "verb", 1), ({"from_date": "yesterday"}, "from_date", 1),
     ({"actor": "ana"}, "actor", 1),
     # The first day stays: the memo of 3 March is before it.
     ({"from_date": "2026-03-05", "to_date": "2026-03-01"}, "to_date", 0)],
)  # fmt: skip
def test_a_filter_that_cannot_be_read_is_named_and_the_rest_apply(as_user, log, query, field, rows):
    client = english(as_user, log.secretariat)

    response = client.get("/console/audit", query_string={**query, "item": "tarifas"})

    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field}-error"' in html and 'aria-invalid="true"' in html
    if field.endswith("_date"):  # what was typed stays in its field
        assert f'name="{field}" value="{query[field]}"' in html
    assert len(rows_of(html)) == rows


def test_the_page_and_the_api_read_the_same_log(as_user, log):
    query = {"actor": log.coordinator.id, "item": "hyperlink", "workspace_id": log.ws_id}
    client = english(as_user, log.secretariat)

    api = as_user(log.secretariat).get("/audit", query_string=query).get_json()
    html = client.get("/console/audit", query_string=query).get_data(as_text=True)

    assert [e["item_id"] for e in api["items"]] == [log.formula_id]
    assert len(rows_of(html)) == 1


# --- CSV --------------------------------------------------------------------------------


def csv_of(as_user, world, language="en", **query):
    client = as_user(world.secretariat).client
    client.set_cookie("portal_lang", language)
    response = client.get("/console/audit.csv", query_string=query)
    assert response.status_code == 200
    assert response.is_streamed  # not built in memory
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return response, list(csv.reader(io.StringIO(text[1:])))


def test_the_csv_holds_the_filtered_log(app, as_user, log):
    response, rows = csv_of(as_user, log, item="tarifas")

    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="audit-log-\d{4}-\d\d-\d\d-\d{4}\.csv"', disposition)
    assert rows[0] == ["Time (UTC)", "Actor", "E-mail", "Verb", "What happened",
                       "Working group", "Item id", "Item title"]  # fmt: skip
    assert rows[1:] == [[
        "2026-03-04T03:00:00+00:00", "Member Person", log.member.email, "item.created",
        "Member Person wrote the memo “Plan de tarifas”", "Sistemas de Comunidad Portuaria",
        str(log.plan_id), "Plan de tarifas",
    ]]  # fmt: skip


def test_the_csv_holds_every_event_without_filters(app, as_user, log):
    _response, rows = csv_of(as_user, log)

    assert len(rows) == 1 + event_count(app)
    ids = [int(r[6]) for r in rows[1:] if r[6]]
    assert ids == [log.formula_id, log.plan_id]


def test_the_csv_is_in_the_viewers_language(as_user, log):
    _response, rows = csv_of(as_user, log, language="es", item=str(log.plan_id))

    assert rows[1][4] == "Member Person escribió el memorando “Plan de tarifas”"


def test_the_csv_reads_in_batches(as_user, log, monkeypatch):
    from portal.console import audit

    monkeypatch.setattr(audit, "CSV_BATCH", 2)

    _response, rows = csv_of(as_user, log)
    _response, unbatched = csv_of(as_user, log)

    assert len({row[0] + row[4] for row in rows[1:]}) == len(rows) - 1
    assert rows == unbatched


def test_no_cell_of_the_csv_reads_as_a_formula(app, as_user, log):
    with app.app_context():
        db.session.execute(update(User).where(User.id == log.coordinator.id).values(name="@SUM(1)"))
        db.session.commit()

    _response, rows = csv_of(as_user, log, item=str(log.formula_id))

    (row,) = rows[1:]
    assert row[1] == "'@SUM(1)"
    assert row[4].startswith("'@SUM(1) wrote the memo")
    assert row[7] == '\'=HYPERLINK("http://evil.example","clic")'
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)


@pytest.mark.parametrize("value", ["-2+3", "+1", "\t=1", "=1", "@x", "plain", 5])
def test_safe_cell(value):
    from portal.console.audit import safe_cell

    shown = safe_cell(value)

    assert shown == value if value in ("plain", 5) else shown == "'" + value


def test_a_control_character_in_the_item_filter_is_refused(as_user, log):
    api = as_user(log.secretariat).get("/audit", query_string={"item": "plan\x00"})
    page = english(as_user, log.secretariat).get("/console/audit?item=plan%00")

    assert api.status_code == 400 and "item" in api.get_json()["error"]["fields"]
    assert page.status_code == 400

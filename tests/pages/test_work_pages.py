"""My work, notifications, a group's activity and the signed-in search, as each role sees
them: only what the viewer may read in every list, count and hit; activity as sentences."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask_login import login_user
from markupsafe import Markup
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.events import Event, utcnow
from portal.extensions import db
from portal.meetings import service as meetings_service
from portal.memos import service as memos_service
from portal.tasks import service as tasks_service
from portal.tasks.models import TaskStatus
from portal.workspaces import items_service
from portal.workspaces.models import Item, SharePermission, Workspace

from ..workspaces.test_item_queries import count_queries

ENGLISH = {"Cookie": "portal_lang=en"}


@pytest.fixture
def work(app, world):
    """In `ws`: a memo by the member that the coordinator commented on (a notification
    for the member), tasks assigned to the member (overdue, later, done), a meeting
    tomorrow. In `other_ws`: the outsider's secret memo, task and meeting."""
    with app.app_context():
        people = {name: db.session.get(User, getattr(world, name).id) for name in (
            "member", "coordinator", "outsider", "secretariat")}  # fmt: skip
        ws = db.session.get(Workspace, world.ws_id)
        other = db.session.get(Workspace, world.other_ws_id)
        member, coordinator, outsider = people["member"], people["coordinator"], people["outsider"]
        memo = memos_service.create_memo(member, ws, title="Acta de la reunión", body="Texto")
        items_service.add_comment(coordinator, memo, "Revisado")
        today = date.today()
        late = tasks_service.create_task(
            coordinator, ws, title="Tarea atrasada", due_date=today - timedelta(days=3),
            assignees=[member])  # fmt: skip
        later = tasks_service.create_task(
            coordinator, ws, title="Tarea futura", due_date=today + timedelta(days=9),
            assignees=[member])  # fmt: skip
        done = tasks_service.create_task(coordinator, ws, title="Tarea hecha", assignees=[member])
        tasks_service.update_task(coordinator, done, {"status": TaskStatus.done})
        start = utcnow().replace(microsecond=0) + timedelta(days=1)
        meetings_service.create_meeting(
            coordinator, ws, title="Reunión de seguimiento", starts_at=start,
            ends_at=start + timedelta(hours=1), timezone="America/Bogota")  # fmt: skip
        secret = memos_service.create_memo(outsider, other, title="Secreto aduanero", body="x")
        tasks_service.create_task(outsider, other, title="Tarea reservada", assignees=[outsider])
        meetings_service.create_meeting(
            outsider, other, title="Reunión reservada", starts_at=start,
            ends_at=start + timedelta(hours=1), timezone="America/Bogota")  # fmt: skip
        world.memo_id, world.secret_id = memo.id, secret.id
        world.late_id, world.later_id = late.id, later.id
        db.session.remove()
    return world


def _client(app, user, cookie=ENGLISH):
    from ..conftest import sign_in_session

    client = app.test_client()
    if user is not None:
        sign_in_session(client, user)
    client.set_cookie("portal_lang", "en")
    return client


def _get(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


def _unlinked(html: str) -> str:
    """The page without its links' tags: a sentence reads the same whether or not its
    item's kind has pages."""
    return re.sub(r"</?a\b[^>]*>", "", html)


def _section(html: str, title_id: str) -> str:
    """The card of a page whose heading has this id."""
    return html.split(f'id="{title_id}"')[1].split("</section>")[0]


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


SECRETS = ("Secreto aduanero", "Tarea reservada", "Reunión reservada", "Grupo Reservado")


# --- My work ------------------------------------------------------------------------------


def test_my_work_shows_my_groups_tasks_by_due_date_meetings_notifications_and_changes(app, work):
    html = _unlinked(_get(_client(app, work.member), "/work"))

    tasks = _section(html, "tasks-title")
    assert "Sistemas de Comunidad Portuaria" in _section(html, "groups-title")
    assert tasks.index("Tarea atrasada") < tasks.index("Tarea futura")
    assert "Overdue since" in tasks and "Tarea hecha" not in tasks
    assert "Reunión de seguimiento" in _section(html, "meetings-title")
    notifications = _section(html, "notifications-title")
    assert "Coordinator Person commented on <q>Acta de la reunión</q>" in _unlinked(notifications)
    changes = _section(html, "changes-title")
    assert "Coordinator Person created the task <q>Tarea atrasada</q>" in _unlinked(changes)
    for secret in SECRETS:
        assert secret not in html


def test_my_work_of_an_outsider_shows_nothing_of_the_other_group(app, work):
    html = _get(_client(app, work.outsider), "/work")

    assert "Tarea reservada" in html and "Reunión reservada" in html
    for name in ("Acta de la reunión", "Tarea atrasada", "Reunión de seguimiento"):
        assert name not in html


def test_my_work_lists_only_what_others_did_since_my_previous_sign_in(app, work):
    from portal.accounts.models import UserSession

    client = _client(app, work.member)
    with app.app_context():
        (row,) = db.session.scalars(select(UserSession)).all()
        row.previous_sign_in_at = utcnow()
        db.session.commit()
        memos_service.create_memo(
            db.session.get(User, work.coordinator.id),
            db.session.get(Workspace, work.ws_id),
            title="Nota nueva",
            body="x",
        )
        db.session.remove()

    html = _unlinked(_get(client, "/work"))

    assert "Coordinator Person wrote the memo <q>Nota nueva</q>" in html
    assert "Tarea atrasada" not in _section(html, "changes-title")  # before that sign-in
    assert "Since you last signed in" in html


def test_my_work_reads_when_i_last_signed_in_with_my_session(app, work):
    """The session row the user loader read holds it: no query of the audit log, for
    the page or for its changes' refresh, and the row is not read a second time."""
    client = _client(app, work.member)
    _get(client, "/work")
    for headers in ({}, {"HX-Request": "true", "HX-Target": "my_changes"}):
        with count_queries(app) as statements:
            assert client.get("/work", headers=headers).status_code == 200
        assert not [s for s in statements if "auth.login" in s or "verb =" in s], headers
        assert len([s for s in statements if "FROM user_sessions" in s]) == 1, headers


def test_my_work_costs_the_same_queries_with_few_or_many_items(app, work):
    client = _client(app, work.member)
    _get(client, "/work")
    with count_queries(app) as few:
        _get(client, "/work")
    with app.app_context():
        coordinator = db.session.get(User, work.coordinator.id)
        member = db.session.get(User, work.member.id)
        ws = db.session.get(Workspace, work.ws_id)
        for n in range(30):
            memo = memos_service.create_memo(coordinator, ws, title=f"Nota {n}", body="x")
            items_service.add_comment(coordinator, memo, "visto")
            tasks_service.create_task(coordinator, ws, title=f"Tarea {n}", assignees=[member])
        db.session.remove()
    with count_queries(app) as many:
        _get(client, "/work")

    # Not one more for thirty times the items. (Fewer: the newest changes now name no
    # group, and a list asks for group names only when a sentence names one.)
    assert len(many) <= len(few), (len(few), len(many))


# --- notifications ------------------------------------------------------------------------


def _unread_in_header(html: str) -> str:
    return re.search(r'id="notifications_link".*?</a>', html, re.S).group(0)


def test_the_header_counts_unread_notifications_on_every_page(app, work):
    client = _client(app, work.member)
    for path in ("/work", "/", f"/groups/{work.ws_id}", "/directory"):
        header = _unread_in_header(_get(client, path))
        assert "Notifications, 4 unread" in header, path  # the comment, three assignments
    assert "unread" not in _unread_in_header(_get(_client(app, work.observer), "/work"))


def test_the_header_count_is_one_query(app, work):
    client = _client(app, work.member)
    _get(client, "/notifications/badge")
    with count_queries(app) as statements:
        html = _get(client, "/notifications/badge")
    counts = [s for s in statements if "count(" in s.lower()]
    assert len(counts) == 1 and "Notifications, 4 unread" in html


def test_a_page_reads_its_header_count_and_live_cursor_in_one_statement(app, work):
    client = _client(app, work.member)
    with count_queries(app) as statements:
        html = _get(client, f"/groups/{work.ws_id}")
    header = [s for s in statements if "FROM notifications" in s or "max(events.id)" in s]
    with app.app_context():
        newest = db.session.scalar(select(func.max(Event.id)))
    assert len(header) == 1 and "max(events.id)" in header[0] and "count(" in header[0]
    assert f'<meta name="portal-live" content="{newest}"' in html
    assert "Notifications, 4 unread" in _unread_in_header(html)


def test_the_header_stops_counting_at_99(app, work):
    from portal.accounts.models import Notification

    with app.app_context():
        event_id = db.session.scalar(select(Event.id).where(Event.verb == "comment.created"))
        db.session.add_all(
            Notification(user_id=work.member.id, event_id=event_id) for _ in range(120)
        )
        db.session.commit()
        db.session.remove()
    header = _unread_in_header(_get(_client(app, work.member), "/work"))

    assert "Notifications, more than 99 unread" in header and ">99+</span>" in header


def test_notifications_list_newest_first_and_mark_one_then_all_read(app, work):
    client = _client(app, work.member)
    html = _get(client, "/notifications")
    html = _unlinked(html)
    assert html.index("assigned <q>Tarea futura</q>") < html.index("assigned <q>Tarea atrasada</q>")
    assert "Coordinator Person commented on <q>Acta de la reunión</q>" in html
    ids = re.findall(r'name="ids" value="(\d+)"', html)
    assert len(ids) == 4  # the comment, the assignments of three tasks

    response = client.post("/notifications/read", data={"ids": ids[0], "csrf_token": _csrf(html)})
    assert response.status_code == 303 and response.headers["Location"] == "/notifications"
    html = _get(client, "/notifications")
    assert len(re.findall(r'name="ids" value="(\d+)"', html)) == 3
    assert "Marked as read." in html

    response = client.post("/notifications/read-all", data={"csrf_token": _csrf(html)})
    assert response.status_code == 303
    html = _get(client, "/notifications")
    assert 'name="ids"' not in html and "3 notifications marked as read." in html
    assert "Coordinator Person commented on" in html  # still listed, read
    assert "You have no unread notification." in _get(client, "/notifications?unread=1")


def test_marking_needs_the_csrf_token_and_only_touches_ones_own(app, work):
    member = _client(app, work.member)
    outsider = _client(app, work.outsider)
    ids = re.findall(r'name="ids" value="(\d+)"', _get(member, "/notifications"))
    html = _get(outsider, "/notifications")

    assert member.post("/notifications/read", data={"ids": ids[0]}).status_code == 400
    outsider.post("/notifications/read", data={"ids": ids, "csrf_token": _csrf(html)})
    assert len(re.findall(r'name="ids" value="(\d+)"', _get(member, "/notifications"))) == 4


def test_notifications_about_what_one_may_no_longer_read_are_not_shown(app, work):
    with app.app_context():
        coordinator = db.session.get(User, work.coordinator.id)
        items_service.move_to_trash(coordinator, db.session.get(Item, work.memo_id))
        db.session.remove()
    html = _get(_client(app, work.member), "/notifications")

    assert "Acta de la reunión" not in html
    assert "Notifications, 3 unread" in _unread_in_header(html)


def test_a_visitor_is_sent_to_sign_in(app, work):
    for path in ("/work", "/notifications", f"/groups/{work.ws_id}/activity", "/work/search"):
        response = app.test_client().get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- activity -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["coordinator", "member", "observer", "secretariat"])
def test_the_group_page_and_the_activity_page_tell_the_groups_activity(app, work, who):
    client = _client(app, getattr(work, who))
    aside = _get(client, f"/groups/{work.ws_id}").split('id="group_activity"')[1]
    page = _get(client, f"/groups/{work.ws_id}/activity")

    for html in (_unlinked(aside), _unlinked(page)):
        assert "Coordinator Person commented on <q>Acta de la reunión</q>" in html
        assert "Coordinator Person moved <q>Tarea hecha</q> to Done" in html
        assert "item.created" not in html and "comment.created" not in html


@pytest.mark.parametrize("who", ["coordinator", "member", "observer", "secretariat"])
def test_the_group_pages_latest_are_the_newest_of_its_feed(app, work, who):
    """The aside reads the group's own events and its shared items' each along its own
    index: what it shows is still the newest of the whole feed, interleaved, without
    the trashed item's events for who may not manage the trash."""
    from portal.work import activity

    with app.app_context():
        outsider = db.session.get(User, work.outsider.id)
        coordinator = db.session.get(User, work.coordinator.id)
        ws = db.session.get(Workspace, work.ws_id)
        secret = db.session.get(Item, work.secret_id)
        items_service.share(outsider, secret, ws, SharePermission.edit)
        for n in range(6):  # the shared item's events and the group's own, interleaved
            items_service.add_comment(outsider, secret, f"Nota {n}")
            items_service.add_comment(coordinator, db.session.get(Item, work.memo_id), f"Sí {n}")
        items_service.move_to_trash(coordinator, db.session.get(Item, work.late_id))
        db.session.remove()

    with app.test_request_context():
        viewer = db.session.get(User, getattr(work, who).id)
        login_user(viewer)
        feed = db.session.scalars(activity.group_feed(work.ws_id, viewer)).all()
        for count in (1, 5, activity.LATEST_ON_GROUP_PAGE, 50):
            shown = [entry.event.id for entry in activity.latest(work.ws_id, count)]
            assert shown == [event.id for event in feed[:count]], count
        verbs = {event.verb for event in feed[: activity.LATEST_ON_GROUP_PAGE]}
        assert "comment.created" in verbs
        trashed_shown = any(event.item_id == work.late_id for event in feed)
        assert trashed_shown == (who in ("coordinator", "secretariat"))


def _item_reads(statements: list[str]) -> list[str]:
    """The statements that read items by id (the activity's, not the lists' UNION)."""
    return [s for s in statements if s.startswith("SELECT items.id") and "UNION" not in s]


def test_the_group_pages_activity_names_its_lists_items_and_members_without_reading_again(
    app, work
):
    client = _client(app, work.member)
    _get(client, f"/groups/{work.ws_id}")
    with count_queries(app) as statements:
        html = _unlinked(_get(client, f"/groups/{work.ws_id}"))

    assert _item_reads(statements) == []
    assert not [s for s in statements if s.startswith("SELECT users.id, users.name")]
    assert "Coordinator Person commented on <q>Acta de la reunión</q>" in html
    assert "Coordinator Person assigned <q>Tarea hecha</q> to Member Person" in html


def test_activity_reads_the_items_a_commit_expired_again_in_one_query(app, work):
    """An item loaded before a commit has lost its title: it is read again, with the
    others, not one query each when its sentence is written."""
    from portal.work import activity

    with app.test_request_context():
        viewer = db.session.get(User, work.member.id)
        events = db.session.scalars(
            select(Event)
            .where(Event.workspace_id == work.ws_id, Event.item_id.is_not(None))
            .options(activity.WITH_ACTOR)
        ).all()
        items = db.session.scalars(select(Item).where(Item.workspace_id == work.ws_id)).all()
        for item in items:
            db.session.expire(item)
        with count_queries(app) as statements:
            sentences = " ".join(entry.sentence for entry in activity.entries(events, viewer))

        assert len(_item_reads(statements)) == 1
        assert "Acta de la reunión" in sentences and "Tarea futura" in sentences


def test_an_outsider_may_not_read_the_groups_activity(app, work):
    _get(_client(app, work.outsider), f"/groups/{work.ws_id}/activity", status=404)


def test_activity_on_a_trashed_item_shows_to_who_manages_the_trash_only(app, work):
    with app.app_context():
        coordinator = db.session.get(User, work.coordinator.id)
        items_service.move_to_trash(coordinator, db.session.get(Item, work.memo_id))
        db.session.remove()
    trashed = "Coordinator Person moved <q>Acta de la reunión</q> to the trash"

    coordinator_page = _get(_client(app, work.coordinator), f"/groups/{work.ws_id}/activity")
    assert trashed in _unlinked(coordinator_page)
    member = _get(_client(app, work.member), f"/groups/{work.ws_id}/activity")
    assert "Acta de la reunión" not in member


def test_the_activity_page_goes_back_in_time_by_cursor(app, work):
    with app.app_context():
        coordinator = db.session.get(User, work.coordinator.id)
        ws = db.session.get(Workspace, work.ws_id)
        for n in range(35):
            memos_service.create_memo(coordinator, ws, title=f"Nota {n:02d}", body="x")
        db.session.remove()
    client = _client(app, work.member)
    page = _get(client, f"/groups/{work.ws_id}/activity")
    older = re.search(r'href="([^"]+before=\d+)"', page).group(1).replace("&amp;", "&")
    first, second = _unlinked(page), _unlinked(_get(client, older))

    assert "<q>Nota 34</q>" in first and "<q>Nota 05</q>" in first and "Nota 04" not in first
    assert "<q>Nota 04</q>" in second and "<q>Nota 34</q>" not in second


@pytest.mark.parametrize(
    ("path", "target", "text"),
    [("/groups/{ws}", "group_activity", "commented on"),
     ("/groups/{ws}/activity", "activity_list", "commented on"),
     ("/work", "my_notifications", "commented on"),
     ("/work", "my_changes", "created the task"),
     ("/notifications", "notification_list", "commented on"),
     ("/notifications/badge", "notifications_link", "4 unread")],
)  # fmt: skip
def test_live_parts_refresh_alone_for_htmx(app, work, path, target, text):
    client = _client(app, work.member)
    response = client.get(
        path.format(ws=work.ws_id), headers={"HX-Request": "true", "HX-Target": target}
    )
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert re.match(rf'\s*<(section|a) id="{target}"', html), html[:200]
    assert text in html and "<header" not in html


# --- sentences ----------------------------------------------------------------------------

SOURCE = Path(__file__).resolve().parents[2] / "portal"


def recorded_verbs() -> set[str]:
    """Every verb the portal records, read from its source."""
    verbs: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        text = path.read_text()
        verbs.update(re.findall(r'record(?:_item_event)?\(\s*"([a-z_]+\.[a-z_]+)"', text))
        for line in re.findall(r"verb\s*=\s*(.+)", text):
            verbs.update(re.findall(r'"([a-z_]+\.[a-z_]+)"', line))
    return verbs


DETAILS = {
    "item.created": {"kind": "document"},
    "item.updated": {"kind": "task", "fields": ["status"], "status": "doing"},
    "item.shared": {"workspace_id": 1, "permission": "edit"},
    "item.unshared": {"workspace_id": 1},
    "task.assigned": {"user_ids": [7, 8]},
    "meeting.attendance": {"response": "maybe"},
    "meeting.outcome_recorded": {"outcome_kind": "decision"},
    "meeting.rescheduled": {"starts_at": "2027-03-04T15:00:00+00:00"},
    "document.version_added": {"version": 3},
    "document.version_restored": {"version": 4, "restored_from": 2},
    "document.lock_broken": {"holder_id": 7},
    "member.added": {"user_id": 7, "role": "coordinator"},
    "member.role_changed": {"user_id": 7, "role": "observer"},
    "member.removed": {"user_id": 7},
    "user.created": {"user_id": 7},
    "auth.login_failed": {"email": "ana@ports.example"},
    "community.created": {"name": "Comunidad de Colón"},
    "member_state.created": {"name": "Panamá"},
}


def _sentences(app, language: str) -> dict[str, str]:
    from portal.work import activity

    verbs = sorted(recorded_verbs())
    with app.test_request_context("/", headers={"Cookie": f"portal_lang={language}"}):
        narrator = activity.Narrator(SimpleNamespace(is_secretariat=True))
        narrator.items = {5: Item(id=5, kind="document", title="Plan", workspace_id=1)}
        narrator.people = {7: "Marta Miembro", 8: "Luis Coordinador"}
        narrator.groups = {1: "Comité de tarifas"}
        actor = User(name="Ana Coordinadora")
        found = {}
        for verb in verbs:
            event = Event(verb=verb, data=DETAILS.get(verb, {}), item_id=5, workspace_id=1)
            event.actor = actor
            found[verb] = activity.sentence(event, narrator)
        return found


def test_there_is_a_sentence_for_every_verb_recorded(app):
    from portal.work import activity

    verbs = recorded_verbs()
    assert len(verbs) >= 40
    special = {"item.created", "item.updated", "item.shared", "meeting.attendance",
               "meeting.outcome_recorded", "agenda.item_added"}  # fmt: skip
    assert verbs <= set(activity.SENTENCES) | special, verbs - set(activity.SENTENCES) - special


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_verb_reads_as_a_sentence_with_its_item_linked(app, language):
    for verb, sentence in _sentences(app, language).items():
        assert isinstance(sentence, Markup)
        assert verb not in sentence and "%(" not in sentence, (verb, sentence)
        if verb not in {"auth.login_failed", "auth.password_reset_requested"}:  # no actor
            assert "Ana Coordinadora" in sentence, (verb, sentence)


def test_the_sentences_in_english(app):
    found = {verb: _unlinked(text) for verb, text in _sentences(app, "en").items()}

    assert found["document.version_added"] == "Ana Coordinadora uploaded version 3 of <q>Plan</q>"
    assert found["item.updated"] == "Ana Coordinadora moved <q>Plan</q> to Doing"
    assert found["item.shared"] == (
        "Ana Coordinadora shared <q>Plan</q> with Comité de tarifas to edit"
    )
    assert found["task.assigned"] == (
        "Ana Coordinadora assigned <q>Plan</q> to Marta Miembro and Luis Coordinador"
    )
    assert found["member.added"] == (
        "Ana Coordinadora added Marta Miembro to Comité de tarifas as coordinator"
    )
    rescheduled = "Ana Coordinadora moved the meeting <q>Plan</q> to Mar 4, 2027"
    assert found["meeting.rescheduled"].startswith(rescheduled)


def test_the_sentences_in_spanish_use_the_catalogue(app):
    found = _sentences(app, "es")

    assert "Marta Miembro y Luis Coordinador" in found["task.assigned"]
    assert "coordinador" in found["member.added"]
    assert "4 mar 2027" in found["meeting.rescheduled"]


def test_an_unknown_verb_gets_a_generic_sentence_and_text_is_escaped(app):
    from portal.work import activity

    with app.test_request_context("/", headers={"Cookie": "portal_lang=en"}):
        narrator = activity.Narrator(SimpleNamespace(is_secretariat=True))
        narrator.items = {5: Item(id=5, kind="memo", title="<b>Plan</b>", workspace_id=1)}
        event = Event(verb="thing.happened", data={}, item_id=5, workspace_id=1)
        event.actor = User(name="<i>Ana</i>")
        assert activity.sentence(event, narrator) == (
            '&lt;i&gt;Ana&lt;/i&gt; changed <q><a href="/memos/5">&lt;b&gt;Plan&lt;/b&gt;</a></q>'
        )


# --- search -------------------------------------------------------------------------------


@pytest.fixture
def searchable(app, work, sync):
    sync()
    return work


@pytest.mark.parametrize("who", ["member", "observer", "secretariat"])
def test_search_finds_what_the_viewer_reads_with_highlights_and_facets(app, searchable, who):
    html = _get(_client(app, getattr(searchable, who)), "/work/search?q=acta")

    assert '<mark class="match">Acta</mark>' in html
    assert "1 result" in html
    assert "Sistemas de Comunidad Portuaria" in html  # the group facet
    facet = re.search(r'href="(/work/search\?[^"]*workspace_id=\d+[^"]*)"', html).group(1)
    filtered = _get(_client(app, getattr(searchable, who)), facet.replace("&amp;", "&"))
    assert "1 result" in filtered and "remove this filter" in filtered


def test_an_outsider_finds_nothing_of_the_other_group(app, searchable):
    client = _client(app, searchable.outsider)
    html = _get(client, "/work/search?q=acta")

    assert "Acta de la reunión" not in html and "Nothing matches these words." in html
    assert "Secreto aduanero" in _get(client, "/work/search?q=secreto")
    _get(client, f"/work/search?q=acta&workspace_id={searchable.ws_id}", status=404)
    member = _get(_client(app, searchable.member), "/work/search?q=secreto")
    assert "Secreto aduanero" not in member and "Grupo Reservado" not in member


def test_the_search_covers_the_publications_too(app, searchable, publish, sync):
    publish(searchable, searchable.memo_id)
    sync()
    client = _client(app, searchable.outsider)
    html = _get(client, "/work/search?q=acta&scope=publications")

    assert "Acta de la reunión" in html and 'href="/publications/' in html
    assert 'In the publications <span class="count">(1)</span>' in html
    assert 'In my working groups <span class="count">(0)</span>' in html


def test_the_public_search_page_stays_the_visitors(app, searchable):
    html = _get(app.test_client(), "/search?q=acta")
    assert "Acta de la reunión" not in html and "Notifications" not in html


@pytest.mark.parametrize("who", ["secretariat", "member"])
def test_the_public_home_is_the_same_for_signed_in_people_with_a_link_to_my_work(app, work, who):
    html = _get(_client(app, getattr(work, who)), "/")

    assert "Newest publications" in html and 'href="/work">Go to My work</a>' in html
    assert "auth.login" not in html and "item.created" not in html and "Welcome" not in html


# --- statements built once ------------------------------------------------------------


@pytest.mark.parametrize("name", ["member", "coordinator", "outsider", "secretariat"])
def test_statements_built_once_find_for_each_viewer_what_their_own_would(app, work, name):
    """Built once for a `BoundViewer` and run with one person's id, the header's count,
    My work's lists and a group's latest activity find exactly what the same statements
    built for that person find (one process serves everyone with them)."""
    from portal import permissions
    from portal.accounts.models import Notification
    from portal.work import activity, notifications

    with app.test_request_context():
        viewer = db.session.get(User, getattr(work, name).id)

        def ids(statement, given=None):
            return [row.id for row in db.session.scalars(statement, given)]

        own_count = select(func.count()).select_from(
            notifications.unread(viewer).limit(notifications.HEADER_COUNT_LIMIT).subquery()
        )
        header, params = notifications.header_statement(viewer)
        assert db.session.execute(header, params).one()[0] == db.session.scalar(own_count)
        newest = notifications.unread(viewer).order_by(Notification.id.desc()).limit(5)
        assert ids(*notifications.newest_unread_statement(viewer, 5)) == ids(newest)
        changes = activity.my_groups_feed(viewer, None).limit(10)
        assert ids(*activity.my_groups_statement(viewer, False, 10)) == ids(changes)
        latest = activity.group_feed(work.ws_id, viewer).limit(10)
        built_once, params = activity.latest_statement(viewer, 10)
        assert ids(built_once, params | {permissions.GROUP: work.ws_id}) == ids(latest)
        found = (ids(latest), ids(changes), db.session.scalar(own_count))
    # Nobody's lists are empty here, and they differ by viewer: a statement that
    # ignored its viewer could not pass for all four.
    assert found[1] and (found[0] or name == "outsider")

"""The meeting pages without a browser: every route as each role, the meeting form and
its errors, times in the viewer's zone and the meeting's, the agenda (add, move,
reorder, backlog), outcomes that become tasks, attendance, minutes with revisions and
the calendar link.

Data: `tests/workspaces/planning_world` (a meeting in progress, America/Bogota, 14:00
UTC on 2026-12-03, with one agenda point and one backlog point, shared with a group
for view and one for edit). Pages are read in English (the language cookie).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.accounts.models import User
from portal.extensions import db
from portal.meetings import service as meetings_service
from portal.meetings.models import AgendaItem, Meeting
from portal.workspaces.models import TextRevision, Workspace

from ..conftest import sign_in_session
from ..workspaces.planning_world import make_planning_world
from ..workspaces.test_item_queries import count_queries


@pytest.fixture
def pw(app):
    with app.app_context():
        world = make_planning_world()
        db.session.remove()
        return world


def browser_of(app, who):
    """A test client signed in as `who` (None: nobody), reading English."""
    client = app.test_client()
    client.set_cookie("portal_lang", "en")
    if who is not None:
        sign_in_session(client, who)
    return client


def token(client) -> str:
    return client.get("/api/v1/auth/csrf").get_json()["csrf_token"]


def post(client, path, data=None):
    return client.post(path, data={"csrf_token": token(client), **(data or {})})


def html_of(response) -> str:
    return response.get_data(as_text=True)


def _routes(pw):
    """(path, whether it needs edit access) of every page that reads with GET."""
    return [
        (f"/groups/{pw.ws_id}/meetings", False),
        (f"/groups/{pw.ws_id}/calendar", False),
        (f"/meetings/{pw.meeting_id}", False),
        (f"/meetings/{pw.meeting_id}/minutes/revisions", False),
        (f"/groups/{pw.ws_id}/meetings/new", True),
        (f"/meetings/{pw.meeting_id}/edit", True),
        (f"/meetings/{pw.meeting_id}/minutes", True),
        (f"/meetings/{pw.meeting_id}/agenda/new", True),
        (f"/agenda-items/{pw.agenda_id}/edit", True),
        (f"/agenda-items/{pw.agenda_id}/outcomes", True),
    ]


@pytest.mark.parametrize("who", ["coordinator", "member", "secretariat", "observer", "outsider"])
def test_every_page_answers_each_role_as_its_permissions_say(app, pw, who):
    client = browser_of(app, getattr(pw, who))
    for path, needs_edit in _routes(pw):
        status = client.get(path).status_code
        if who == "outsider":
            expected = 404
        elif who == "observer" and needs_edit:
            expected = 403
        else:
            expected = 200
        assert status == expected, (who, path, status)


def test_signed_out_visitors_are_sent_to_sign_in(app, pw):
    response = browser_of(app, None).get(f"/meetings/{pw.meeting_id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def _post_routes(pw):
    """Every form the pages post, with a valid body."""
    m, point, backlog = pw.meeting_id, pw.agenda_id, pw.backlog_id
    return [
        (f"/groups/{pw.ws_id}/meetings/new", _meeting_form()),
        (f"/meetings/{m}/edit", _meeting_form()),
        (f"/meetings/{m}/status", {"status": "held"}),
        (f"/meetings/{m}/minutes", {"minutes": "Acta", "version": "0"}),
        (f"/meetings/{m}/agenda/new", {"title": "Otro punto", "scheduled": "true"}),
        (f"/meetings/{m}/agenda/order", {"ids": [str(point)]}),
        (f"/agenda-items/{point}/edit", {"title": "Nuevo título", "scheduled": "true"}),
        (f"/agenda-items/{point}/move", {"direction": "down"}),
        (f"/agenda-items/{backlog}/schedule", {"scheduled": "true"}),
        (f"/agenda-items/{point}/outcomes", {"kind": "decision", "text": "Aprobado"}),
        (f"/agenda-items/{point}/delete", {}),
    ]


def _meeting_form(**fields):
    return {
        "title": "Comité técnico",
        "starts_at": "2027-03-04T10:00",
        "ends_at": "2027-03-04T11:30",
        "timezone": "America/Bogota",
        "status": "planned",
    } | fields


@pytest.mark.parametrize(("who", "status"), [("observer", 403), ("outsider", 404)])
def test_forced_changes_are_refused_with_the_error_page(app, pw, who, status):
    client = browser_of(app, getattr(pw, who))
    with app.app_context():
        before = db.session.scalar(select(Meeting.version).where(Meeting.id == pw.meeting_id))
    for path, data in _post_routes(pw):
        response = post(client, path, data)
        assert response.status_code == status, (path, response.status_code)
        assert "error-page" in html_of(response)
    with app.app_context():
        after = db.session.scalar(select(Meeting.version).where(Meeting.id == pw.meeting_id))
    assert after == before


def test_a_form_without_its_csrf_token_is_refused(app, pw):
    client = browser_of(app, pw.member)
    response = client.post(f"/meetings/{pw.meeting_id}/attendance", data={"response": "yes"})
    assert response.status_code == 400
    page = html_of(client.get(f"/meetings/{pw.meeting_id}"))
    assert "You have not answered yet." in page


def test_an_observer_reads_everything_but_sees_no_editing_control(app, pw):
    page = html_of(browser_of(app, pw.observer).get(f"/meetings/{pw.meeting_id}"))

    assert "Reunión de coordinación de importación" in page
    assert "Estado del piloto" in page and "Tarifas 2027" in page
    hidden = ["Change the meeting", "Add a point", "Move up", "To the backlog"]
    hidden += ["Record an outcome", "Edit the minutes", "Mark as held", "data-reorder"]
    for control in hidden:
        assert control not in page, control
    assert 'name="response" value="yes"' in page  # observers answer whether they attend


def test_a_member_sees_the_controls_of_a_meeting_in_progress(app, pw):
    page = html_of(browser_of(app, pw.member).get(f"/meetings/{pw.meeting_id}"))

    shown = ["Change the meeting", "Add a point", "To the backlog", "To the agenda"]
    shown += ["Record an outcome", "Mark as held", "Cancel the meeting", "data-reorder"]
    for control in shown:
        assert control in page, control
    assert "Start the meeting" not in page


# --- the meeting form ----------------------------------------------------------------


def test_planning_a_meeting_reads_the_times_on_the_chosen_zones_clock(app, pw):
    client = browser_of(app, pw.member)

    response = post(client, f"/groups/{pw.ws_id}/meetings/new", _meeting_form())

    assert response.status_code == 303
    meeting_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        assert meeting.starts_at == datetime(2027, 3, 4, 15, 0, tzinfo=UTC)
        assert meeting.ends_at == datetime(2027, 3, 4, 16, 30, tzinfo=UTC)
        assert meeting.timezone == "America/Bogota"
    assert "The meeting is planned." in html_of(client.get(response.headers["Location"]))


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"ends_at": "2027-03-04T09:00"}, "ends_at", "The meeting must end after it starts."),
        ({"timezone": "Mars/Olympus"}, "timezone", "Not an IANA timezone name"),
        ({"starts_at": ""}, "starts_at", "Fill in this field."),
        ({"online_url": "javascript:alert(1)"}, "online_url", "Give an http:// or https:// link."),
    ],
)
def test_the_meeting_form_shows_each_error_beside_its_field_and_keeps_the_input(
    app, pw, fields, field, message
):
    client = browser_of(app, pw.member)

    response = post(client, f"/groups/{pw.ws_id}/meetings/new", _meeting_form(**fields))

    page = html_of(response)
    assert response.status_code == 400
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
    assert error and message in error.group(1)
    assert f'aria-describedby="{field}-help {field}-error"' in page or (
        f'aria-describedby="{field}-error"' in page
    )
    assert 'value="Comité técnico"' in page


def test_the_form_offers_the_viewers_zone_first_chosen(app, pw):
    with app.app_context():
        db.session.get(User, pw.member.id).timezone = "Asia/Tokyo"
        db.session.commit()
    page = html_of(browser_of(app, pw.member).get(f"/groups/{pw.ws_id}/meetings/new"))

    assert '<option value="Asia/Tokyo" selected>' in page
    assert '<option value="America/Bogota">' in page


def test_changing_a_meeting_keeps_its_minutes_and_shows_its_wall_clock(app, pw):
    client = browser_of(app, pw.member)
    page = html_of(client.get(f"/meetings/{pw.meeting_id}/edit"))
    assert 'value="2026-12-03T09:00"' in page  # 14:00 UTC in Bogota
    minutes = {"minutes": "Acta", "version": _version(app, pw.meeting_id)}
    post(client, f"/meetings/{pw.meeting_id}/minutes", minutes)

    response = post(
        client,
        f"/meetings/{pw.meeting_id}/edit",
        _meeting_form(title="Reunión renombrada", status="in_progress"),
    )

    assert response.status_code == 303
    with app.app_context():
        meeting = db.session.get(Meeting, pw.meeting_id)
        assert meeting.title == "Reunión renombrada" and meeting.minutes == "Acta"


def test_a_status_cannot_go_back(app, pw):
    response = post(
        browser_of(app, pw.member), f"/meetings/{pw.meeting_id}/edit", _meeting_form()
    )  # planned again
    assert response.status_code == 400
    assert "cannot go back to an earlier status" in html_of(response)


def test_the_status_buttons_move_the_meeting_forward(app, pw):
    client = browser_of(app, pw.member)

    response = post(client, f"/meetings/{pw.meeting_id}/status", {"status": "held"})

    assert response.status_code == 303
    page = html_of(client.get(f"/meetings/{pw.meeting_id}"))
    assert '<span class="badge status-held">Held</span>' in page
    again = post(client, f"/meetings/{pw.meeting_id}/status", {"status": "in_progress"})
    assert again.status_code == 303
    assert "nothing was done" in html_of(client.get(again.headers["Location"]))


# --- times -------------------------------------------------------------------------------


def test_a_viewer_elsewhere_sees_the_meeting_in_their_zone_and_in_its_own(app, pw):
    with app.app_context():
        db.session.get(User, pw.observer.id).timezone = "Europe/Madrid"
        db.session.commit()

    page = html_of(browser_of(app, pw.observer).get(f"/meetings/{pw.meeting_id}"))

    # 14:00-16:00 UTC on 3 December 2026: 15:00 in Madrid, 09:00 in Bogota.
    assert "Thu, Dec 3, 2026, 15:00\u2009\u2013\u200917:00" in page
    assert "your time zone, Europe/Madrid" in page
    assert "Thu, Dec 3, 2026, 09:00\u2009\u2013\u200911:00" in page
    assert "(America/Bogota)" in page and "Meeting's time zone" in page


def test_a_viewer_in_the_meetings_zone_sees_it_once(app, pw):
    with app.app_context():
        db.session.get(User, pw.member.id).timezone = "America/Bogota"
        db.session.commit()

    page = html_of(browser_of(app, pw.member).get(f"/meetings/{pw.meeting_id}"))

    assert page.count("09:00\u2009\u2013\u200911:00") == 1
    assert "(America/Bogota)" not in page


# --- the list ------------------------------------------------------------------------------


def _plan(app, world, titles_and_days):
    with app.app_context():
        member = db.session.get(User, world.member.id)
        ws = db.session.get(Workspace, world.ws_id)
        now = datetime.now(UTC).replace(microsecond=0)
        for title, days in titles_and_days:
            meetings_service.create_meeting(
                member,
                ws,
                title=title,
                starts_at=now + timedelta(days=days),
                ends_at=now + timedelta(days=days, hours=1),
                timezone="America/Lima",
            )
        db.session.remove()


def test_the_list_shows_upcoming_soonest_first_and_past_latest_first(app, world):
    _plan(app, world, [("Futura lejana", 30), ("Pasada antigua", -30), ("Futura próxima", 2),
                       ("Pasada reciente", -2)])  # fmt: skip

    page = html_of(browser_of(app, world.member).get(f"/groups/{world.ws_id}/meetings"))

    upcoming, past = page.split('id="past-title"')
    assert upcoming.index("Futura próxima") < upcoming.index("Futura lejana")
    assert past.index("Pasada reciente") < past.index("Pasada antigua")
    assert "Pasada" not in upcoming and "Futura" not in past
    assert f'href="/groups/{world.ws_id}/meetings/new"' in page


def test_the_list_costs_the_same_queries_for_3_or_60_meetings_and_pages(app, world):
    client = browser_of(app, world.member)
    url = f"/groups/{world.ws_id}/meetings"
    _plan(app, world, [(f"Reunión {n}", n - 1) for n in range(3)])
    client.get(url)
    with count_queries(app) as small:
        client.get(url)

    _plan(app, world, [(f"Sesión {n}", n - 30) for n in range(60)])
    with count_queries(app) as large:
        page = html_of(client.get(url))

    assert len(large) == len(small)
    assert "Page 1 of 2" in page and "?upcoming=2" in page
    second = html_of(client.get(url + "?upcoming=2"))
    assert "Page 2 of 2" in second


def test_an_observer_gets_no_new_meeting_button(app, world):
    page = html_of(browser_of(app, world.observer).get(f"/groups/{world.ws_id}/meetings"))
    assert "/meetings/new" not in page and "No meeting is planned." in page


# --- the agenda and the backlog ---------------------------------------------------------------


def _agenda(app, meeting_id):
    with app.app_context():
        return [
            p.title
            for p in db.session.scalars(
                select(AgendaItem)
                .where(AgendaItem.meeting_id == meeting_id, AgendaItem.scheduled.is_(True))
                .order_by(AgendaItem.position)
            )
        ]


def _point_id(app, title):
    with app.app_context():
        return db.session.scalar(select(AgendaItem.id).where(AgendaItem.title == title))


def test_points_are_added_with_presenter_and_duration_then_reordered_by_the_page_route(app, pw):
    client = browser_of(app, pw.member)
    for title in ("Presupuesto", "Varios"):
        response = post(
            client,
            f"/meetings/{pw.meeting_id}/agenda/new",
            {"title": title, "duration_minutes": "15", "presenter_id": str(pw.coordinator.id),
             "scheduled": "true"},
        )  # fmt: skip
        assert response.status_code == 303
    assert _agenda(app, pw.meeting_id) == ["Estado del piloto", "Presupuesto", "Varios"]
    page = html_of(client.get(f"/meetings/{pw.meeting_id}"))
    assert "Presented by Coordinator Person" in page and "50 minutes in all" in page

    ids = [_point_id(app, t) for t in ("Varios", "Estado del piloto", "Presupuesto")]
    response = post(
        client, f"/meetings/{pw.meeting_id}/agenda/order", {"ids": [str(i) for i in ids]}
    )

    assert response.status_code == 303
    assert _agenda(app, pw.meeting_id) == ["Varios", "Estado del piloto", "Presupuesto"]


def test_move_up_and_down_buttons_swap_neighbours(app, pw):
    client = browser_of(app, pw.member)
    post(client, f"/meetings/{pw.meeting_id}/agenda/new", {"title": "Segundo", "scheduled": "true"})
    second = _point_id(app, "Segundo")

    post(client, f"/agenda-items/{second}/move", {"direction": "up"})
    assert _agenda(app, pw.meeting_id) == ["Segundo", "Estado del piloto"]
    post(client, f"/agenda-items/{second}/move", {"direction": "up"})  # already first
    assert _agenda(app, pw.meeting_id) == ["Segundo", "Estado del piloto"]
    post(client, f"/agenda-items/{second}/move", {"direction": "down"})
    assert _agenda(app, pw.meeting_id) == ["Estado del piloto", "Segundo"]


def test_points_move_to_and_from_the_backlog(app, pw):
    client = browser_of(app, pw.member)

    post(client, f"/agenda-items/{pw.backlog_id}/schedule", {"scheduled": "true"})
    assert _agenda(app, pw.meeting_id) == ["Estado del piloto", "Tarifas 2027"]
    post(client, f"/agenda-items/{pw.agenda_id}/schedule", {"scheduled": "false"})
    assert _agenda(app, pw.meeting_id) == ["Tarifas 2027"]

    page = html_of(client.get(f"/meetings/{pw.meeting_id}"))
    backlog = page.split('id="backlog"')[1]
    assert "Estado del piloto" in backlog and "Tarifas 2027" not in backlog


def test_the_point_form_shows_errors_and_keeps_the_input(app, pw):
    client = browser_of(app, pw.member)

    response = post(
        client,
        f"/meetings/{pw.meeting_id}/agenda/new",
        {"title": "", "duration_minutes": "0", "notes": "Preparar cifras", "scheduled": "true",
         "presenter_id": str(pw.outsider.id)},
    )  # fmt: skip

    page = html_of(response)
    assert response.status_code == 400
    assert 'id="title-error"' in page and 'id="duration_minutes-error"' in page
    assert "Preparar cifras" in page
    # A presenter who cannot read the meeting is refused by the service's own check.
    response = post(
        client,
        f"/meetings/{pw.meeting_id}/agenda/new",
        {"title": "Punto", "scheduled": "true", "presenter_id": str(pw.outsider.id)},
    )
    assert response.status_code == 400 and 'id="presenter_id-error"' in html_of(response)


def test_editing_and_removing_a_point(app, pw):
    client = browser_of(app, pw.member)
    page = html_of(client.get(f"/agenda-items/{pw.agenda_id}/edit"))
    assert 'value="Estado del piloto"' in page and 'value="20"' in page

    post(client, f"/agenda-items/{pw.agenda_id}/edit", {"title": "Piloto", "scheduled": "true"})
    assert _agenda(app, pw.meeting_id) == ["Piloto"]
    post(client, f"/agenda-items/{pw.agenda_id}/delete")
    assert _agenda(app, pw.meeting_id) == []


def test_the_agenda_refreshes_alone_for_htmx(app, pw):
    response = browser_of(app, pw.member).get(
        f"/meetings/{pw.meeting_id}", headers={"HX-Request": "true", "HX-Target": "meeting_agenda"}
    )

    page = html_of(response).strip()
    assert page.startswith('<section id="meeting_agenda"')
    assert "hx-trigger" not in page.split(">")[0]  # the item's header carries it
    assert "Estado del piloto" in page and "<html" not in page


# --- outcomes ------------------------------------------------------------------------------------


def test_a_task_outcome_becomes_a_task_in_the_groups_task_list(app, pw):
    client = browser_of(app, pw.member)

    response = post(
        client,
        f"/agenda-items/{pw.agenda_id}/outcomes",
        {"kind": "task", "text": "Pedir las cifras a aduanas", "task_title": "Cifras de aduanas",
         "task_assignee_ids": str(pw.coordinator.id), "task_due_date": "2026-12-20"},
    )  # fmt: skip

    assert response.status_code == 303
    tasks = client.get(f"/api/v1/workspaces/{pw.ws_id}/tasks").get_json()["items"]
    task = next(t for t in tasks if t["title"] == "Cifras de aduanas")
    assert task["due_date"] == "2026-12-20"
    assert [a["id"] for a in task["assignees"]] == [pw.coordinator.id]
    page = html_of(client.get(f"/meetings/{pw.meeting_id}"))
    assert "Pedir las cifras a aduanas" in page


def test_a_decision_is_recorded_and_errors_are_shown(app, pw):
    client = browser_of(app, pw.member)
    path = f"/agenda-items/{pw.agenda_id}/outcomes"

    missing = post(client, path, {"kind": "task", "text": "Algo"})
    assert missing.status_code == 400 and 'id="task_title-error"' in html_of(missing)
    assert (
        post(client, path, {"kind": "decision", "text": "Se aprueba el piloto"}).status_code == 303
    )

    page = html_of(client.get(f"/meetings/{pw.meeting_id}"))
    assert "Decision:</strong> Se aprueba el piloto" in page


def test_outcomes_wait_for_the_meeting_to_be_in_progress(app, pw):
    client = browser_of(app, pw.member)
    post(client, f"/meetings/{pw.meeting_id}/status", {"status": "held"})

    response = post(
        client, f"/agenda-items/{pw.agenda_id}/outcomes", {"kind": "decision", "text": "x"}
    )

    assert response.status_code == 400
    assert "recorded while the meeting is on" in html_of(response)
    assert "Record an outcome" not in html_of(client.get(f"/meetings/{pw.meeting_id}"))


# --- attendance --------------------------------------------------------------------------------


def test_an_observer_answers_and_everyone_sees_the_answers(app, pw):
    observer = browser_of(app, pw.observer)

    response = post(observer, f"/meetings/{pw.meeting_id}/attendance", {"response": "maybe"})

    assert response.status_code == 303
    page = html_of(observer.get(f"/meetings/{pw.meeting_id}"))
    assert "Your answer: Maybe" in page
    assert 'value="maybe" aria-pressed="true"' in page
    other = html_of(browser_of(app, pw.member).get(f"/meetings/{pw.meeting_id}"))
    assert re.search(r"Observer Person</span> <span class=\"badge answer-maybe\">Maybe", other)


def test_attendance_closes_once_the_meeting_is_held(app, pw):
    member = browser_of(app, pw.member)
    post(member, f"/meetings/{pw.meeting_id}/status", {"status": "held"})

    response = post(member, f"/meetings/{pw.meeting_id}/attendance", {"response": "yes"})

    page = html_of(member.get(response.headers["Location"]))
    assert "Attendance is closed for this meeting." in page
    assert 'name="response"' not in page


# --- minutes -----------------------------------------------------------------------------------


def _version(app, meeting_id):
    with app.app_context():
        return str(db.session.get(Meeting, meeting_id).version)


def test_minutes_are_saved_as_revisions_with_their_differences(app, pw):
    client = browser_of(app, pw.member)
    path = f"/meetings/{pw.meeting_id}/minutes"
    post(
        client,
        path,
        {"minutes": "Asistentes: 5\nSe aprueba", "version": _version(app, pw.meeting_id)},
    )
    post(
        client,
        path,
        {"minutes": "Asistentes: 6\nSe aprueba", "version": _version(app, pw.meeting_id)},
    )

    page = html_of(client.get(f"/meetings/{pw.meeting_id}"))
    assert "Asistentes: 6" in page and "2 revisions" in page
    diff = html_of(client.get(f"{path}/revisions?revision=2"))
    assert "What revision 2 changed" in diff
    assert re.search(
        r"<del><span class=\"visually-hidden\">Removed: </span>Asistentes: 5</del>", diff
    )
    assert re.search(
        r"<ins><span class=\"visually-hidden\">Added: </span>Asistentes: 6</ins>", diff
    )


def test_a_stale_save_of_the_minutes_keeps_the_text_and_shows_the_newer_version(app, pw):
    client = browser_of(app, pw.member)
    path = f"/meetings/{pw.meeting_id}/minutes"
    stale = _version(app, pw.meeting_id)
    post(
        browser_of(app, pw.coordinator),
        path,
        {"minutes": "Versión del coordinador", "version": stale},
    )

    response = post(client, path, {"minutes": "Mi versión", "version": stale})

    page = html_of(response)
    assert response.status_code == 409
    assert "Another member saved a newer version" in page
    assert ">Mi versión</textarea>" in page and "Versión del coordinador</ins>" in page
    with app.app_context():
        assert db.session.get(Meeting, pw.meeting_id).minutes == "Versión del coordinador"
        assert (
            db.session.scalar(
                select(TextRevision.text).where(TextRevision.item_id == pw.meeting_id)
            )
            == "Versión del coordinador"
        )


# --- calendars ---------------------------------------------------------------------------------


def test_the_meeting_page_links_its_ics_file_and_the_group_feed(app, pw):
    client = browser_of(app, pw.observer)
    page = html_of(client.get(f"/meetings/{pw.meeting_id}"))

    assert f'href="/api/v1/meetings/{pw.meeting_id}.ics"' in page
    assert f'href="/groups/{pw.ws_id}/calendar"' in page
    ics = client.get(f"/api/v1/meetings/{pw.meeting_id}.ics")
    assert ics.status_code == 200 and b"BEGIN:VEVENT" in ics.data


def test_the_personal_calendar_link_is_shown_once_works_and_can_be_turned_off(app, pw):
    client = browser_of(app, pw.observer)
    path = f"/groups/{pw.ws_id}/calendar"
    assert "The link is personal." in html_of(client.get(path))

    response = post(client, path, {"action": "create"})

    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    link = re.search(r'class="calendar-link"|value="(http[^"]+token=[^"]+)"', html_of(response))
    url = re.search(r'value="(http://localhost/api/v1/workspaces/\d+/calendar.ics\?token=[^"]+)"',
                    html_of(response)).group(1)  # fmt: skip
    assert link
    feed = app.test_client().get(url.replace("http://localhost", ""))
    assert feed.status_code == 200 and b"Reuni" in feed.data
    assert "token=" not in html_of(client.get(path))  # shown once

    post(client, path, {"action": "revoke"})
    assert app.test_client().get(url.replace("http://localhost", "")).status_code == 401


def test_the_meeting_page_costs_the_same_queries_for_1_or_12_points(app, pw):
    client = browser_of(app, pw.member)
    url = f"/meetings/{pw.meeting_id}"
    client.get(url)
    with count_queries(app) as small:
        client.get(url)
    for n in range(11):
        post(client, f"{url}/agenda/new", {"title": f"Punto {n}", "scheduled": "true",
                                           "presenter_id": str(pw.coordinator.id)})  # fmt: skip
        post(client, f"/agenda-items/{_point_id(app, f'Punto {n}')}/outcomes",
             {"kind": "decision", "text": f"Decisión {n}"})  # fmt: skip
        post(client, f"/meetings/{pw.meeting_id}/attendance", {"response": "yes"})

    with count_queries(app) as large:
        page = html_of(client.get(url))

    assert page.count('class="outcome-decision"') == 11
    assert len(large) == len(small)


def test_the_list_shows_times_in_the_viewers_zone(app, world):
    with app.app_context():
        member = db.session.get(User, world.member.id)
        member.timezone = "Europe/Madrid"
        meetings_service.create_meeting(
            member,
            db.session.get(Workspace, world.ws_id),
            title="Comité de diciembre",
            starts_at=datetime(2030, 12, 3, 14, 0, tzinfo=UTC),
            ends_at=datetime(2030, 12, 3, 15, 0, tzinfo=UTC),
            timezone="America/Bogota",
        )
        db.session.remove()

    page = html_of(browser_of(app, world.member).get(f"/groups/{world.ws_id}/meetings"))

    assert "Times in your time zone, Europe/Madrid." in page
    assert "Tue, Dec 3, 2030, 15:00\u2009\u2013\u200916:00" in page

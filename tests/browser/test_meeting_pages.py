"""The meeting pages in a real browser: reordering the agenda by dragging and by the
keyboard alone, answering whether one attends, accessibility and screenshots.

Each test plans its own meeting through the API (the site is shared); pages are read
in English (the language cookie), so the assertions hold whatever the translations.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from .conftest import check_accessibility, shoot


def api(site, who, method, path, **kwargs):
    response = site.server.api(method, path, getattr(site.data.tokens, who), **kwargs)
    assert response.status_code in {200, 201}, (path, response.text)
    return response.json()


def plan_meeting(site, title, points=("Apertura", "Informe de tiempos", "Varios")):
    """A meeting in Bogota next week with its agenda, planned by the coordinator."""
    start = (datetime.now(UTC) + timedelta(days=7)).replace(hour=14, minute=0, second=0)
    meeting = api(
        site,
        "coordinator",
        "POST",
        f"/workspaces/{site.data.workspace_id}/meetings",
        json={
            "title": title,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
            "timezone": "America/Bogota",
            "location": "Sala de juntas, Cartagena",
            "online_url": "https://meet.example.org/estudios",
            "guidelines": "- Leer los **documentos** antes\n- Cinco minutos por intervención",
        },
    )
    for n, point in enumerate(points):
        api(
            site,
            "coordinator",
            "POST",
            f"/meetings/{meeting['id']}/agenda",
            json={"title": point, "duration_minutes": 10 + 5 * n,
                  "presenter_id": site.data.people.member.id},
        )  # fmt: skip
    api(site, "coordinator", "POST", f"/meetings/{meeting['id']}/agenda",
        json={"title": "Tarifas 2027", "scheduled": False})  # fmt: skip
    return meeting["id"]


def open_in_english(signed_in, site, who, path, **kwargs):
    page = signed_in(who, path, language="en", **kwargs)
    page.context.add_cookies([{"name": "portal_lang", "value": "en", "url": site.url}])
    page.goto(site.url + path)
    return page


def agenda_titles(site, meeting_id):
    meeting = api(site, "coordinator", "GET", f"/meetings/{meeting_id}")
    return [point["title"] for point in meeting["agenda"]]


def wait_for_agenda(site, meeting_id, expected, timeout=10):
    deadline = time.monotonic() + timeout
    while (titles := agenda_titles(site, meeting_id)) != expected:
        assert time.monotonic() < deadline, titles
        time.sleep(0.1)


def shown_titles(page):
    return page.locator("#agenda-points > li h3").all_inner_texts()


def test_the_agenda_is_reordered_with_the_keyboard_alone(signed_in, site):
    meeting_id = plan_meeting(site, "Reunión de teclado")
    page = open_in_english(signed_in, site, "member", f"/meetings/{meeting_id}")
    handle = page.locator('#agenda-points > li[data-title="Apertura"] .handle')
    assert handle.is_visible()

    # Tab through the page until the first point's handle has the focus.
    for _ in range(60):
        page.keyboard.press("Tab")
        if handle.evaluate("element => element === document.activeElement"):
            break
    else:
        raise AssertionError("the keyboard never reached the handle")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")

    assert shown_titles(page) == ["Informe de tiempos", "Varios", "Apertura"]
    assert handle.evaluate("element => element === document.activeElement")
    status = page.locator("#agenda-status")
    status.filter(has_text="“Apertura” is now point 3 of 3.").wait_for(state="attached")
    wait_for_agenda(site, meeting_id, ["Informe de tiempos", "Varios", "Apertura"])
    page.keyboard.press("Home")
    wait_for_agenda(site, meeting_id, ["Apertura", "Informe de tiempos", "Varios"])
    # The saved order comes back as a live refresh of the agenda: focus stays on the handle.
    expect(handle).to_be_focused()

    page.reload()
    assert shown_titles(page) == ["Apertura", "Informe de tiempos", "Varios"]


def test_the_agenda_is_reordered_by_dragging_a_point(signed_in, site):
    meeting_id = plan_meeting(site, "Reunión de arrastre")
    page = open_in_english(signed_in, site, "coordinator", f"/meetings/{meeting_id}")
    page.locator("#agenda-points").scroll_into_view_if_needed()
    handle = page.locator('#agenda-points > li[data-title="Varios"] .handle').bounding_box()
    first = page.locator('#agenda-points > li[data-title="Apertura"]').bounding_box()

    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(first["x"] + 40, first["y"] + 5, steps=8)
    page.mouse.up()

    assert shown_titles(page) == ["Varios", "Apertura", "Informe de tiempos"]
    wait_for_agenda(site, meeting_id, ["Varios", "Apertura", "Informe de tiempos"])
    assert page.locator("#agenda-points > li .position").all_inner_texts() == ["1.", "2.", "3."]


def test_without_javascript_the_move_buttons_reorder(signed_in, site):
    meeting_id = plan_meeting(site, "Reunión sin scripts", points=("Uno", "Dos"))
    page = open_in_english(signed_in, site, "member", f"/meetings/{meeting_id}", javascript=False)

    page.locator('li[data-title="Uno"]').get_by_role("button", name="Move down").click()

    assert shown_titles(page) == ["Dos", "Uno"]
    assert agenda_titles(site, meeting_id) == ["Dos", "Uno"]


def test_an_observer_answers_whether_they_attend(signed_in, site):
    meeting_id = plan_meeting(site, "Reunión con respuesta", points=())
    page = open_in_english(signed_in, site, "observer", f"/meetings/{meeting_id}")
    assert page.locator(".handle, #agenda-points[data-reorder]").count() == 0

    page.get_by_role("button", name="Yes", exact=True).click()

    assert page.locator(".my-answer").inner_text() == "Your answer: Yes"
    assert (
        page.get_by_role("button", name="Yes", exact=True).get_attribute("aria-pressed") == "true"
    )
    answers = page.locator(".answers")
    assert "Óscar Observador" in answers.inner_text()


def test_the_meeting_pages_are_accessible_and_fit_a_phone(signed_in, site):
    meeting_id = plan_meeting(site, "Comité de estudios portuarios")
    api(site, "member", "PUT", f"/meetings/{meeting_id}/attendance", json={"response": "yes"})
    page = open_in_english(
        signed_in, site, "coordinator", f"/groups/{site.data.workspace_id}/meetings"
    )
    assert page.get_by_role("link", name="Comité de estudios portuarios").is_visible()
    check_accessibility(page)
    shoot(page, "meetings")

    page.get_by_role("link", name="New meeting").click()
    page.get_by_label("Title").fill("Sesión de prueba")
    page.get_by_label("Starts").fill("2027-05-04T09:00")
    page.get_by_label("Ends").fill("2027-05-04T08:00")
    page.get_by_role("button", name="Plan the meeting").click()
    assert page.locator("#ends_at-error").is_visible()
    assert page.get_by_label("Title").input_value() == "Sesión de prueba"
    check_accessibility(page)
    shoot(page, "meeting-new")

    page.goto(f"{site.url}/meetings/{meeting_id}")
    assert page.get_by_text("Sala de juntas, Cartagena").is_visible()
    assert page.locator(".handle").first.is_visible()
    check_accessibility(page)
    shoot(page, "meeting")


def test_the_meetings_other_pages_are_accessible(signed_in, site):
    meeting_id = plan_meeting(site, "Comité en curso", points=("Apertura",))
    for minutes in ("Asistentes: 5", "Asistentes: 6\nSe aprueba el piloto"):
        api(site, "coordinator", "PATCH", f"/meetings/{meeting_id}", json={"minutes": minutes})
    api(site, "coordinator", "PATCH", f"/meetings/{meeting_id}", json={"status": "in_progress"})
    point_id = api(site, "coordinator", "GET", f"/meetings/{meeting_id}")["agenda"][0]["id"]
    page = open_in_english(signed_in, site, "member", f"/meetings/{meeting_id}")
    page.get_by_role("link", name="Record an outcome").click()
    assert page.url.endswith(f"/agenda-items/{point_id}/outcomes")
    check_accessibility(page)
    page.get_by_label("A task for someone").check()
    page.get_by_label("What was decided, or what is to be done").fill("Pedir las cifras")
    page.get_by_label("Task title").fill("Cifras del piloto")
    page.get_by_role("button", name="Record the outcome").click()
    assert page.get_by_text("Pedir las cifras").is_visible()

    for path in (
        f"/agenda-items/{point_id}/edit",
        f"/meetings/{meeting_id}/agenda/new",
        f"/meetings/{meeting_id}/minutes",
        f"/meetings/{meeting_id}/minutes/revisions?revision=2",
        f"/groups/{site.data.workspace_id}/calendar",
    ):
        page.goto(site.url + path)
        check_accessibility(page)
    page.get_by_role("button", name="Create my calendar link").click()
    link = page.get_by_label("Your personal calendar link").input_value()
    assert "/calendar.ics?token=pcal_" in link
    check_accessibility(page)

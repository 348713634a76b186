"""My work, notifications, a group's activity and the signed-in search in a real browser."""

from __future__ import annotations

import itertools
import re
import time
from datetime import date, timedelta

from .conftest import check_accessibility, shoot

_serial = itertools.count(1)


def _api(site, who, method, path, **kwargs):
    response = site.server.api(method, path, getattr(site.data.tokens, who), **kwargs)
    assert response.status_code in {200, 201}, (path, response.text)
    return response.json()


def _task_for_the_member(site, title, due):
    """Ana Coordinadora gives Marta Miembro a task: Marta gets a notification."""
    member = site.data.people.member.id
    return _api(
        site,
        "coordinator",
        "POST",
        f"/workspaces/{site.data.workspace_id}/tasks",
        json={"title": title, "due_date": due.isoformat(), "assignee_ids": [member]},
    )


def _unread(page) -> int:
    name = page.locator("#notifications_link").inner_text()
    found = re.search(r"(\d+)", name)
    return int(found.group(1)) if found else 0


def test_my_work_shows_the_members_overdue_task_and_what_changed(signed_in, site):
    title = f"Revisar tarifas {next(_serial)}"
    _task_for_the_member(site, title, date.today() - timedelta(days=2))
    page = signed_in("member", language="en")

    tasks = page.locator("section", has=page.get_by_role("heading", name="My open tasks"))
    row = tasks.locator("li", has_text=title)
    assert "Overdue since" in row.inner_text()
    changes = page.locator("#my_changes")
    assert changes.get_by_text(f"Ana Coordinadora created the task {title}").count() == 1
    header = page.get_by_role("link", name=re.compile(r"Notifications, \d+ unread"))
    assert header.is_visible()
    check_accessibility(page)
    shoot(page, "my-work")


def test_the_header_counts_and_marking_read_lowers_the_count(signed_in, site):
    title = f"Preparar acta {next(_serial)}"
    _task_for_the_member(site, title, date.today() + timedelta(days=5))
    page = signed_in("member", "/notifications", language="en")
    before = _unread(page)
    assert before >= 1

    row = page.locator("li.unread", has_text=f"Ana Coordinadora assigned {title}")
    row.get_by_role("button", name=re.compile("Mark as read")).click()
    page.wait_for_load_state()

    assert page.get_by_role("status").first.inner_text() == "Marked as read."
    assert _unread(page) == before - 1
    assert page.locator("li.read", has_text=title).count() == 1
    check_accessibility(page)
    shoot(page, "notifications")


def test_the_groups_activity_page_tells_what_happened_in_sentences(signed_in, site):
    title = f"Nota de actividad {next(_serial)}"
    _api(
        site, "coordinator", "POST", f"/workspaces/{site.data.workspace_id}/memos",
        json={"title": title, "body": "Texto"},
    )  # fmt: skip
    page = signed_in("observer", f"/groups/{site.data.workspace_id}", language="en")
    aside = page.locator("#group_activity")
    assert aside.get_by_text(f"Ana Coordinadora wrote the memo {title}").count() == 1

    aside.get_by_role("link", name="All the activity of the group").click()
    page.wait_for_url(f"**/groups/{site.data.workspace_id}/activity")
    assert page.get_by_text(f"Ana Coordinadora wrote the memo {title}").count() == 1
    check_accessibility(page)
    shoot(page, "activity")


def _wait_until_staff_search_finds(site, word, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _api(site, "member", "GET", f"/search?q={word}")["total"] >= 1:
            return
        time.sleep(0.2)
    raise AssertionError(f"the index never showed {word!r}")


def test_search_with_highlights_and_a_group_facet(signed_in, site):
    word = f"rompeolas{next(_serial)}x"
    _api(
        site, "member", "POST", f"/workspaces/{site.data.workspace_id}/memos",
        json={"title": f"Obras del {word}", "body": f"El {word} protege la dársena."},
    )  # fmt: skip
    _wait_until_staff_search_finds(site, word)
    page = signed_in("member", "/work", language="en")
    page.get_by_label("Search my groups and the publications").first.fill(word)
    page.get_by_role("button", name="Search").first.click()
    page.wait_for_url("**/work/search?q=*")

    assert page.locator("mark.match").first.inner_text().lower() == word
    page.locator(".facets").get_by_role("link", name=re.compile("Estudios portuarios")).click()
    page.wait_for_url(re.compile(r"workspace_id=\d+"))
    assert page.get_by_role("status").inner_text() == "1 result"
    assert page.locator(".active-filters").get_by_text("Estudios portuarios").count() == 1
    check_accessibility(page)
    shoot(page, "search")

    outsider = signed_in("outsider", f"/work/search?q={word}", language="en")
    assert outsider.get_by_role("status").inner_text() == "Nothing matches these words."

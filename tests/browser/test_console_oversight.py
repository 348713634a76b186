"""The secretariat's oversight pages in a real browser: the audit log filtered and
downloaded as CSV, the health of the components; both accessible and usable at 390 px.
Nobody else reaches them."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import delete

from portal import create_app
from portal.extensions import db
from portal.mail import OutboxMessage

from ..conftest import TEST_SETTINGS
from .conftest import check_accessibility, shoot


def test_the_secretariat_filters_the_audit_log_and_downloads_it(signed_in, site):
    page = signed_in("secretariat", "/console", language="en")
    page.locator("nav.console a", has_text="Audit log").click()
    page.wait_for_url(site.url + "/console/audit")
    assert page.locator("table.audit tbody tr").count() > 0

    # Who published what: the secretariat, "Published".
    secretariat = site.data.people.secretariat
    page.locator("#actor").select_option(str(secretariat.id))
    page.locator("#verb").select_option("publication.approved")
    page.locator("form.audit-filters button[type=submit]").click()
    page.wait_for_url(re.compile(r"verb=publication\.approved"))
    rows = page.locator("table.audit tbody tr")
    shown = rows.count()
    assert shown >= 2
    for row in rows.all():
        assert f"{secretariat.name} published" in row.inner_text()
    heading = page.locator("#results-title").inner_text()
    assert heading == f"{shown} events"
    check_accessibility(page)
    shoot(page, "audit", "console")

    with page.expect_download() as started:
        page.locator("a", has_text="Download as CSV").click()
    download = started.value
    assert re.fullmatch(r"audit-log-\d{4}-\d\d-\d\d-\d{4}\.csv", download.suggested_filename)
    with open(download.path(), encoding="utf-8-sig") as file:
        table = list(csv.reader(io.StringIO(file.read())))
    assert table[0][:4] == ["Time (UTC)", "Actor", "E-mail", "Verb"]
    assert len(table) == 1 + shown
    assert {row[3] for row in table[1:]} == {"publication.approved"}
    assert all(row[4].startswith(f"{secretariat.name} published “") for row in table[1:])


def test_an_unreadable_filter_is_named_beside_its_field(signed_in, site):
    page = signed_in("secretariat", "/console/audit", language="en")
    page.locator("#from_date").fill("2026-03-05")
    page.locator("#to_date").fill("2026-03-01")
    page.locator("form.audit-filters button[type=submit]").click()

    page.wait_for_url(re.compile(r"to_date="))
    assert page.locator("#to_date-error").inner_text() == "Choose a day on or after the first day."
    assert page.locator("#to_date").get_attribute("aria-invalid") == "true"
    check_accessibility(page)


def test_the_secretariat_opens_the_health_page(signed_in, site):
    page = signed_in("secretariat", "/console", language="en")
    page.locator("nav.console a", has_text="Health").click()
    page.wait_for_url(site.url + "/console/health")

    assert page.locator("h1").inner_text() == "Health of the components"
    cards = page.locator("ul.health > li")
    assert cards.count() == 5
    database = cards.filter(has_text="Database")
    assert "Works" in database.locator(".badge").inner_text()
    mail = cards.filter(has_text="E-mail").inner_text()
    assert ".eml file" in mail and "PORTAL_MAIL_SERVER" in mail  # the site has no mail server
    assert "Not configured" in cards.filter(has_text="Redis").inner_text()
    check_accessibility(page)
    shoot(page, "health", "console")


@pytest.fixture
def failed_mail(site) -> Iterator[None]:
    """Two messages of the site's queue that failed for good, removed afterwards."""
    folder = site.server.log.parent
    app = create_app(
        {"INSTANCE_PATH": str(folder), "DATABASE_URL": f"sqlite:///{folder}/portal.db",
         **TEST_SETTINGS}
    )  # fmt: skip
    with app.app_context():
        rows = [
            OutboxMessage(
                recipient="nadie@ports.example", subject="Hola", text_body="x",
                html_body="<p>x</p>", message_id=f"<{uuid.uuid4().hex}@portal.test>",
                status="failed", last_error="550 5.1.1 <nadie@ports.example>: mailbox unavailable",
            )
            for _ in range(2)
        ]  # fmt: skip
        db.session.add_all(rows)
        db.session.commit()
        ids = [row.id for row in rows]
        db.session.remove()
    yield
    with app.app_context():
        db.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids)))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def test_a_component_in_trouble_says_what_to_do(signed_in, failed_mail):
    page = signed_in("secretariat", "/console/health", language="en")

    summary = page.locator(".health-summary").inner_text()
    assert "1 component needs attention: E-mail." in summary
    mail = page.locator("ul.health > li", has_text="E-mail")
    assert mail.locator(".badge").inner_text() == "Needs attention"
    advice = mail.locator(".advice").inner_text()
    assert "2 messages could not be sent and will not be retried" in advice
    assert "mailbox unavailable" in advice
    check_accessibility(page)
    shoot(page, "health-trouble", "console")


def test_nobody_else_reaches_them(signed_in, site):
    for path in ("/console/audit", "/console/health"):
        page = signed_in("coordinator", path, language="en")
        assert page.locator("h1").inner_text() == "Page not found"
        assert page.locator("nav.console").count() == 0


def test_the_overview_leads_to_every_section_and_the_queue_is_one_of_them(signed_in, site):
    page = signed_in("secretariat", "/console", language="en")
    menu = page.locator("nav.console a")
    assert menu.count() == 10
    assert page.locator("nav.console a[aria-current=page]").inner_text() == "Overview"
    check_accessibility(page)
    shoot(page, "overview", "console")

    page.locator("ul.figures a").click()  # the requests awaiting review
    page.wait_for_url(site.url + "/review")
    assert page.locator("nav.console a[aria-current=page]").inner_text() == "Publication requests"
    check_accessibility(page)
    shoot(page, "publication-requests", "console")

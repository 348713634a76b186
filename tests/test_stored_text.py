"""Text stored before the input checks (or written by other means) with characters XML
cannot hold never breaks the outputs that must parse: the Atom feed, the sitemap and
iCalendar files. (PostgreSQL cannot store NUL at all; SQLite can.)"""

from __future__ import annotations

import re
from xml.etree import ElementTree

import icalendar
import pytest
from sqlalchemy import text

from portal.extensions import db

from .public.conftest import published_world  # noqa: F401  # the fixture
from .test_bad_input import planning  # noqa: F401  # the fixture

ATOM = "{http://www.w3.org/2005/Atom}"
# Control characters iCalendar text cannot hold (CRLF only ends its lines).
ICAL_CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|\r(?!\n)|(?<!\r)\n")


def _stored_text(app) -> str:
    with app.app_context():
        nul = "\x00" if db.engine.dialect.name == "sqlite" else ""
    return f"Acta{nul}\x01\x08\x0b\x0c\x1b\x1f final\ufffe"


def _write(app, statement: str, **params) -> None:
    with app.app_context():
        db.session.execute(text(statement), params)
        db.session.commit()


def test_xml_safe_keeps_what_xml_holds_and_drops_the_rest():
    from portal.text import xml_safe

    assert xml_safe("Acta\x00\x01\x0b\x1f\ud800\ufffe\uffff final") == "Acta final"
    assert xml_safe("Reunión\tañadida\r\nnueva 🚢 ok") == "Reunión\tañadida\r\nnueva 🚢 ok"


def test_the_atom_feed_parses_whatever_is_stored(app, api, published_world):  # noqa: F811
    stored = _stored_text(app)
    _write(
        app,
        "UPDATE published_items SET title = :t, summary = :s WHERE item_id = :id",
        t=stored,
        s=stored,
        id=published_world.published_memo_id,
    )
    _write(app, "UPDATE communities SET name = :t", t=stored)

    response = api.get("/public/feed.atom")

    assert response.status_code == 200
    feed = ElementTree.fromstring(response.data)  # noqa: S314 - our own response
    titles = [entry.findtext(f"{ATOM}title") for entry in feed.iter(f"{ATOM}entry")]
    assert "Acta final" in titles


def test_the_sitemap_parses_whatever_is_stored(app, published_world):  # noqa: F811
    _write(
        app,
        "UPDATE published_items SET slug = :t WHERE item_id = :id",
        t=_stored_text(app),
        id=published_world.published_memo_id,
    )

    response = app.test_client().get("/sitemap.xml")

    assert response.status_code == 200
    sitemap = ElementTree.fromstring(response.data)  # noqa: S314 - our own response
    assert len(sitemap) == 3 + 2  # the static pages and the two publications


@pytest.mark.parametrize("calendar", ["meeting", "workspace"])
def test_icalendar_parses_whatever_is_stored(app, as_user, planning, calendar):  # noqa: F811
    stored = _stored_text(app)
    _write(app, "UPDATE items SET title = :t WHERE id = :id", t=stored, id=planning.meeting_id)
    _write(
        app,
        "UPDATE meetings SET location = :t, guidelines = :g WHERE id = :id",
        t=stored,
        g=stored,
        id=planning.meeting_id,
    )
    _write(app, "UPDATE workspaces SET name = :t WHERE id = :id", t=stored, id=planning.ws_id)
    path = (
        f"/meetings/{planning.meeting_id}.ics"
        if calendar == "meeting"
        else f"/workspaces/{planning.ws_id}/calendar.ics"
    )

    response = as_user(planning.member).get(path)

    assert response.status_code == 200
    assert ICAL_CONTROLS.search(response.data) is None
    parsed = icalendar.Calendar.from_ical(response.data)
    assert str(parsed["x-wr-calname"]) == "Acta final"
    (event,) = [e for e in parsed.walk("VEVENT") if str(e["summary"]) == "Acta final"]
    assert str(event["location"]) == "Acta final"

"""Network statistics: the secretariat's figures by community, member state and month
(page and CSV), and the counters of public downloads and searches that feed them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from sqlalchemy import event, select, text, update

from portal import events
from portal.extensions import db
from portal.public import service as publication
from portal.public import statistics
from portal.public.models import PublicationRequest, PublicCount
from portal.workspaces import service as workspaces
from portal.workspaces.models import Item, Role

from ..documents import samples
from ..documents.conftest import upload
from ..factories import make_community, make_user, user_ref

PERIOD = {"start": "2025-01", "end": "2025-02"}


class Tables(HTMLParser):
    """Each table of a page: its heading (the h3 that names it) -> its rows, each a list
    of cell texts."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._heading: list[str] | None = None
        self._name = ""
        self._rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "h3":
            self._heading = []
        elif tag == "table":
            self._rows = []
        elif tag == "tr":
            self._rows.append([])
        elif tag in ("th", "td"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "h3" and self._heading is not None:
            self._name = "".join(self._heading).strip()
            self._heading = None
        elif tag == "table":
            self.tables[self._name] = self._rows
        elif tag in ("th", "td") and self._cell is not None:
            self._rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)
        elif self._cell is not None:
            self._cell.append(data)


def _moment(month: str) -> datetime:
    year, number = map(int, month.split("-"))
    return datetime(year, number, 15, 12, tzinfo=UTC)


def _move_item(item_id: int, month: str) -> None:
    """Arrange: the item, and every event about it, happened in that month."""
    db.session.execute(update(Item).where(Item.id == item_id).values(created_at=_moment(month)))
    db.session.execute(
        update(events.Event).where(events.Event.item_id == item_id).values(at=_moment(month))
    )


@pytest.fixture
def figures_world(app):
    """Two communities in two member states, what their people did in January and
    February 2025 (everything else happens now, outside that period):

    - Alfa (CO): a1 creates a memo in January; a1 and a2 each create one in February,
      a1's is published (submitted by a1, approved by the secretariat) in February;
      3 public downloads in January, 1 search limited to Alfa in February.
    - Beta (PA): b1 creates a task in January and signs in in February; 2 downloads in
      February.
    - No community: the secretariat's approval (February); 5 searches in January.
    """
    with app.app_context():
        alfa = make_community("CO", name="Comunidad Alfa")
        beta = make_community("PA", name="Comunidad Beta")
        secretariat = make_user(secretariat=True, locale="en")
        a1 = make_user(community_id=alfa.id, name="A Uno")
        a2 = make_user(community_id=alfa.id, name="A Dos")
        b1 = make_user(community_id=beta.id, name="B Uno")
        group = workspaces.create_workspace(secretariat, name="Ventanilla única")
        workspaces.set_membership(secretariat, group, a1, Role.coordinator)
        workspaces.set_membership(secretariat, group, a2, Role.member)
        workspaces.set_membership(secretariat, group, b1, Role.member)
        from portal.memos.service import create_memo
        from portal.tasks.service import create_task

        _move_item(create_memo(a1, group, title="Enero", body="x").id, "2025-01")
        _move_item(create_task(b1, group, title="Tarea de enero").id, "2025-01")
        published = create_memo(a1, group, title="Febrero", body="y")
        _move_item(create_memo(a2, group, title="Febrero 2", body="z").id, "2025-02")
        publication.submit(a1, published, "")
        publication.approve(secretariat, published)
        _move_item(published.id, "2025-02")
        db.session.execute(
            update(PublicationRequest)
            .where(PublicationRequest.item_id == published.id)
            .values(decided_at=_moment("2025-02"), submitted_at=_moment("2025-02"))
        )
        sign_in = events.record("auth.login", actor=b1)
        db.session.flush()
        sign_in.at = _moment("2025-02")
        for day, metric, community, total in [
            (date(2025, 1, 3), "download", alfa.id, 2),
            (date(2025, 1, 20), "download", alfa.id, 1),
            (date(2025, 2, 1), "download", beta.id, 2),
            (date(2025, 1, 9), "search", 0, 5),
            (date(2025, 2, 9), "search", alfa.id, 1),
        ]:
            db.session.add(PublicCount(day=day, metric=metric, community_id=community, total=total))
        db.session.commit()
        world = SimpleNamespace(
            secretariat=user_ref(secretariat), alfa=alfa.slug, beta=beta.slug, alfa_id=alfa.id
        )
        db.session.remove()
        return world


def _page(as_user, world, **params):
    client = as_user(world.secretariat).client
    client.set_cookie("portal_lang", "en")
    response = client.get("/console/statistics", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    html = response.get_data(as_text=True)
    # A chart per figure, named for assistive technology, styled without inline styles.
    assert html.count('<svg class="bar-chart"') == 5 and html.count("<title id=") == 5
    assert " style=" not in html
    return Tables(html).tables


def test_the_figures_by_community_and_month(as_user, figures_world):
    tables = _page(as_user, figures_world, **PERIOD)

    head = ["Community", "Jan 2025", "Feb 2025"]
    assert tables["Active users by community and month"] == [
        head,
        ["Comunidad Alfa", "1", "2"],
        ["Comunidad Beta", "1", "1"],
        ["No community", "0", "1"],
        ["Whole network", "2", "4"],
    ]
    assert tables["Items created by community and month"] == [
        [*head, "Total"],
        ["Comunidad Alfa", "1", "2", "3"],
        ["Comunidad Beta", "1", "0", "1"],
        ["No community", "0", "0", "0"],
        ["Whole network", "2", "2", "4"],
    ]
    assert tables["Items created over the period by community and type"] == [
        ["Community", "Document", "Memo", "Task", "Meeting"],
        ["Comunidad Alfa", "0", "3", "0", "0"],
        ["Comunidad Beta", "0", "0", "1", "0"],
        ["No community", "0", "0", "0", "0"],
        ["Whole network", "0", "3", "1", "0"],
    ]
    assert tables["Publications approved by community and month"][1:] == [
        ["Comunidad Alfa", "0", "1", "1"],
        ["Comunidad Beta", "0", "0", "0"],
        ["No community", "0", "0", "0"],
        ["Whole network", "0", "1", "1"],
    ]
    assert tables["Public downloads by community and month"][1:] == [
        ["Comunidad Alfa", "3", "0", "3"],
        ["Comunidad Beta", "0", "2", "2"],
        ["No community", "0", "0", "0"],
        ["Whole network", "3", "2", "5"],
    ]
    assert tables["Public searches by community and month"][1:] == [
        ["Comunidad Alfa", "0", "1", "1"],
        ["Comunidad Beta", "0", "0", "0"],
        ["No community", "5", "0", "5"],
        ["Whole network", "5", "1", "6"],
    ]


def test_the_figures_by_member_state(as_user, figures_world):
    tables = _page(as_user, figures_world, by="state", **PERIOD)

    assert tables["Active users by member state and month"] == [
        ["Member state", "Jan 2025", "Feb 2025"],
        ["Colombia", "1", "2"],
        ["Panama", "1", "1"],
        ["No member state", "0", "1"],
        ["Whole network", "2", "4"],
    ]
    assert tables["Public downloads by member state and month"][1:3] == [
        ["Colombia", "3", "0", "3"],
        ["Panama", "0", "2", "2"],
    ]


def test_the_default_period_is_the_last_twelve_months(as_user, figures_world):
    tables = _page(as_user, figures_world)

    head = tables["Active users by community and month"][0]
    assert len(head) == 1 + 12
    this_month = datetime.now(UTC).strftime("%b %Y")
    assert head[-1] == this_month


def test_a_month_that_cannot_be_read_is_named_beside_its_field(as_user, figures_world):
    client = as_user(figures_world.secretariat).client
    client.set_cookie("portal_lang", "en")

    response = client.get("/console/statistics?start=2025-13&end=2025-02")
    bad_order = client.get("/console/statistics?start=2025-03&end=2025-02")
    too_long = client.get("/console/statistics?start=2020-01&end=2025-02")
    ancient = client.get("/console/statistics?start=0001-01&end=0001-02")

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="start-error"' in html and 'value="2025-13"' in html  # as typed
    assert ancient.status_code == 400 and 'id="end-error"' in ancient.get_data(as_text=True)
    assert bad_order.status_code == 400 and 'id="end-error"' in bad_order.get_data(as_text=True)
    assert "36 months at most" in too_long.get_data(as_text=True)
    assert client.get("/console/statistics.csv?start=nope").status_code == 400


def test_the_csv_holds_the_same_figures(as_user, figures_world):
    client = as_user(figures_world.secretariat).client
    client.set_cookie("portal_lang", "en")

    response = client.get("/console/statistics.csv", query_string=PERIOD)

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.is_streamed
    assert "attachment" in response.headers["Content-Disposition"]
    text_ = response.get_data(as_text=True)
    assert text_.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text_.removeprefix("\ufeff"))))
    assert lines[0] == ["Figure", "Type", "Community", "Code", "Month", "Count"]
    figures = {(f, t, name, month): int(n) for f, t, name, _code, month, n in lines[1:]}
    assert figures["Active users", "", "Comunidad Alfa", "2025-02"] == 2
    assert figures["Active users", "", "No community", "2025-02"] == 1
    assert figures["Items created", "Memo", "Comunidad Alfa", "2025-02"] == 2
    assert figures["Items created", "Task", "Comunidad Beta", "2025-01"] == 1
    assert figures["Publications approved", "", "Comunidad Alfa", "2025-02"] == 1
    assert figures["Public downloads", "", "Comunidad Beta", "2025-02"] == 2
    assert figures["Public searches", "", "No community", "2025-01"] == 5
    assert sum(n for (f, *_rest), n in figures.items() if f == "Items created") == 4
    codes = {name: code for _f, _t, name, code, _m, _n in lines[1:]}
    assert codes["Comunidad Alfa"] == figures_world.alfa


def test_the_csv_never_starts_a_cell_with_a_formula(app, as_user, figures_world):
    with app.app_context():
        make_community("CO", name='=HYPERLINK("https://evil.example","x")')

    client = as_user(figures_world.secretariat).client
    lines = client.get("/console/statistics.csv").get_data(as_text=True).splitlines()

    names = [line for line in lines if "HYPERLINK" in line]
    assert names and all("'=HYPERLINK" in line for line in names)


def test_the_report_runs_the_same_queries_whatever_the_network_size(app, figures_world):
    def queries() -> int:
        statements: list[str] = []

        def count(*args) -> None:
            statements.append(args[2])

        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", count)
            try:
                statistics.report(date(2025, 1, 1), date(2025, 2, 1), "community")
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    before = queries()
    with app.app_context():
        for n in range(5):
            make_community("PA", name=f"Comunidad extra {n}")

    assert queries() == before <= 6


# --- who may see it ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/console/statistics", "/console/statistics.csv"])
@pytest.mark.parametrize(
    ("role", "status"),
    [("outsider", 404), ("observer", 404), ("member", 404), ("coordinator", 404),
     ("bystander", 404), ("secretariat", 200)],
)  # fmt: skip
def test_only_the_secretariat_sees_the_statistics(as_user, world, role, status, path):
    client = as_user(getattr(world, role)).client
    client.set_cookie("portal_lang", "en")

    response = client.get(path)

    assert response.status_code == status
    if status == 404:
        assert "Statistics" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/console/statistics", "/console/statistics.csv"])
def test_a_visitor_is_sent_to_sign_in(app, path):
    response = app.test_client().get(path)

    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_console_menu_links_the_statistics(as_user, world):
    client = as_user(world.secretariat).client

    assert 'href="/console/statistics"' in client.get("/console").get_data(as_text=True)


# --- the public counters -----------------------------------------------------------------------


def _counts(app) -> dict[tuple[str, int], int]:
    with app.app_context():
        today = datetime.now(UTC).date()
        rows = db.session.execute(
            select(PublicCount.metric, PublicCount.community_id, PublicCount.total).where(
                PublicCount.day == today
            )
        )
        return {(metric, community): total for metric, community, total in rows}


@pytest.fixture
def published_file(item_world, as_user, publish):
    """`item_world` with a published PDF of its coordinator (of its community)."""
    document = upload(
        as_user(item_world.coordinator),
        item_world.ws_id,
        samples.pdf("Estudio de tiempos en el puerto"),
        "Estudio.pdf",
        title="Estudio de tiempos",
    )
    assert document.status_code == 201, document.get_json()
    item_world.document_id = document.get_json()["id"]
    publish(item_world, item_world.document_id)
    return item_world


def test_public_downloads_are_counted_for_the_file_s_community(app, api, published_file):
    path = f"/public/documents/{published_file.document_id}/download"

    whole = api.get(path)
    api.get(path)
    part = api.get(path, headers={"Range": "bytes=0-9"})
    unchanged = api.get(path, headers={"If-None-Match": whole.headers["ETag"]})
    missing = api.get(f"/public/documents/{published_file.memo_id}/download")

    assert whole.status_code == 200
    assert (part.status_code, unchanged.status_code, missing.status_code) == (206, 304, 404)
    assert _counts(app) == {("download", published_file.community_id): 2}


def test_public_searches_are_counted_on_the_page_and_the_api(app, api, published_file, sync):
    sync()
    with app.app_context():
        from portal.network.models import Community

        slug = db.session.get(Community, published_file.community_id).slug
    visitor = app.test_client()

    assert visitor.get("/search?q=estudio").status_code == 200
    assert visitor.get("/search?q=estudio&page=2").status_code == 200  # the same search
    assert visitor.get("/search").status_code == 200  # the catalogue, browsed
    assert api.get(f"/public/search?q=estudio&community={slug}").status_code == 200
    assert api.get("/public/search?community=no-such-community").status_code == 200

    assert _counts(app) == {("search", 0): 3, ("search", published_file.community_id): 1}


def test_counting_adds_one_statement_to_a_public_request(app, api, published_file):
    statements: list[str] = []

    def record(*args) -> None:
        statements.append(args[2])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        api.get(f"/public/documents/{published_file.document_id}/download")
        api.get("/public/search?q=estudio")
    finally:
        event.remove(engine, "before_cursor_execute", record)

    counting = [sql for sql in statements if "public_counts" in sql]
    assert len(counting) == 2
    assert all(sql.startswith("INSERT") and "ON CONFLICT" in sql for sql in counting)


def test_the_signed_in_search_of_publications_is_not_a_public_search(app, as_user, world):
    client = as_user(world.member).client

    assert client.get("/work/search?q=estudio&scope=publications").status_code == 200

    assert _counts(app) == {}


def test_the_counted_figures_reach_the_console(app, api, as_user, published_file):
    api.get(f"/public/documents/{published_file.document_id}/download")
    app.test_client().get("/search?q=puerto")

    client = as_user(published_file.secretariat).client
    client.set_cookie("portal_lang", "en")
    tables = Tables(client.get("/console/statistics").get_data(as_text=True)).tables

    downloads = tables["Public downloads by community and month"]
    assert downloads[-1][-1] == "1"  # the whole network over the period
    assert tables["Public searches by community and month"][-1][-1] == "1"


def test_a_counting_failure_does_not_break_the_public_search(
    app, api, published_file, sync, monkeypatch, caplog
):
    sync()
    monkeypatch.setattr(
        statistics, "_upsert", lambda *args: text("INSERT INTO no_such_table VALUES (1)")
    )
    # Alembic's logging set-up (the migrations of the test database) turns it off.
    monkeypatch.setattr(statistics.log, "disabled", False)
    visitor = app.test_client()

    page = visitor.get("/search?q=estudio")
    found = api.get("/public/search?q=estudio")
    download = api.get(f"/public/documents/{published_file.document_id}/download")

    assert page.status_code == 200 and "Estudio de tiempos" in page.get_data(as_text=True)
    assert found.status_code == 200 and found.get_json()["total"] == 1
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert caplog.text.count("could not be counted") == 3
    monkeypatch.undo()
    # The connection came back clean: the next search is served and counted.
    assert visitor.get("/search?q=estudio").status_code == 200
    assert _counts(app) == {("search", 0): 1}

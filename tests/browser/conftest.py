"""Browser tests: the system Chromium driven by Playwright against a real `portal serve`.

The site is one `portal serve` process (gunicorn, the indexer thread) on a free
loopback port, with its own instance folder: SQLite, the local blob store and
the search index. Its data is made through the real services, in this process
for the network and its people, and through the server's HTTP API for what a
coordinator and the secretariat do (upload, submit, approve).

No browser is downloaded: Playwright launches /usr/bin/chromium. Without it
(or without Playwright) the tests are skipped, and fail under
PORTAL_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask_migrate import upgrade

from portal import create_app
from portal.extensions import db
from portal.search.indexer import search_index

from ..conftest import TEST_SETTINGS, missing_service
from ..servers import ROOT, PortalServer

CHROMIUM = Path("/usr/bin/chromium")
# The password of the people who sign in through the pages.
PASSWORD = "browser-tests-2026"
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """The system Chromium, headless."""
    if not CHROMIUM.exists():
        missing_service(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_service("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


def make_network() -> SimpleNamespace:
    """Member states, communities and people, through the services (tests/factories)."""
    from portal.accounts import service as accounts
    from portal.network import service as network
    from portal.workspaces import service as workspaces
    from portal.workspaces.models import Role

    from ..factories import make_user, user_ref

    network.create_member_state(None, "CO", "Colombia")
    network.create_member_state(None, "PA", "Panamá")
    cartagena = network.create_community(
        None,
        name="Comunidad Logística de Cartagena",
        port="Cartagena",
        member_state="CO",
        description="Operadores, navieras y autoridades del puerto de Cartagena.",
        website="https://cartagena.example",
    )
    colon = network.create_community(
        None, name="Comunidad Portuaria de Colón", port="Colón", member_state="PA"
    )
    # A long name, as people have: the header must hold it.
    secretariat = make_user(
        secretariat=True, name="María Fernanda Castillo Rodríguez", password=PASSWORD
    )
    coordinator = make_user(name="Ana Coordinadora", community_id=cartagena.id, password=PASSWORD)
    colleague = make_user(name="Luis Coordinador", community_id=colon.id, password=PASSWORD)
    member = make_user(name="Marta Miembro", community_id=cartagena.id, password=PASSWORD)
    observer = make_user(name="Óscar Observador", community_id=colon.id, password=PASSWORD)
    outsider = make_user(name="Pedro Ajeno", community_id=colon.id, password=PASSWORD)
    group = workspaces.create_workspace(secretariat, name="Estudios portuarios")
    workspaces.set_membership(secretariat, group, coordinator, Role.coordinator)
    workspaces.set_membership(secretariat, group, colleague, Role.coordinator)
    workspaces.set_membership(secretariat, group, member, Role.member)
    workspaces.set_membership(secretariat, group, observer, Role.observer)
    # Another group: the outsider coordinates it and reads nothing of the first.
    other = workspaces.create_workspace(secretariat, name="Comité de tarifas")
    workspaces.set_membership(secretariat, other, outsider, Role.coordinator)
    workspaces.set_membership(secretariat, other, coordinator, Role.member)
    people = {
        "secretariat": secretariat,
        "coordinator": coordinator,
        "colleague": colleague,
        "member": member,
        "observer": observer,
        "outsider": outsider,
    }
    tokens = {
        name: accounts.create_token(person, "browser tests", 1)[1]
        for name, person in people.items()
    }
    return SimpleNamespace(
        workspace_id=group.id,
        other_workspace_id=other.id,
        people=SimpleNamespace(**{name: user_ref(person) for name, person in people.items()}),
        secretariat_email=secretariat.email,
        cartagena=cartagena.slug,
        colon=colon.slug,
        coordinator=user_ref(coordinator),
        tokens=SimpleNamespace(**tokens),
    )


# A word that only the PDFs' text holds (not their titles).
PDF_WORD = "intermodalidad"


def publish_documents(server: PortalServer, data: SimpleNamespace) -> None:
    """What people do, through the server's API: each coordinator uploads a PDF and
    submits it, the secretariat approves; a third PDF stays private."""
    from ..documents import samples

    def call(token: str, method: str, path: str, **kwargs: Any) -> Any:
        response = server.api(method, path, token, **kwargs)
        assert response.status_code in {200, 201}, (path, response.text)
        return response.json()

    documents = [
        ("coordinator", "Estudio de tiempos de despacho", "Estudio_Cartagena.pdf", True),
        ("colleague", "Informe anual de Colón", "Informe_Colon.pdf", True),
        ("coordinator", "Borrador interno", "Borrador.pdf", False),
    ]
    data.pdfs = {}
    for who, title, filename, public in documents:
        token = getattr(data.tokens, who)
        content = samples.pdf(f"Plan de {PDF_WORD} del puerto: {title}")
        document = call(
            token,
            "POST",
            f"/workspaces/{data.workspace_id}/documents",
            files={"file": (filename, content, "application/pdf")},
            data={"title": title, "language": "es", "tags": "puertos, logística"},
        )
        data.pdfs[title] = SimpleNamespace(id=document["id"], content=content, filename=filename)
        if public:
            publication = f"/items/{document['id']}/publication"
            call(token, "POST", publication, json={"action": "submit", "note": "Para publicar"})
            call(data.tokens.secretariat, "POST", publication, json={"action": "approve"})


def wait_until_searchable(server: PortalServer, word: str, count: int, timeout: float = 30) -> None:
    """The indexer thread applies the events in the background: wait for it."""
    import time

    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = requests.get(f"{server.url}/api/v1/public/search?q={word}", timeout=5).json()
        if answer.get("total") == count:
            return
        time.sleep(0.2)
    raise AssertionError(f"the index never showed {count} hits for {word!r}: {answer}")


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """A running portal with the network and its publications; `site.url`, `site.data`."""
    folder = tmp_path_factory.mktemp("browser-site")
    database_url = f"sqlite:///{folder}/portal.db"
    setup = create_app(
        {
            "INSTANCE_PATH": str(folder),
            "DATABASE_URL": database_url,
            **TEST_SETTINGS,
        }
    )
    with setup.app_context():
        upgrade(directory=setup.extensions["migrate"].directory)
        search_index(setup).create_if_missing(cursor=0)
        data = make_network()
        db.session.remove()
        db.engine.dispose()
    server = PortalServer(
        folder,
        database_url,
        env={"PORTAL_INDEXER": "thread", "PORTAL_STORAGE": "local", "PORTAL_REDIS_URL": ""},
        threads=8,
    )
    try:
        server.wait_ready()
        publish_documents(server, data)
        wait_until_searchable(server, PDF_WORD, 2)
        yield SimpleNamespace(url=server.url, server=server, data=data)
    finally:
        server.stop()


@pytest.fixture
def visit(browser: Any, site: SimpleNamespace) -> Iterator[Any]:
    """`visit(path, javascript=True, language="es")` -> a Playwright page at `site.url + path`."""
    contexts = []

    def open_page(path: str = "/", *, javascript: bool = True, language: str = "es") -> Any:
        context = browser.new_context(
            java_script_enabled=javascript,
            locale=language,
            extra_http_headers={"Accept-Language": language},
            accept_downloads=True,
        )
        contexts.append(context)
        page = context.new_page()
        page.goto(site.url + path)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def signed_in(browser: Any, site: SimpleNamespace) -> Iterator[Any]:
    """`signed_in(who, path="/work", language="es", javascript=True, width=1280)` -> a
    Playwright page of a fresh browser where `who` (a name of `site.data.people`) signed
    in through the API's login (the page's session cookie), opened at `path`."""
    contexts = []

    def open_page(
        who: str,
        path: str = "/work",
        *,
        language: str = "es",
        javascript: bool = True,
        width: int = 1280,
    ) -> Any:
        context = browser.new_context(
            java_script_enabled=javascript,
            locale=language,
            timezone_id="America/Bogota",
            extra_http_headers={"Accept-Language": language},
            viewport={"width": width, "height": 900},
            accept_downloads=True,
        )
        contexts.append(context)
        person = getattr(site.data.people, who)
        answer = context.request.post(
            site.url + "/api/v1/auth/login", data={"email": person.email, "password": PASSWORD}
        )
        assert answer.status == 200, answer.text()
        page = context.new_page()
        page.goto(site.url + path)
        return page

    yield open_page
    for context in contexts:
        context.close()


AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
# The rules of WCAG 2.0 and 2.1, levels A and AA.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def check_accessibility(page: Any) -> None:
    """axe-core (injected into the page) finds no WCAG 2.1 A or AA violation.

    Evaluated through the browser's debugging protocol, which the page's
    Content-Security-Policy (no inline scripts) does not govern."""
    page.evaluate(AXE.read_text() + "\n;0")
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA
    )
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(node["target"][0] if node["target"] else "?" for node in v["nodes"][:5])
        for v in result["violations"]
    ]
    assert not problems, f"{page.url}:\n" + "\n".join(problems)


def shoot(page: Any, name: str, folder_name: str = "workspace") -> None:
    """Screenshots of a page type at desktop width and at 390 px (a phone), under
    tests/artifacts/<folder_name>/, for review; the page is left at its first width."""
    folder = ARTIFACTS / folder_name
    folder.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.screenshot(path=str(folder / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(folder / f"{name}-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, (
        f"{name} is wider than a 390 px screen"
    )
    page.set_viewport_size(size)


def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot in tests/artifacts/ (git-ignored), for review."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

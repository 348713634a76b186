"""The document pages without a browser: every route as every role, the upload form
without JavaScript (several files, refusals in words, nothing left of a refused file),
metadata editing with its version check, versions, check-out and release."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from portal.documents import service
from portal.documents.models import Blob, Document, DocumentVersion
from portal.documents.storage import current_store
from portal.documents.upload import received_bytes
from portal.extensions import db

from ..conftest import sign_in_session
from ..documents import samples

ROLES = ("coordinator", "member", "observer", "outsider")


@pytest.fixture(autouse=True)
def empty_local_store(app: Flask) -> Iterator[None]:
    yield
    shutil.rmtree(Path(app.instance_path) / "blobs", ignore_errors=True)


@pytest.fixture
def small_uploads(app: Flask) -> Iterator[None]:
    """A limit of 1 MB for the test."""
    original = app.config["PORTAL"]["MAX_UPLOAD_MB"]
    app.config["PORTAL"]["MAX_UPLOAD_MB"] = 1
    yield
    app.config["PORTAL"]["MAX_UPLOAD_MB"] = original


def client_of(app: Flask, world: Any, who: str) -> Any:
    """A signed-in client reading the pages in English (the world's people read Spanish)."""
    client = app.test_client()
    sign_in_session(client, getattr(world, who))
    client.set_cookie("portal_lang", "en")
    return client


def make_document(
    app: Flask,
    world: Any,
    data: bytes = b"Orden del dia: puertos",
    filename: str = "agenda.txt",
    who: str = "member",
    **meta: Any,
) -> int:
    from portal.accounts.models import User
    from portal.workspaces.models import Workspace

    with app.app_context():
        document = service.create_document(
            db.session.get(User, getattr(world, who).id),
            db.session.get(Workspace, world.ws_id),
            received_bytes(current_store(), data, filename),
            **meta,
        )
        return document.id


def csrf_of(client: Any, path: str) -> str:
    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert match, page.status_code
    return match.group(1)


def counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(  # type: ignore[return-value]
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Document, DocumentVersion, Blob)
        )


def stored_blobs(app: Flask) -> list[str]:
    with app.app_context():
        return [key for key, *_ in current_store().list_blobs()]


def post_files(client: Any, path: str, token: str | None, files: list, **fields: str) -> Any:
    """A multipart form as the browser sends it: the CSRF token first, then the files."""
    data: dict[str, Any] = {} if token is None else {"csrf_token": token}
    data["file"] = [(io.BytesIO(content), name) for name, content in files]
    data.update(fields)
    return client.post(path, data=data, content_type="multipart/form-data")


def text_of(response: Any) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


# --- the list -------------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [*[(r, 200) for r in ROLES[:3]], ("outsider", 404)])
def test_the_list_by_role(app, world, who, status):
    document_id = make_document(app, world, samples.pdf(), "Agenda.pdf", title="Agenda de mayo")
    response = client_of(app, world, who).get(f"/groups/{world.ws_id}/documents")
    assert response.status_code == status
    if status == 200:
        page = text_of(response)
        assert f'href="/documents/{document_id}"' in page
        assert "Agenda de mayo" in page and "PDF" in page
        upload_link = f"/groups/{world.ws_id}/documents/new"
        assert (upload_link in page) is (who != "observer")


def test_the_list_needs_a_sign_in(app, world):
    response = app.test_client().get(f"/groups/{world.ws_id}/documents")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_list_shows_who_holds_the_check_out(app, world):
    document_id = make_document(app, world)
    member = client_of(app, world, "member")
    token = csrf_of(member, f"/documents/{document_id}")
    assert (
        member.post(
            f"/documents/{document_id}/checkout", data={"csrf_token": token, "hours": "24"}
        ).status_code
        == 303
    )
    page = text_of(client_of(app, world, "observer").get(f"/groups/{world.ws_id}/documents"))
    assert "Member Person" in page


def _queries(app: Flask, client: Any, path: str) -> int:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_list_costs_the_same_queries_for_few_and_many_and_pages(app, world):
    for n in range(3):
        make_document(app, world, f"uno {n}".encode(), f"uno-{n}.txt")
    member = client_of(app, world, "member")
    path = f"/groups/{world.ws_id}/documents"
    few = _queries(app, member, path)
    for n in range(30):
        make_document(app, world, f"dos {n}".encode(), f"dos-{n}.txt", who="coordinator")
    assert _queries(app, member, path) == few
    first = text_of(member.get(path))
    assert first.count('href="/documents/') == 25
    assert "dos-29.txt" in first and "uno-0.txt" not in first  # newest first
    second = text_of(member.get(path + "?page=2"))
    assert second.count('href="/documents/') == 8 and "uno-0.txt" in second


# --- uploading without JavaScript ----------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"), [("coordinator", 200), ("member", 200), ("observer", 403), ("outsider", 404)]
)
def test_the_upload_page_by_role(app, world, who, status):
    response = client_of(app, world, who).get(f"/groups/{world.ws_id}/documents/new")
    assert response.status_code == status
    if status == 200:
        page = response.get_data(as_text=True)
        assert re.search(r'<input type="file" id="file" name="file" multiple', page)
        assert 'enctype="multipart/form-data"' in page


def test_several_files_in_one_form(app, world):
    member = client_of(app, world, "member")
    path = f"/groups/{world.ws_id}/documents/new"
    token = csrf_of(member, path)
    response = post_files(
        member,
        path,
        token,
        [("Acta.odt", samples.odt()), ("Tarifas.xlsx", samples.xlsx())],
        title="ignored with several files",
        tags="puertos, tarifas",
        language="es",
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/groups/{world.ws_id}/documents")
    page = text_of(member.get(response.headers["Location"]))
    assert "Uploaded 2 files: Acta.odt, Tarifas.xlsx" in page
    with app.app_context():
        documents = db.session.scalars(select(Document).order_by(Document.id)).all()
        assert [d.title for d in documents] == ["Acta.odt", "Tarifas.xlsx"]
        assert all(d.tags == ["puertos", "tarifas"] and d.language == "es" for d in documents)


def test_one_file_with_its_title_opens_the_document(app, world):
    member = client_of(app, world, "member")
    path = f"/groups/{world.ws_id}/documents/new"
    response = post_files(
        member, path, csrf_of(member, path), [("a.pdf", samples.pdf())], title="Agenda"
    )
    assert response.status_code == 303
    with app.app_context():
        document = db.session.scalar(select(Document))
        assert document.title == "Agenda"
    assert response.headers["Location"].endswith(f"/documents/{document.id}")
    assert "Uploaded: Agenda" in text_of(member.get(response.headers["Location"]))


def test_a_refused_type_and_a_too_large_file_say_why_and_leave_nothing(app, world, small_uploads):
    member = client_of(app, world, "member")
    path = f"/groups/{world.ws_id}/documents/new"
    before = counts(app)
    response = post_files(
        member,
        path,
        csrf_of(member, path),
        [("setup.exe", samples.exe()), ("big.txt", b"x" * (1024 * 1024 + 1))],
        description="kept",
    )
    assert response.status_code == 400
    page = text_of(response)
    assert "Not uploaded: setup.exe. Files of this type are not accepted." in page
    assert "Not uploaded: big.txt. It is larger than the limit of 1 MB." in page
    assert "None of the files was uploaded." in page
    assert ">kept</textarea>" in page  # the input is kept
    assert counts(app) == before
    assert stored_blobs(app) == []


def test_a_refused_file_beside_an_accepted_one(app, world):
    member = client_of(app, world, "member")
    path = f"/groups/{world.ws_id}/documents/new"
    response = post_files(
        member, path, csrf_of(member, path), [("ok.txt", b"hola"), ("run.exe", samples.exe())]
    )
    assert response.status_code == 303
    page = text_of(member.get(response.headers["Location"]))
    assert "Uploaded: ok.txt" in page
    assert "Not uploaded: run.exe. Files of this type are not accepted." in page
    assert counts(app) == (1, 1, 1)
    assert len(stored_blobs(app)) == 1


def test_form_errors_keep_the_input_and_store_nothing(app, world):
    member = client_of(app, world, "member")
    path = f"/groups/{world.ws_id}/documents/new"
    response = post_files(
        member,
        path,
        csrf_of(member, path),
        [("a.txt", b"hola")],
        title="T" * 301,
        language="not a language",
        tags="uno, dos",
    )
    assert response.status_code == 400
    page = text_of(response)
    assert 'id="title-error"' in page and 'id="language-error"' in page
    assert 'value="' + "T" * 301 + '"' in page and 'value="uno, dos"' in page
    assert counts(app) == (0, 0, 0) and stored_blobs(app) == []


def test_no_file_chosen(app, world):
    member = client_of(app, world, "member")
    path = f"/groups/{world.ws_id}/documents/new"
    response = post_files(member, path, csrf_of(member, path), [("", b"")], title="x")
    assert response.status_code == 400
    assert "Choose one or more files." in text_of(response)


def test_an_upload_without_the_csrf_token_stores_nothing(app, world):
    member = client_of(app, world, "member")
    response = post_files(member, f"/groups/{world.ws_id}/documents/new", None, [("a.txt", b"x")])
    assert response.status_code == 400
    assert counts(app) == (0, 0, 0) and stored_blobs(app) == []


@pytest.mark.parametrize(("who", "status"), [("observer", 403), ("outsider", 404)])
def test_an_upload_by_who_may_not_is_refused(app, world, who, status):
    client = client_of(app, world, who)
    token = csrf_of(client, "/work")
    response = post_files(client, f"/groups/{world.ws_id}/documents/new", token, [("a.txt", b"x")])
    assert response.status_code == status
    assert counts(app) == (0, 0, 0)


# --- a document's page ----------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [*[(r, 200) for r in ROLES[:3]], ("outsider", 404)])
def test_the_document_page_by_role(app, world, who, status):
    document_id = make_document(
        app, world, samples.docx("Pautas de la reunión"), "Pautas.docx", tags=["puertos"]
    )
    response = client_of(app, world, who).get(f"/documents/{document_id}")
    assert response.status_code == status
    if status != 200:
        return
    page = text_of(response)
    assert "Word document" in page and "Pautas.docx" in page and "puertos" in page
    assert "Pautas de la reunión</pre>" in page  # the extracted text
    assert f"/api/v1/documents/{document_id}/download" in page
    controls = ("Check out", "Upload a new version", "Save the details")
    for control in controls:
        assert (control in page) is (who != "observer"), control


def test_the_extraction_error_is_said_in_words(app, world):
    document_id = make_document(app, world, b"%PDF-1.4 broken", "roto.pdf")
    page = text_of(client_of(app, world, "member").get(f"/documents/{document_id}"))
    assert "No text could be read from this file. It may be damaged." in page


def test_editing_the_details(app, world):
    document_id = make_document(app, world)
    member = client_of(app, world, "member")
    path = f"/documents/{document_id}"
    token = csrf_of(member, path)
    with app.app_context():
        version = db.session.get(Document, document_id).version
    form = {
        "csrf_token": token,
        "version": str(version),
        "title": "Orden del día",
        "description": "Para la reunión",
        "language": "es",
        "tags": "puertos, agenda, puertos",
    }
    assert member.post(path, data=form).status_code == 303
    with app.app_context():
        document = db.session.get(Document, document_id)
        assert (document.title, document.description, document.language, document.tags) == (
            "Orden del día",
            "Para la reunión",
            "es",
            ["puertos", "agenda"],
        )
    # The same form again is stale: the current values are shown with a message.
    stale = member.post(path, data=form | {"title": "Otra cosa"})
    assert stale.status_code == 409
    page = text_of(stale)
    assert "Someone changed this document while you were editing it" in page
    assert 'value="Orden del día"' in page and "Otra cosa" in page


def test_errors_in_the_details_keep_the_input(app, world):
    document_id = make_document(app, world)
    member = client_of(app, world, "member")
    path = f"/documents/{document_id}"
    with app.app_context():
        version = db.session.get(Document, document_id).version
    response = member.post(
        path,
        data={"csrf_token": csrf_of(member, path), "version": str(version), "title": "",
              "description": "Mi texto", "tags": "a"},
    )  # fmt: skip
    assert response.status_code == 400
    page = text_of(response)
    assert 'id="title-error"' in page and ">Mi texto</textarea>" in page


def test_a_new_version_then_restoring_the_first(app, world):
    document_id = make_document(app, world, b"uno", "v1.txt")
    member = client_of(app, world, "member")
    path = f"/documents/{document_id}"
    token = csrf_of(member, path)
    response = post_files(member, f"{path}/versions", token, [("v2.txt", b"dos")])
    assert response.status_code == 303
    assert "Version 2 uploaded." in text_of(member.get(path))
    response = member.post(f"{path}/versions/1/restore", data={"csrf_token": token})
    assert response.status_code == 303
    page = text_of(member.get(path))
    assert "Version 1 is current again, as version 3." in page
    assert "restores version 1" in page
    with app.app_context():
        assert db.session.get(Document, document_id).current_version == 3


def test_a_refused_new_version_says_why(app, world):
    document_id = make_document(app, world)
    member = client_of(app, world, "member")
    path = f"/documents/{document_id}"
    response = post_files(
        member, f"{path}/versions", csrf_of(member, path), [("x.exe", samples.exe())]
    )
    assert response.status_code == 400
    assert "Not uploaded: x.exe. Files of this type are not accepted." in text_of(response)
    assert counts(app) == (1, 1, 1)


def test_check_out_shown_to_others_who_cannot_upload_until_released(app, world):
    document_id = make_document(app, world)
    path = f"/documents/{document_id}"
    member, coordinator = client_of(app, world, "member"), client_of(app, world, "coordinator")
    token = csrf_of(member, path)
    assert (
        member.post(f"{path}/checkout", data={"csrf_token": token, "hours": "4"}).status_code == 303
    )
    mine = text_of(member.get(path))
    assert "You have checked this document out until" in mine and "Release the check-out" in mine

    theirs = text_of(coordinator.get(path))
    assert "Member Person has checked this document out until" in theirs
    assert "Upload a new version" not in theirs and "Break the check-out" in theirs
    refused = post_files(
        coordinator, f"{path}/versions", csrf_of(coordinator, path), [("b.txt", b"b")]
    )
    assert refused.status_code == 303
    assert "Not done: Member Person has checked this document out until" in text_of(
        coordinator.get(path)
    )
    assert counts(app) == (1, 1, 1)
    # The coordinator breaks it; the member could have released it.
    assert (
        coordinator.post(
            f"{path}/release", data={"csrf_token": csrf_of(coordinator, path)}
        ).status_code
        == 303
    )
    assert "has checked this document out" not in text_of(member.get(path))


def test_a_member_may_not_break_anothers_check_out(app, world):
    document_id = make_document(app, world)
    path = f"/documents/{document_id}"
    coordinator, member = client_of(app, world, "coordinator"), client_of(app, world, "member")
    coordinator.post(
        f"{path}/checkout", data={"csrf_token": csrf_of(coordinator, path), "hours": "24"}
    )
    page = text_of(member.get(path))
    assert "Break the check-out" not in page and "Check out for" not in page
    assert (
        member.post(f"{path}/release", data={"csrf_token": csrf_of(member, path)}).status_code
        == 403
    )


@pytest.mark.parametrize(("who", "status"), [("observer", 403), ("outsider", 404)])
@pytest.mark.parametrize(
    "action", ["", "/versions", "/versions/1/restore", "/checkout", "/release"]
)
def test_changes_by_who_may_not_are_refused(app, world, who, status, action):
    document_id = make_document(app, world)
    client = client_of(app, world, who)
    token = csrf_of(client, "/work")
    path = f"/documents/{document_id}{action}"
    if action == "/versions":
        response = post_files(client, path, token, [("a.txt", b"x")])
    else:
        response = client.post(path, data={"csrf_token": token, "title": "x", "hours": "4"})
    assert response.status_code == status
    assert "<html" in response.get_data(as_text=True)  # the error page, not JSON
    assert counts(app) == (1, 1, 1)


def test_a_form_without_the_csrf_token_changes_nothing(app, world):
    document_id = make_document(app, world)
    member = client_of(app, world, "member")
    assert member.post(f"/documents/{document_id}/checkout", data={"hours": "4"}).status_code == 400
    with app.app_context():
        assert db.session.get(Document, document_id).checked_out_by_id is None


def test_the_demo_has_a_document_of_each_kind_with_its_text(app, world):
    result = app.test_cli_runner().invoke(args=["portal", "demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        versions = db.session.scalars(select(DocumentVersion)).all()
        kinds = {v.filename.rpartition(".")[2] for v in versions}
        assert {"pdf", "docx", "xlsx", "odt"} <= kinds
        assert all(v.text and v.extraction_error is None for v in versions)
        held = db.session.scalars(select(Document).where(Document.checked_out_by_id.is_not(None)))
        assert len(held.all()) == 1


@pytest.mark.parametrize(
    ("path", "block"),
    [
        ("/documents/{id}", "document_file"),
        ("/documents/{id}", "document_versions"),
        ("/documents/{id}", "document_preview"),
        ("/groups/{ws}/documents", "document_list"),
    ],
)
def test_a_live_part_refreshes_alone(app, world, path, block):
    document_id = make_document(app, world, title="Parte")
    response = client_of(app, world, "member").get(
        path.format(id=document_id, ws=world.ws_id),
        headers={"HX-Request": "true", "HX-Target": block},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.lstrip().startswith(f'<section id="{block}"') or page.lstrip().startswith(
        f'<div id="{block}"'
    )
    assert "<html" not in page

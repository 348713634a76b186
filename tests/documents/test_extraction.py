"""Text extraction: the formats, and files that are broken, encrypted or hostile."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from portal.documents import extract
from portal.documents.models import DocumentVersion
from portal.extensions import db

from . import samples
from .conftest import upload


def _version(app, document_id: int) -> DocumentVersion:
    with app.app_context():
        version = db.session.scalar(
            select(DocumentVersion).where(DocumentVersion.document_id == document_id)
        )
        db.session.expunge(version)
        return version


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("agenda.pdf", samples.pdf(), "reunión del puerto de Cartagena"),
        ("pautas.docx", samples.docx(), "Pautas de la reunión"),
        ("teu.xlsx", samples.xlsx(), "Cartagena 1234"),
        ("acta.odt", samples.odt(), "Acta de la reunión"),
        ("nota.html", b"<p>Hola <b>puerto</b></p><script>x()</script>", "puerto"),
        ("nota.md", "# Reunión\n\nTexto".encode(), "# Reunión"),
        ("datos.csv", b"puerto,teu\nCartagena,5\n", "Cartagena,5"),
    ],
)
def test_text_is_extracted(app, world, as_user, name, data, expected):
    created = upload(as_user(world.member), world.ws_id, data, name)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["file"]["has_text"] is True

    version = _version(app, created.get_json()["id"])

    assert expected in version.text
    assert version.extraction_error is None
    assert "x()" not in version.text


def test_text_is_extracted_from_the_s3_store_too(app, world, as_user, store):
    created = upload(as_user(world.member), world.ws_id, samples.pdf(), "agenda.pdf")
    assert "Cartagena" in _version(app, created.get_json()["id"]).text


def test_broken_pdf_is_stored_and_served_with_the_reason(app, world, as_user):
    broken = samples.pdf()[:200]
    member = as_user(world.member)

    created = upload(member, world.ws_id, broken, "roto.pdf")

    assert created.status_code == 201
    assert created.get_json()["file"]["content_type"] == "application/pdf"
    assert created.get_json()["file"]["extraction_error"]
    assert member.get(f"/documents/{created.get_json()['id']}/download").data == broken


def test_encrypted_pdf_keeps_the_reason(app, world, as_user):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(samples.pdf())))
    writer.encrypt(user_password="secreto", owner_password="secreto")
    out = io.BytesIO()
    writer.write(out)

    created = upload(as_user(world.member), world.ws_id, out.getvalue(), "cifrado.pdf")

    assert created.status_code == 201
    assert "encrypted" in created.get_json()["file"]["extraction_error"]


def test_zip_bomb_is_not_opened(app, world, as_user):
    created = upload(as_user(world.member), world.ws_id, samples.zip_bomb_docx(), "bomba.docx")

    assert created.status_code == 201
    assert "zip bomb" in created.get_json()["file"]["extraction_error"]


def test_a_hanging_extractor_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(extract, "TIMEOUT_SECONDS", 1)
    monkeypatch.setattr(extract, "WORKER", tmp_path / "hang.py")
    (tmp_path / "hang.py").write_text("import time\ntime.sleep(30)\n")

    result = extract.run_worker("pdf", tmp_path / "whatever.pdf")

    assert result.text == ""
    assert "longer than 1 s" in result.error


def test_memory_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(extract, "MEMORY_MB", 200)
    worker = tmp_path / "greedy.py"
    worker.write_text(
        f"import sys\nsys.path.insert(0, {str(extract.WORKER.parent)!r})\n"
        + "import extract_worker\nextract_worker.limit_resources()\n"
        + "import json\ntry:\n    x = bytearray(400 * 1024 * 1024)\n"
        + "    print(json.dumps({'text': 'allocated', 'error': None}))\n"
        + "except MemoryError:\n    print(json.dumps({'text': '', 'error': 'out of memory'}))\n"
    )
    monkeypatch.setattr(extract, "WORKER", worker)

    result = extract.run_worker("pdf", tmp_path / "x.pdf")

    assert result.error == "out of memory"


def test_text_is_capped(app, world, as_user, monkeypatch):
    monkeypatch.setattr(extract, "MAX_CHARS", 100)
    created = upload(as_user(world.member), world.ws_id, b"palabra " * 1000, "largo.txt")
    assert len(_version(app, created.get_json()["id"]).text) <= 100

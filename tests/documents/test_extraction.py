"""Text extraction: the formats, and files that are broken, encrypted or hostile."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from portal.documents import extract
from portal.documents.models import Blob, DocumentVersion
from portal.documents.storage import store_named
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


def _slow_worker(folder, seconds: float):
    """A worker that takes `seconds` and records when it ran (monotonic clock, shared by
    every process of the machine) in `folder`."""
    folder.mkdir()
    script = folder / "slow.py"
    script.write_text(
        "import json, os, pathlib, time\n"
        "start = time.monotonic()\n"
        f"time.sleep({seconds})\n"
        f"pathlib.Path({str(folder)!r}, f'{{os.getpid()}}.span')"
        ".write_text(f'{start} {time.monotonic()}')\n"
        "print(json.dumps({'text': 'lento', 'error': None}))\n"
    )
    return script


def _spans(folder) -> list[tuple[float, float]]:
    return sorted(tuple(map(float, p.read_text().split())) for p in folder.glob("*.span"))


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    return max(sum(start <= moment < end for start, end in spans) for moment, _ in spans)


def _upload_together(clients, ws_id: int) -> list:
    barrier = threading.Barrier(len(clients))

    def send(index: int):
        barrier.wait()
        return upload(clients[index], ws_id, f"texto {index}".encode(), f"n{index}.txt")

    with ThreadPoolExecutor(len(clients)) as pool:
        return list(pool.map(send, range(len(clients))))


def test_extractions_wait_for_a_free_slot(app, world, as_user, settings, monkeypatch, tmp_path):
    monkeypatch.setattr(extract, "WORKER", _slow_worker(tmp_path / "runs", 0.6))
    settings(EXTRACT_WORKERS=1, EXTRACT_WAIT_SECONDS=20)
    clients = [as_user(world.member) for _ in range(3)]

    responses = _upload_together(clients, world.ws_id)

    assert [r.status_code for r in responses] == [201, 201, 201]
    spans = _spans(tmp_path / "runs")
    assert len(spans) == 3
    assert _most_at_once(spans) == 1


def test_beyond_the_wait_uploads_get_503_and_leave_nothing(
    app, world, as_user, settings, monkeypatch, tmp_path
):
    monkeypatch.setattr(extract, "WORKER", _slow_worker(tmp_path / "runs", 3))
    settings(EXTRACT_WORKERS=1, EXTRACT_WAIT_SECONDS=0.5)
    clients = [as_user(world.member) for _ in range(3)]

    responses = _upload_together(clients, world.ws_id)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 503, 503]
    for refused in (r for r in responses if r.status_code == 503):
        assert refused.get_json()["error"]["code"] == "unavailable"
        assert int(refused.headers["Retry-After"]) > 0
    assert len(_spans(tmp_path / "runs")) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Blob)) == 1
        assert len(list(store_named("local").list_blobs())) == 1
    check = app.test_cli_runner().invoke(args=["portal", "storage-check"])
    assert check.exit_code == 0, check.output

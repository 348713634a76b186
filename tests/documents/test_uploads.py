"""Uploads and downloads through the API, against the local folder and a real S3 server."""

from __future__ import annotations

import hashlib
import io
from urllib.parse import quote

from sqlalchemy import func, select

from portal.documents.models import Blob, Document, DocumentVersion
from portal.documents.storage import store_named
from portal.events import Event
from portal.extensions import db

from . import samples
from .conftest import multipart_upload, upload

NAME = "Agenda_Reunión_Cartagena.pdf"


def _counts(app) -> tuple[int, int, int, int]:
    with app.app_context():
        return tuple(  # type: ignore[return-value]
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Document, DocumentVersion, Blob, Event)
        )


def _stored_keys(app, store_name: str) -> list[str]:
    with app.app_context():
        return [key for key, *_ in store_named(store_name).list_blobs()]


def test_upload_and_download_round_trip(app, world, as_user, store):
    member = as_user(world.member)
    data = samples.pdf()

    created = upload(member, world.ws_id, data, NAME, title="Agenda", tags="puerto,agenda")

    assert created.status_code == 201, created.get_json()
    document = created.get_json()
    assert document["kind"] == "document"
    assert document["title"] == "Agenda"
    assert document["tags"] == ["puerto", "agenda"]
    assert document["created_by"] == {"id": world.member.id, "name": world.member.name}
    assert document["shared_with"] == []
    assert document["file"]["filename"] == NAME
    assert document["file"]["content_type"] == "application/pdf"
    assert document["file"]["size"] == len(data)
    assert document["file"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert created.headers["ETag"] == document["etag"]
    assert created.headers["Location"].endswith(f"/documents/{document['id']}")

    downloaded = as_user(world.observer).get(f"/documents/{document['id']}/download")

    assert downloaded.status_code == 200
    assert downloaded.data == data
    assert downloaded.headers["Content-Type"] == "application/pdf"
    assert downloaded.headers["X-Content-Type-Options"] == "nosniff"
    disposition = downloaded.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" + quote(NAME, safe="") in disposition
    assert 'filename="Agenda_Reunion_Cartagena.pdf"' in disposition
    with app.app_context():
        blob = db.session.scalar(select(Blob))
        assert blob.store == store


def test_multipart_upload_streams_file_and_fields(app, world, as_user, store):
    member = as_user(world.member)
    data = samples.docx()

    created = multipart_upload(
        member, world.ws_id, data, NAME.replace(".pdf", ".docx"), title="Pautas", language="es"
    )

    assert created.status_code == 201, created.get_json()
    document = created.get_json()
    assert document["title"] == "Pautas"
    assert document["language"] == "es"
    assert document["file"]["filename"] == "Agenda_Reunión_Cartagena.docx"
    assert document["file"]["content_type"].endswith("wordprocessingml.document")
    assert member.get(f"/documents/{document['id']}/download").data == data


def test_empty_file_is_a_document(world, as_user, store):
    member = as_user(world.member)

    created = upload(member, world.ws_id, b"", "vacío.txt")

    assert created.status_code == 201, created.get_json()
    assert created.get_json()["file"]["size"] == 0
    assert created.get_json()["file"]["sha256"] == hashlib.sha256(b"").hexdigest()
    downloaded = member.get(f"/documents/{created.get_json()['id']}/download")
    assert downloaded.status_code == 200
    assert downloaded.data == b""


def test_size_limit_exactly_at_and_one_byte_over(app, world, as_user, store, settings):
    settings(MAX_UPLOAD_MB=1)
    member = as_user(world.member)
    limit = 1024 * 1024

    at_limit = upload(member, world.ws_id, b"a" * limit, "exact.txt")
    assert at_limit.status_code == 201, at_limit.get_json()
    before, keys = _counts(app), _stored_keys(app, store)

    over = upload(member, world.ws_id, b"a" * (limit + 1), "over.txt")

    assert over.status_code == 413
    assert over.get_json()["error"]["code"] == "too_large"
    assert _counts(app) == before
    assert _stored_keys(app, store) == keys


def test_size_limit_enforced_while_streaming_without_length(app, world, as_user, settings):
    """A body without Content-Length (chunked) is cut off at the limit, not buffered."""
    settings(MAX_UPLOAD_MB=1)
    member = as_user(world.member)

    body = io.BytesIO(b"b" * (3 * 1024 * 1024))

    response = member.post(
        f"/workspaces/{world.ws_id}/documents",
        input_stream=body,
        headers={"Content-Type": "text/plain", "X-Filename": "big.txt"},
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert response.status_code == 413
    assert body.tell() < 2 * 1024 * 1024, "the body was read past the limit"
    assert _counts(app)[0] == 0
    assert _stored_keys(app, "local") == []


def test_body_shorter_than_its_content_length_leaves_nothing(app, world, as_user, store):
    """A client that stops sending is refused; the part it sent is not stored as the file."""
    member = as_user(world.member)
    before, keys = _counts(app), _stored_keys(app, store)
    sent = b"d" * (6 * 1024 * 1024)  # more than one S3 part

    response = member.post(
        f"/workspaces/{world.ws_id}/documents",
        input_stream=io.BytesIO(sent),
        headers={"Content-Type": "text/plain", "X-Filename": "cut.txt"},
        # As under gunicorn: the server ends the stream, a short body reads short.
        environ_overrides={
            "CONTENT_LENGTH": str(len(sent) + 1024 * 1024),
            "wsgi.input_terminated": True,
        },
    )

    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["code"] == "invalid"
    assert _counts(app) == before
    assert _stored_keys(app, store) == keys
    if store == "s3":
        with app.app_context():
            s3 = store_named("s3")
            assert list(s3.client._list_multipart_uploads(s3.bucket).uploads) == []


def test_multipart_over_the_limit_leaves_nothing(app, world, as_user, store, settings):
    settings(MAX_UPLOAD_MB=1)
    before = _counts(app)

    response = multipart_upload(
        as_user(world.member), world.ws_id, b"c" * (1024 * 1024 + 1), "over.csv"
    )

    assert response.status_code == 413
    assert _counts(app) == before
    assert _stored_keys(app, store) == []


def test_forged_content_type_is_sniffed(world, as_user, store):
    """The client says PDF; the bytes are a DOCX: the bytes win."""
    member = as_user(world.member)

    created = upload(
        member,
        world.ws_id,
        samples.docx(),
        "informe.pdf",
        headers={"Content-Type": "application/pdf"},
    )

    assert created.status_code == 201
    assert created.get_json()["file"]["content_type"].endswith("wordprocessingml.document")


def test_html_is_served_as_an_attachment_never_inline(world, as_user, store):
    member = as_user(world.member)
    created = upload(member, world.ws_id, b"<script>alert(1)</script>", "x.html")
    response = member.get(f"/documents/{created.get_json()['id']}/download")
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_executables_are_refused_whatever_their_name(app, world, as_user, store):
    member = as_user(world.member)
    before = _counts(app)

    disguised = upload(member, world.ws_id, samples.exe(), "acta.pdf")
    script = upload(member, world.ws_id, b"#!/bin/sh\nrm -rf /\n", "notas.txt")
    by_name = upload(member, world.ws_id, b"hello", "setup.exe")

    for response in (disguised, script, by_name):
        assert response.status_code == 415
        assert response.get_json()["error"]["code"] == "unsupported_media"
    assert _counts(app) == before
    assert _stored_keys(app, store) == []


def test_file_names_are_sanitized(world, as_user):
    member = as_user(world.member)

    created = upload(member, world.ws_id, b"x", "../../etc/\u202epasswd.txt")

    assert created.status_code == 201
    assert created.get_json()["file"]["filename"] == "passwd.txt"


def test_missing_file_name_is_invalid(world, as_user):
    response = as_user(world.member).post(
        f"/workspaces/{world.ws_id}/documents", data=b"x", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 400
    assert "X-Filename" in response.get_json()["error"]["fields"]


def test_invalid_metadata_leaves_no_blob(app, world, as_user, store):
    response = upload(as_user(world.member), world.ws_id, b"x", "a.txt", language="not a language")
    assert response.status_code == 400
    assert "language" in response.get_json()["error"]["fields"]
    assert _counts(app)[:3] == (0, 0, 0)
    assert _stored_keys(app, store) == []


def test_failed_transaction_removes_the_blob(app, world, as_user, store, monkeypatch):
    from portal.documents import service

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(service.events, "record", broken)

    response = upload(as_user(world.member), world.ws_id, b"x", "a.txt")

    assert response.status_code == 500
    assert _counts(app)[:3] == (0, 0, 0)
    assert _stored_keys(app, store) == []


def test_cookie_upload_needs_the_csrf_header(app, world):
    from ..conftest import ApiClient, sign_in_session

    client = ApiClient(app.test_client())
    sign_in_session(client.client, world.member)

    response = upload(client, world.ws_id, b"x", "a.txt")

    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "csrf"


def test_token_upload_needs_no_csrf(app, world):
    from portal.accounts import service
    from portal.accounts.models import User

    from ..conftest import ApiClient

    with app.app_context():
        _, secret = service.create_token(db.session.get(User, world.member.id), "script", 30)
    client = ApiClient(app.test_client())

    response = upload(
        client, world.ws_id, b"x", "a.txt", headers={"Authorization": f"Bearer {secret}"}
    )

    assert response.status_code == 201, response.get_json()


def test_large_upload_goes_in_several_parts_and_over_the_limit_leaves_nothing(
    app, world, as_user, weed, settings
):
    """Above the 5 MiB part size the S3 upload is multipart; cut off, it is aborted."""
    from .conftest import s3_settings

    settings(**(s3_settings(weed) | {"MAX_UPLOAD_MB": 12}))
    member = as_user(world.member)
    data = bytes(range(256)) * (11 * 4096)  # 11 MiB

    created = upload(member, world.ws_id, data, "grande.bin")
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["file"]["sha256"] == hashlib.sha256(data).hexdigest()
    downloaded = member.get(f"/documents/{created.get_json()['id']}/download")
    assert hashlib.sha256(downloaded.data).hexdigest() == hashlib.sha256(data).hexdigest()
    keys = _stored_keys(app, "s3")

    over = upload(member, world.ws_id, data + data[: 1024 * 1024 + 1], "demasiado.bin")

    assert over.status_code == 413
    assert _stored_keys(app, "s3") == keys
    with app.app_context():
        from portal.documents.storage import store_named as named

        s3 = named("s3")
        pending = list(s3.client._list_multipart_uploads(s3.bucket).uploads)
        assert pending == []


def test_multipart_fields_after_the_file_are_read(world, as_user):
    boundary = "XyZ"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="acta.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
        "contenido\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="title"\r\n\r\n'
        "Acta de Cartagena\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="tags"\r\n\r\n'
        "puerto, acta\r\n"
        f"--{boundary}--\r\n"
    ).encode()

    response = as_user(world.member).post(
        f"/workspaces/{world.ws_id}/documents",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["title"] == "Acta de Cartagena"
    assert response.get_json()["tags"] == ["puerto", "acta"]


def test_malformed_multipart_is_invalid(app, world, as_user):
    response = as_user(world.member).post(
        f"/workspaces/{world.ws_id}/documents",
        data=b"--XyZ\r\nno headers here",
        content_type="multipart/form-data; boundary=XyZ",
    )
    assert response.status_code == 400
    assert _counts(app)[0] == 0


def test_sanitize_filename_edge_cases():
    from portal.documents.upload import sanitize_filename

    assert sanitize_filename("Agenda_Reunión_Cartagena.pdf") == "Agenda_Reunión_Cartagena.pdf"
    assert sanitize_filename("C:\\Users\\ana\\acta.docx") == "acta.docx"
    assert sanitize_filename("...") == "document"
    assert sanitize_filename("con.txt") == "_con.txt"
    assert sanitize_filename('a<b>:"c".txt') == "a_b___c_.txt"
    long = sanitize_filename("ñ" * 300 + ".pdf")
    assert long.endswith(".pdf") and len(long.encode()) <= 255
    assert sanitize_filename("Reunio\u0301n.pdf") == "Reunión.pdf"  # NFC


def test_x_filename_forms(world, as_user):
    member = as_user(world.member)
    for header in (
        "UTF-8''Reuni%C3%B3n.txt",
        "Reuni%C3%B3n.txt",
        "Reunión.txt".encode().decode("latin-1"),
    ):
        response = member.post(
            f"/workspaces/{world.ws_id}/documents",
            data=b"x",
            headers={"Content-Type": "text/plain", "X-Filename": header},
        )
        assert response.status_code == 201, header
        assert response.get_json()["file"]["filename"] == "Reunión.txt"


def test_openapi_describes_the_upload_bodies(api):
    from openapi_spec_validator import validate

    document = api.get("/openapi.json").get_json()
    validate(document)
    for path in ("/workspaces/{workspace_id}/documents", "/documents/{document_id}/versions"):
        body = document["paths"][path]["post"]["requestBody"]["content"]
        assert set(body) == {"multipart/form-data", "application/octet-stream"}

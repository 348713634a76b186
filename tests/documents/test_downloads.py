"""Downloads: ranges, ETag revalidation, presigned redirects."""

from __future__ import annotations

import threading
import urllib.request
from urllib.parse import unquote, urlparse

import pytest
from sqlalchemy import select

from portal.documents.models import Blob, DocumentVersion
from portal.documents.storage import StoreUnavailable, read_ahead, store_named
from portal.extensions import db

from .conftest import upload

DATA = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture
def document(world, as_user, store):
    response = upload(as_user(world.member), world.ws_id, DATA, "datos.bin")
    assert response.status_code == 201
    return response.get_json()


def test_single_range_is_206(world, as_user, document):
    client = as_user(world.observer)
    path = f"/documents/{document['id']}/download"

    middle = client.get(path, headers={"Range": "bytes=100-199"})
    tail = client.get(path, headers={"Range": "bytes=-16"})
    open_ended = client.get(path, headers={"Range": "bytes=10000-"})

    assert middle.status_code == 206
    assert middle.data == DATA[100:200]
    assert middle.headers["Content-Range"] == f"bytes 100-199/{len(DATA)}"
    assert middle.headers["Content-Length"] == "100"
    assert tail.data == DATA[-16:]
    assert open_ended.data == DATA[10000:]
    assert open_ended.headers["Content-Range"] == f"bytes 10000-{len(DATA) - 1}/{len(DATA)}"


def test_unsatisfiable_range_is_416_and_multiple_ranges_get_everything(world, as_user, document):
    client = as_user(world.member)
    path = f"/documents/{document['id']}/download"

    outside = client.get(path, headers={"Range": f"bytes={len(DATA)}-"})
    several = client.get(path, headers={"Range": "bytes=0-1,5-6"})
    garbage = client.get(path, headers={"Range": "pages=1"})

    assert outside.status_code == 416
    assert outside.headers["Content-Range"] == f"bytes */{len(DATA)}"
    assert outside.get_json()["error"]["code"] == "range_not_satisfiable"
    assert several.status_code == 200 and several.data == DATA
    assert garbage.status_code == 200 and garbage.data == DATA


def test_etag_revalidation(world, as_user, document):
    client = as_user(world.member)
    path = f"/documents/{document['id']}/download"
    first = client.get(path)
    etag = first.headers["ETag"]

    again = client.get(path, headers={"If-None-Match": etag})
    changed = client.get(path, headers={"If-None-Match": '"something-else"'})
    stale_if_range = client.get(path, headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    fresh_if_range = client.get(path, headers={"Range": "bytes=0-9", "If-Range": etag})

    assert etag == f'"{document["file"]["sha256"]}"'
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert changed.status_code == 200
    assert stale_if_range.status_code == 200
    assert fresh_if_range.status_code == 206


def test_head_request_sends_headers_only(world, as_user, document):
    response = as_user(world.member).client.head(f"/api/v1/documents/{document['id']}/download")
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(DATA))


def test_presigned_download_redirects_after_the_access_check(world, as_user, weed, settings):
    from .conftest import s3_settings

    settings(**(s3_settings(weed) | {"S3_PRESIGNED_DOWNLOADS": True}))
    name = "Agenda_Reunión_Cartagena.pdf"
    created = upload(as_user(world.member), world.ws_id, DATA, name)
    path = f"/documents/{created.get_json()['id']}/download"

    redirected = as_user(world.observer).get(path)
    hidden = as_user(world.outsider).get(path)

    assert hidden.status_code == 404
    assert redirected.status_code == 302
    url = redirected.headers["Location"]
    query = urlparse(url).query
    assert "X-Amz-Expires=300" in query
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback test server
        assert answer.read() == DATA
        disposition = unquote(answer.headers["Content-Disposition"])
        assert disposition.startswith("attachment") and name in disposition
    tampered = url.replace("X-Amz-Expires=300", "X-Amz-Expires=3000")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered, timeout=10)  # noqa: S310
    assert refused.value.code == 403


def test_local_store_ignores_presigning(world, as_user, settings):
    settings(STORAGE="local", S3_PRESIGNED_DOWNLOADS=True)
    created = upload(as_user(world.member), world.ws_id, DATA, "a.bin")
    response = as_user(world.member).get(f"/documents/{created.get_json()['id']}/download")
    assert response.status_code == 200
    assert response.data == DATA


def test_read_ahead_yields_everything_and_raises_what_the_source_raises():
    assert list(read_ahead(iter([b"a", b"b", b"c"]))) == [b"a", b"b", b"c"]

    def broken():
        yield b"a"
        raise StoreUnavailable("cut")

    chunks = read_ahead(broken())
    assert next(chunks) == b"a"
    with pytest.raises(StoreUnavailable):
        next(chunks)


def test_closing_read_ahead_waits_for_the_read_in_progress():
    reading = threading.Event()
    release = threading.Event()
    done: list[str] = []

    def slow():
        yield b"first"
        reading.set()
        release.wait(5)
        done.append("second read")
        yield b"second"

    chunks = read_ahead(slow())
    assert next(chunks) == b"first"
    assert reading.wait(5)
    threading.Timer(0.2, release.set).start()
    chunks.close()
    assert done == ["second read"], "close() returned while the source was still being read"


def test_s3_download_closed_midway_leaves_the_store_usable(app, world, as_user, weed, settings):
    """A client that goes away: the reader closes, the connection is not reused half-read."""
    from .conftest import s3_settings

    settings(**s3_settings(weed))
    data = bytes(range(256)) * (12 * 4096)  # 3 MiB: several download chunks
    created = upload(as_user(world.member), world.ws_id, data, "grande.bin")
    assert created.status_code == 201, created.get_json()
    with app.app_context():
        store = store_named("s3")
        version = db.session.scalar(
            select(DocumentVersion).where(DocumentVersion.document_id == created.get_json()["id"])
        )
        key = db.session.get(Blob, version.blob_id).key
        for _ in range(3):
            reader = store.open(key)
            assert len(next(iter(reader))) > 0
            reader.close()
        assert store.sha256_of(key) == created.get_json()["file"]["sha256"]

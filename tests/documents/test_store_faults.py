"""The S3 server dies while a file streams through a real `portal serve`.

An upload cut off answers 503 with the envelope; a download cut off can only
be cut short (its headers are gone), and the next request answers 503. Nothing
half-written stays (`storage-check` after the server returns), and the portal
works again as soon as the server is back, without a restart.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from portal.accounts import service as accounts
from portal.accounts.models import User
from portal.documents.models import Blob, Document
from portal.documents.storage import MiB, store_named
from portal.extensions import db

from ..servers import PortalServer
from .conftest import _start_weed, s3_settings
from .test_storage_check import _run


def _env_value(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.fixture(scope="module")
def served(app, tmp_path_factory) -> Iterator[SimpleNamespace]:
    """An S3 server of this module's own and a `portal serve` storing in it (one of
    each for the module: on this machine the server alone takes 5-20 s to start)."""
    weed = _start_weed(tmp_path_factory.mktemp("weed"))
    s3 = s3_settings(weed)
    server = PortalServer(
        tmp_path_factory.mktemp("portal"),
        app.config["SQLALCHEMY_DATABASE_URI"],
        env={
            **{f"PORTAL_{name}": _env_value(value) for name, value in s3.items()},
            "PORTAL_INDEXER": "external",
            "PORTAL_REDIS_URL": "",
        },
        threads=8,
    )
    try:
        server.wait_ready()
        yield SimpleNamespace(server=server, weed=weed, s3=s3)
    finally:
        server.stop()
        weed.stop()


@pytest.fixture
def portal(app, world, served, settings) -> Iterator[SimpleNamespace]:
    """The served portal, a member's token and workspace, and the test app set to the
    same bucket (for `storage-check` and for looking into it); the bucket is emptied
    after each test, so each starts with no blob and no row."""
    settings(**served.s3)
    with app.app_context():
        member = db.session.get(User, world.member.id)
        token = accounts.create_token(member, "faults", 1)[1]
        db.session.remove()
    yield SimpleNamespace(server=served.server, weed=served.weed, token=token, ws_id=world.ws_id)
    if served.weed.process is None:
        served.weed.start()  # the test failed while it was down
    with app.app_context():
        store = store_named("s3")
        for key, _, _ in list(store.list_blobs()):
            store.delete(key)


def _upload(portal: SimpleNamespace, body: Any, name: str = "datos.bin") -> requests.Response:
    return requests.post(
        f"{portal.server.url}/api/v1/workspaces/{portal.ws_id}/documents",
        data=body,
        headers={
            "Authorization": f"Bearer {portal.token}",
            "Content-Type": "application/octet-stream",
            "X-Filename": name,
        },
        timeout=60,
    )


def _download(portal: SimpleNamespace, document_id: int, **kwargs: Any) -> requests.Response:
    return requests.get(
        f"{portal.server.url}/api/v1/documents/{document_id}/download",
        headers={"Authorization": f"Bearer {portal.token}"},
        timeout=30,
        **kwargs,
    )


def _assert_unavailable(response: requests.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "unavailable"
    assert int(response.headers["Retry-After"]) > 0


def _rows(app) -> tuple[int, int]:
    with app.app_context():
        counts = tuple(
            db.session.scalar(select(func.count()).select_from(model)) for model in (Document, Blob)
        )
        db.session.remove()
        return counts


def _partials(app) -> list[str]:
    with app.app_context():
        return [partial.name for partial in store_named("s3").list_partials()]


class KillingBody:
    """A request body that, after `before` bytes, holds the rest back until `pause()`
    returns (the fault happens there), then sends the rest."""

    def __init__(self, data: bytes, before: int, pause: Any) -> None:
        self.data = data
        self.before = before
        self.pause = pause
        self.sent = 0

    def __len__(self) -> int:
        return len(self.data)

    def read(self, size: int = -1) -> bytes:
        if self.sent >= self.before and self.pause is not None:
            pause, self.pause = self.pause, None
            pause()
        end = len(self.data) if size < 0 else self.sent + size
        if self.pause is not None:
            end = min(end, self.before)
        chunk = self.data[self.sent : end]
        self.sent += len(chunk)
        return chunk


def _wait_for(condition: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_store_dies_during_an_upload(app, portal):
    data = os.urandom(24 * MiB)

    def kill_once_the_upload_is_in_the_store() -> None:
        _wait_for(lambda: _partials(app))  # the portal's multipart upload has begun
        portal.weed.kill()

    cut = _upload(portal, KillingBody(data, 8 * MiB, kill_once_the_upload_is_in_the_store))
    while_down = _upload(portal, b"pequeno")

    _assert_unavailable(cut)
    _assert_unavailable(while_down)
    assert _rows(app) == (0, 0)

    portal.weed.start()
    found = _run(app)
    repaired = _run(app, "--repair", "--grace-minutes", "0")
    clean = _run(app, "--grace-minutes", "0")  # even a recent orphan would fail it
    again = _upload(portal, data)

    # The multipart upload the portal could not abort is there, recent, and kept.
    assert found.exit_code == 0, found.output
    assert "partial upload s3:" in found.output and "(recent, kept)" in found.output
    assert "removed partial upload s3:" in repaired.output
    assert clean.exit_code == 0, clean.output
    assert clean.output.startswith("Checked 0 blobs: 0 orphans, 0 missing, 0 damaged")
    assert "0 partial uploads" in clean.output
    assert again.status_code == 201, again.text
    assert _download(portal, again.json()["id"]).content == data
    assert _rows(app) == (1, 1)


def test_the_store_dies_during_a_download(app, portal):
    data = os.urandom(40 * MiB)
    created = _upload(portal, data)
    assert created.status_code == 201, created.text
    document_id = created.json()["id"]

    received = bytearray()
    with _download(portal, document_id, stream=True) as streaming:
        assert streaming.status_code == 200
        assert int(streaming.headers["Content-Length"]) == len(data)
        chunks = streaming.iter_content(256 * 1024)
        received += next(chunks)
        portal.weed.kill()
        with pytest.raises(requests.exceptions.RequestException):
            for chunk in chunks:
                received += chunk
    next_download = _download(portal, document_id)

    assert 0 < len(received) < len(data)
    assert received == data[: len(received)]  # cut short, never wrong
    _assert_unavailable(next_download)
    assert _rows(app) == (1, 1)

    portal.weed.start()
    restored = _download(portal, document_id)
    check = _run(app, "--grace-minutes", "0")  # even a recent orphan would fail it

    assert restored.status_code == 200
    assert hashlib.sha256(restored.content).digest() == hashlib.sha256(data).digest()
    assert check.exit_code == 0, check.output
    assert check.output.startswith("Checked 1 blobs: 0 orphans, 0 missing, 0 damaged")

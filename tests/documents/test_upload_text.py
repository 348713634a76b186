"""Upload metadata and file names holding a character a database or XML cannot hold
(NUL, other C0 controls) are refused with 400 naming the field, leaving no row or blob."""

from __future__ import annotations

import pytest

from .conftest import multipart_upload, upload
from .test_uploads import _counts, _stored_keys


@pytest.mark.parametrize("field", ["title", "description", "tags"])
def test_multipart_metadata_with_a_control_character_is_refused(app, world, as_user, store, field):
    member = as_user(world.member)

    response = multipart_upload(member, world.ws_id, b"x", "acta.txt", **{field: "Acta\x00final"})

    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]
    assert _counts(app)[:3] == (0, 0, 0)
    assert _stored_keys(app, store) == []


def test_query_string_metadata_with_a_control_character_is_refused(app, world, as_user):
    response = upload(as_user(world.member), world.ws_id, b"x", "acta.txt", title="Acta\x1f")

    assert response.status_code == 400
    assert "title" in response.get_json()["error"]["fields"]
    assert _counts(app)[:3] == (0, 0, 0)


@pytest.mark.parametrize("name", ["acta\x00.txt", "acta\x1b.txt"])
def test_an_x_filename_with_a_control_character_is_refused(app, world, as_user, store, name):
    response = upload(as_user(world.member), world.ws_id, b"x", name)

    assert response.status_code == 400
    assert "X-Filename" in response.get_json()["error"]["fields"]
    assert _counts(app)[:3] == (0, 0, 0)
    assert _stored_keys(app, store) == []

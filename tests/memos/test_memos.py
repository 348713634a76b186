"""Memos: the body rendered and sanitized, revisions kept and restorable, stale writes."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest


def test_memo_body_is_rendered_sanitized(as_user, item_world):
    member = as_user(item_world.member)

    memo = member.post(
        f"/workspaces/{item_world.ws_id}/memos",
        {"title": "Notas", "body": "**Acuerdo** sobre la [ventanilla](https://vuce.example)"},
    ).get_json()

    assert memo["kind"] == "memo" and memo["workspace_id"] == item_world.ws_id
    assert memo["created_by"] == {"id": item_world.member.id, "name": "Member Person"}
    assert "<strong>Acuerdo</strong>" in memo["body_html"]
    assert 'href="https://vuce.example"' in memo["body_html"]


XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src="x" onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    '<a href="javascript:alert(1)">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    "![x](javascript:alert(1))",
    '<p style="background:url(javascript:alert(1))">x</p>',
]


class _Inspector(HTMLParser):
    """Collects what a browser would act on: tags, event handlers, URL schemes, styles."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "svg", "iframe", "object", "embed", "style", "img", "math"}:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            scheme = (value or "").strip().lower().split(":", 1)[0]
            if name.startswith("on") or name == "style":
                self.found.append(f"{tag}[{name}]")
            elif name in {"href", "src"} and scheme in {"javascript", "data", "vbscript"}:
                self.found.append(f"{tag}[{name}={scheme}:]")


def _dangerous_markup(html: str) -> list[str]:
    inspector = _Inspector()
    inspector.feed(html)
    return inspector.found


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_no_script_survives_the_sanitizer(as_user, item_world, payload):
    memo = (
        as_user(item_world.member)
        .post(f"/workspaces/{item_world.ws_id}/memos", {"title": "XSS", "body": payload})
        .get_json()
    )

    assert _dangerous_markup(memo["body_html"]) == []
    assert memo["body"] == payload  # the source is kept as written


def test_memo_revisions_are_kept_and_restorable(as_user, item_world):
    member = as_user(item_world.member)
    url = f"/memos/{item_world.memo_id}"
    member.patch(url, {"body": "Segunda versión"})
    member.patch(url, {"title": "Solo el título"})  # no new body revision

    revisions = member.get(f"{url}/revisions").get_json()
    restored = member.post(f"{url}/revisions/1/restore").get_json()

    assert [r["number"] for r in revisions["items"]] == [2, 1]
    assert revisions["items"][1]["body"] == "Primera versión"
    assert restored["body"] == "Primera versión"
    assert member.get(f"{url}/revisions").get_json()["total"] == 3


def test_stale_if_match_gets_409_with_the_current_memo(as_user, item_world):
    first, second = as_user(item_world.member), as_user(item_world.coordinator)
    url = f"/memos/{item_world.memo_id}"
    etag = first.get(url).headers["ETag"]

    saved = second.patch(url, {"body": "Versión de la coordinación"}, headers={"If-Match": etag})
    stale = first.patch(url, {"body": "Versión del miembro"}, headers={"If-Match": etag})

    assert saved.status_code == 200 and saved.headers["ETag"] != etag
    assert stale.status_code == 409
    error = stale.get_json()["error"]
    assert error["code"] == "conflict"
    assert error["current"]["body"] == "Versión de la coordinación"
    assert first.get(url).get_json()["body"] == "Versión de la coordinación"

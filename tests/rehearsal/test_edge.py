"""Slow and hostile clients at the edge (deploy/nginx): nginx cuts slow headers and
stalled bodies at its timeouts, refuses oversized headers itself and answers a burst
from one address 429, while a signed-in member's work and other visitors' searches
go on. Each test prints its figures and keeps them in tests/artifacts/rehearsal/edge.json."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .conftest import sign_in
from .hostile import Member, Searcher, browser_at, burst, record, refused_by, summary, trickle
from .topology import Rehearsal

# deploy/nginx/portal-http.conf
HEADER_TIMEOUT = 10
BODY_TIMEOUT = 20
PUBLIC_SEARCH_RATE, PUBLIC_SEARCH_BURST = 5, 20


@pytest.fixture
def member(rehearsal_intact: Rehearsal) -> Member:
    """A signed-in member with a working group of their own; `with member:` works."""
    return Member(rehearsal_intact, sign_in(rehearsal_intact))


def test_slow_headers_are_cut_at_the_header_timeout(
    rehearsal_intact: Rehearsal, member: Member
) -> None:
    """The header timeout bounds the whole header, however steadily it trickles in."""
    with member:
        cut = trickle(
            rehearsal_intact.url, clients=600,
            preamble=b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n", drip=b"X-Slow: 1\r\n",
            interval=2, seconds=HEADER_TIMEOUT + 8,
        )  # fmt: skip
    times = [seconds for seconds in cut if seconds is not None]
    record("slow_headers", {
        "opened": len(cut), "cut": len(times), "cut_after_s": summary(times),
        "member": member.figures(),
    })  # fmt: skip
    assert len(times) == len(cut), "a slow-header client was still held"
    assert min(times) >= HEADER_TIMEOUT - 0.5 and max(times) <= HEADER_TIMEOUT + 6
    assert member.all_answered(), member.figures()


def test_a_trickling_body_is_held_and_a_stalled_one_cut(
    rehearsal_intact: Rehearsal, member: Member
) -> None:
    """nginx reads a body whole before the portal sees it; its timeout runs between two
    reads, so a slow upload goes on and only one that stops is cut."""
    upload = "/api/v1/workspaces/1/documents"
    preamble = (
        f"POST {upload} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/octet-stream\r\nContent-Length: 10000000\r\n\r\nx"
    ).encode()
    seconds = BODY_TIMEOUT + 6
    stalled: list[float | None] = []
    stalling = threading.Thread(target=lambda: stalled.extend(trickle(
        rehearsal_intact.url, clients=200, preamble=preamble, drip=None, interval=0,
        seconds=seconds,
    )))  # fmt: skip
    with member:
        stalling.start()
        trickling = trickle(
            rehearsal_intact.url, clients=200, preamble=preamble, drip=b"x" * 16,
            interval=5, seconds=seconds,
        )  # fmt: skip
        stalling.join()
    stalled_cut = [after for after in stalled if after is not None]
    record("slow_bodies", {
        "trickling": len(trickling), "trickling_held": trickling.count(None),
        "held_for_s": seconds, "stalled": len(stalled), "stalled_cut": len(stalled_cut),
        "stalled_cut_after_s": summary(stalled_cut), "member": member.figures(),
    })  # fmt: skip
    assert trickling.count(None) == len(trickling), "a trickling body was cut"
    assert len(stalled_cut) == len(stalled), "a stalled body was still held"
    assert min(stalled_cut) >= BODY_TIMEOUT - 0.5 and max(stalled_cut) <= BODY_TIMEOUT + 5
    assert not _reached_the_portal(rehearsal_intact, "POST " + upload)
    assert member.all_answered(), member.figures()


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/", "text/html; charset=utf-8"), ("/api/v1/health", "application/json")],
)
def test_oversized_headers_are_refused_by_nginx(
    rehearsal_intact: Rehearsal, path: str, kind: str
) -> None:
    """Refused as the portal would: the API's error envelope on its paths, a page in
    four languages elsewhere, with nginx's status."""
    url = rehearsal_intact.url + path
    marker = "x" * 40  # found in the portal's access log if a request reached it
    too_large = {
        "url_20k": requests.get(url + f"?{marker}=" + "a" * 20_000, timeout=10),
        "cookie_64k": requests.get(url + f"?{marker}", cookies={"big": "c" * 65_536}, timeout=10),
        "headers_48k": requests.get(
            url + f"?{marker}", headers={f"X-Many-{n}": "h" * 1000 for n in range(48)}, timeout=10
        ),
    }
    # What fits nginx's 8 KB lines, the portal (gunicorn) accepts too.
    fitting = {
        "url_7k": requests.get(url + "?q=" + "a" * 7000, timeout=10),
        "cookie_7k": requests.get(url, cookies={"big": "c" * 7000}, timeout=10),
    }
    record("oversized_headers" + ("_api" if kind == "application/json" else ""), {
        name: answer.status_code for name, answer in {**too_large, **fitting}.items()
    })  # fmt: skip
    assert too_large["url_20k"].status_code == 414
    assert too_large["cookie_64k"].status_code == 400
    assert too_large["headers_48k"].status_code == 400
    for answer in too_large.values():
        assert answer.headers["Content-Type"] == kind
        if kind == "application/json":
            assert set(answer.json()["error"]) == {"code", "message"}
        else:
            assert all(f'<p lang="{lang}">' in answer.text for lang in ("en", "es", "fr", "pt"))
    assert not any(marker in host.serve.log.read_text() for host in rehearsal_intact.hosts)
    assert {answer.status_code for answer in fitting.values()} == {200}


def test_a_burst_from_one_address_answers_429_and_the_rest_goes_on(
    rehearsal_intact: Rehearsal, member: Member
) -> None:
    seconds = 12
    searcher = Searcher(rehearsal_intact, "127.0.0.3")
    with member, searcher:
        flood = burst(rehearsal_intact.url + "/api/v1/public/search?q=port", "127.0.0.2", seconds)
    answers = flood["answers"]
    passed = answers["200"] + answers["429 portal"]
    record("public_search_burst", {
        "seconds": seconds, "requests": sum(answers.values()),
        "per_second": round(sum(answers.values()) / seconds),
        "answers": dict(answers), "passed_nginx": passed,
        "other_address": searcher.figures(), "member": member.figures(),
    })  # fmt: skip
    assert set(answers) <= {"200", "429 nginx", "429 portal"}, answers
    assert answers["429 nginx"] > passed
    assert passed <= PUBLIC_SEARCH_RATE * (seconds + 2) + PUBLIC_SEARCH_BURST + 1
    refused = flood["samples"]["429 nginx"]
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["error"]["code"] == "rate_limited"
    assert searcher.all_answered(), searcher.figures()
    assert member.all_answered(), member.figures()
    assert member.figures()["p95_ms"] < 2000


@pytest.mark.parametrize(
    ("method", "path", "address", "kind"),
    [
        ("GET", "/search", "127.0.0.4", "text/html; charset=utf-8"),
        ("GET", "/login", "127.0.0.5", "text/html; charset=utf-8"),
        ("POST", "/api/v1/auth/login", "127.0.0.6", "application/json"),
    ],
)
def test_the_edge_answers_its_429_as_the_portal_would(
    rehearsal_intact: Rehearsal, method: str, path: str, address: str, kind: str
) -> None:
    """The API's error envelope on API paths, a short page in four languages on pages."""
    wrong = {"email": "nobody@example.org", "password": "not-this-one"}

    def send(_: int) -> requests.Response:
        body = wrong if method == "POST" else None
        return browser_at(address).request(
            method, rehearsal_intact.url + path, json=body, timeout=30
        )

    # All at once: a failed sign-in takes the portal longer than the edge's rate refills.
    with ThreadPoolExecutor(30) as pool:
        answers = list(pool.map(send, range(30)))
    answer = next(answer for answer in answers if answer.status_code == 429)
    assert refused_by(answer) == "nginx"
    assert answer.headers["Content-Type"] == kind
    assert answer.headers["Retry-After"] == "1"
    if kind == "application/json":
        assert answer.json()["error"]["code"] == "rate_limited"
    else:
        assert "Too many requests." in answer.text and "Trop de requêtes." in answer.text


def _reached_the_portal(rehearsal: Rehearsal, request: str) -> bool:
    """Whether a host's `portal serve` logged a request (gunicorn's access lines)."""
    return any(f'"{request} ' in host.serve.log.read_text() for host in rehearsal.hosts)

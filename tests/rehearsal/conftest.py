"""One rehearsal topology for the whole run (starting it takes about 40 s), with a
real SMTP server for its mailer and a secretariat account to work with.

A test that kills a component brings it back before it ends, so the next test
finds every process running; `rehearsal_intact` checks that and restarts what a
failed test left down.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import requests

from tests.conftest import missing_service
from tests.mailserver import MailServer

from .services import missing_binaries
from .topology import NGINX, Rehearsal

SECRETARIAT = SimpleNamespace(email="secretariat@example.org", password="rehearsal-password-1")


@pytest.fixture(scope="session")
def mail_server() -> Iterator[MailServer]:
    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rehearsal(
    tmp_path_factory: pytest.TempPathFactory, mail_server: MailServer
) -> Iterator[Rehearsal]:
    missing = ([] if NGINX else ["nginx"]) + missing_binaries()
    if missing:
        missing_service("the rehearsal needs " + ", ".join(missing))
    topology = Rehearsal(
        tmp_path_factory.mktemp("rehearsal"),
        threads=200,
        mail_port=mail_server.port,
        # Tests sign in and search from one address, many times over.
        settings={"PORTAL_LOGIN_RATE_LIMIT": "1000/minute", "PORTAL_MAIL_RETRY_SECONDS": "1"},
    )
    with topology.start():
        topology.flask(
            "create-user", SECRETARIAT.email, "--name", "Rehearsal Secretariat",
            "--secretariat", "--password-stdin", "--locale", "en",
            input=SECRETARIAT.password + "\n",
        )  # fmt: skip
        yield topology


@pytest.fixture
def rehearsal_intact(rehearsal: Rehearsal) -> Iterator[Rehearsal]:
    """The topology, every process running before and after the test, and every
    `portal serve` back in nginx's rotation."""
    errors = rehearsal.nginx.folder / "error.log"
    logged = errors.stat().st_size if errors.exists() else 0
    yield rehearsal
    for process in rehearsal.processes():
        if not process.running:
            process.start()
    if not rehearsal.s3.process:
        rehearsal.s3.start()
    with errors.open("rb") as log:
        log.seek(logged)
        failed_upstream = b"upstream server temporarily disabled" in log.read()
    if failed_upstream:
        # nginx leaves an upstream that failed (a killed `portal serve`) out for its
        # fail_timeout (deploy/nginx's): the next test would find "no live upstreams"
        # (503) or never reach that host.
        time.sleep(rehearsal.nginx.fail_timeout + 0.5)


def sign_in(
    rehearsal: Rehearsal, email: str = SECRETARIAT.email, password: str = SECRETARIAT.password
) -> requests.Session:
    """A session signed in through nginx (its route cookie included)."""
    session = requests.Session()
    answer = session.post(
        rehearsal.url + "/api/v1/auth/login",
        json={"email": email, "password": password},
        timeout=10,
    )
    answer.raise_for_status()
    return session

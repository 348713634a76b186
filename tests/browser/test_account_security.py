"""A forgotten password reset through the mail, then two-factor sign-in set up with the
QR code page and used to sign in, in a real browser. The site has no mail server: its
mailer thread writes each message to instance/mail/ as an .eml file, read here."""

from __future__ import annotations

import email
import email.policy
import re
import time
from email.message import EmailMessage
from typing import Any

import pyotp

from .conftest import PASSWORD, check_accessibility, shoot

NEW_PASSWORD = "nueva-clave-del-puerto"


def mail_to(site: Any, address: str, timeout: float = 15, containing: str = "") -> EmailMessage:
    """The message the site's mailer wrote for `address` (the first whose text holds
    `containing`)."""
    folder = site.server.log.parent / "mail"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            if address in message["To"] and containing in text:
                return message  # type: ignore[return-value]
        time.sleep(0.1)
    raise AssertionError(f"no mail to {address} in {folder}")


def test_reset_by_mail_then_two_factor_sign_in(browser, site, visit):
    address = "olvido@ports.example"
    created = site.server.api(
        "POST",
        "/users",
        site.data.tokens.secretariat,
        json={"email": address, "name": "Olga Olvido", "password": PASSWORD, "locale": "es"},
    )
    assert created.status_code == 201, created.text

    # The sign-in page links to the form; it answers without telling anything.
    page = visit("/login")
    page.locator('main a[href="/forgot-password"]').click()
    page.locator("#email").fill(address)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(site.url + "/forgot-password")
    assert address in page.locator("main .notice[role=status]").inner_text()
    check_accessibility(page)

    message = mail_to(site, address)
    assert message.get_body(("html",)).get_content().count('<html lang="es">') == 1
    path = re.search(r"/reset-password/[\w-]+", message.get_body(("plain",)).get_content())[0]

    # The link: a new password twice, then sign in with it.
    page.goto(site.url + path)
    check_accessibility(page)
    page.locator("#password").fill(NEW_PASSWORD)
    page.locator("#password_again").fill(NEW_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(site.url + "/login")
    page.locator("#email").fill(address)
    page.locator("#password").fill(NEW_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(site.url + "/work")

    # Two-factor sign-in from the account menu: the password, the QR code, a first code.
    page.locator("header details.account summary").click()
    page.locator('header a[href="/account/two-factor"]').click()
    page.locator("#password").fill(NEW_PASSWORD)
    page.locator("main form button[type=submit]").click()
    assert page.locator("figure.qr svg").is_visible()
    check_accessibility(page)
    shoot(page, "two-factor-setup")
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.locator("#code").fill(totp.now())
    page.locator("main form button[type=submit]").click()
    assert page.locator("ol.recovery-codes li").count() == 10
    check_accessibility(page)
    shoot(page, "two-factor-recovery-codes")

    # Signing in again, without JavaScript: the password, then the code on its own page.
    plain = visit("/login", javascript=False)
    plain.locator("#email").fill(address)
    plain.locator("#password").fill(NEW_PASSWORD)
    plain.locator("main form button[type=submit]").click()
    plain.wait_for_url(site.url + "/login/code")
    plain.locator("#code").fill(totp.at(time.time() + 30))  # the next code: each works once
    plain.locator("main form button[type=submit]").click()
    plain.wait_for_url(site.url + "/work")

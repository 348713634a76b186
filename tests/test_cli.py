"""The `flask portal` commands."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from portal.accounts.models import User
from portal.accounts.passwords import verify_password
from portal.demo import DEMO_PASSWORD
from portal.extensions import db
from portal.network.models import Community, MemberState
from portal.workspaces.models import Membership, Role, Workspace


def test_init_writes_the_config_once_and_upgrades_the_schema(app):
    runner = app.test_cli_runner()
    cfg = Path(app.instance_path) / "portal.cfg"
    cfg.unlink(missing_ok=True)

    first = runner.invoke(args=["portal", "init"])
    second = runner.invoke(args=["portal", "init"])

    assert first.exit_code == 0, first.output
    assert "new secret key" in first.output
    assert second.exit_code == 0 and "new secret key" not in second.output
    assert "up to date" in second.output
    cfg.unlink()


def test_create_user_with_password_from_stdin(app, ctx):
    runner = app.test_cli_runner()

    result = runner.invoke(
        args=[
            "portal",
            "create-user",
            "Staff@Ports.example",
            "--name",
            "Staff",
            "--secretariat",
            "--password-stdin",
        ],
        input="a-long-password\n",
    )

    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "staff@ports.example"))
    assert user.is_secretariat
    assert verify_password(user.password_hash, "a-long-password")


def test_create_user_refuses_duplicates_short_passwords_and_unknown_communities(app, ctx):
    runner = app.test_cli_runner()
    runner.invoke(args=["portal", "create-user", "a@ports.example", "--name", "A"])

    duplicate = runner.invoke(args=["portal", "create-user", "a@ports.example", "--name", "A"])
    short = runner.invoke(
        args=["portal", "create-user", "b@ports.example", "--name", "B", "--password-stdin"],
        input="short\n",
    )
    community = runner.invoke(
        args=["portal", "create-user", "c@ports.example", "--name", "C", "--community", "nowhere"]
    )

    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    assert short.exit_code != 0 and "10 characters" in short.output
    assert community.exit_code != 0 and "nowhere" in community.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_create_user_takes_a_language_and_timezone_or_leaves_them_for_the_browser(app, ctx):
    runner = app.test_cli_runner()
    create = ["portal", "create-user"]

    given = runner.invoke(
        args=[*create, "a@ports.example", "--name", "A", "--locale", "en", "--timezone", "UTC"]
    )
    unsaid = runner.invoke(args=[*create, "b@ports.example", "--name", "B"])
    bogus = runner.invoke(args=[*create, "c@ports.example", "--name", "C", "--timezone", "Nowhere"])

    assert given.exit_code == 0 and unsaid.exit_code == 0, given.output + unsaid.output
    assert bogus.exit_code != 0 and "Nowhere" in bogus.output
    preferences = db.session.execute(select(User.email, User.locale, User.timezone)).all()
    assert sorted(preferences) == [
        ("a@ports.example", "en", "UTC"),
        ("b@ports.example", None, None),
    ]


def test_demo_loads_the_network_once(app, ctx, api):
    runner = app.test_cli_runner()

    first = runner.invoke(args=["portal", "demo"])
    second = runner.invoke(args=["portal", "demo"])

    assert first.exit_code == 0 and "27 communities" in first.output
    assert "already loaded" in second.output
    assert db.session.scalar(select(func.count()).select_from(MemberState)) == 13
    assert db.session.scalar(select(func.count()).select_from(Community)) == 27
    assert db.session.scalar(select(func.count()).where(Community.is_demo.is_(False))) == 0
    roles = set(db.session.scalars(select(Membership.role)))
    assert roles == set(Role)
    assert db.session.scalar(select(func.count()).select_from(Workspace)) == 3
    login = api.post(
        "/auth/login", {"email": "secretariat@portnet.example", "password": DEMO_PASSWORD}
    )
    assert login.status_code == 200 and login.get_json()["is_secretariat"] is True
    feed = api.get("/public/feed.atom").get_data(as_text=True)
    assert feed.count("<entry>") == 3 and "Shore power" in feed
    assert api.get("/publication-requests").get_json()["total"] == 1
    contacts = {p["name"]: p for p in api.get("/contacts?per_page=100").get_json()["items"]}
    assert contacts["Andrés Morales"]["is_focal_point"] is True
    assert contacts["Andrés Morales"]["phone"] == "+57 605 660 1200"
    directory = app.test_client().get("/directory").get_data(as_text=True)
    assert "Andrés Morales" in directory and "contacto@cartagena.portnet.example" in directory

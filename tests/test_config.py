"""Settings: defaults < portal.cfg < PORTAL_* variables; production refuses dev defaults."""

from __future__ import annotations

import pytest

from portal import ConfigurationError, create_app
from portal.config import check_production, load, write_instance_config


def test_layers_override_in_order(tmp_path, monkeypatch):
    (tmp_path / "portal.cfg").write_text("MAX_UPLOAD_MB = 50\nSTORAGE = 's3'\n")
    monkeypatch.setenv("PORTAL_MAX_UPLOAD_MB", "200")

    settings = load(tmp_path)

    assert settings["MAX_UPLOAD_MB"] == 200  # environment beats the file
    assert settings["STORAGE"] == "s3"  # the file beats the default
    assert settings["INDEXER"] == "thread"  # the default
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path / 'portal.db'}"


@pytest.mark.parametrize(("name", "value"), [("MAX_UPLOAD_MB", "lots"), ("S3_SECURE", "maybe")])
def test_badly_typed_variable_is_a_clear_error(tmp_path, monkeypatch, name, value):
    monkeypatch.setenv(f"PORTAL_{name}", value)

    with pytest.raises(ConfigurationError, match=f"PORTAL_{name}"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


@pytest.mark.parametrize(
    ("settings", "name"),
    [({"STORAGE": "ftp"}, "STORAGE"), ({"STORAGE": "s3", "S3_BUCKET": "b"}, "S3_BUCKET")],
)
def test_a_blob_store_it_cannot_use_is_refused_at_start(tmp_path, monkeypatch, settings, name):
    for key, value in settings.items():
        monkeypatch.setenv(f"PORTAL_{key}", value)

    with pytest.raises(ConfigurationError, match=f"PORTAL_{name}"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_production_refuses_development_defaults(tmp_path):
    with pytest.raises(ConfigurationError) as refused:
        create_app({"INSTANCE_PATH": str(tmp_path), "ENV": "production"})

    message = str(refused.value)
    assert "PORTAL_SECRET_KEY" in message
    assert "PostgreSQL" in message


def test_production_with_real_settings_starts_with_secure_cookies(tmp_path):
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path),
            "ENV": "production",
            "SECRET_KEY": "k" * 48,
            "DATABASE_URL": "postgresql+psycopg://portal@db.internal/portal",
        }
    )

    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert check_production(app.config["PORTAL"]) == []


def test_instance_config_is_written_once_and_private(tmp_path):
    assert write_instance_config(tmp_path, "first-secret") is True
    assert write_instance_config(tmp_path, "second-secret") is False

    cfg = tmp_path / "portal.cfg"
    assert "first-secret" in cfg.read_text()
    assert cfg.stat().st_mode & 0o077 == 0
    assert load(tmp_path)["SECRET_KEY"] == "first-secret"

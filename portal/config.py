"""Settings: defaults < instance/portal.cfg < PORTAL_* environment variables.

Every setting has a default here, so the portal runs with nothing configured
(SQLite, a local blob folder and the search index, all in the instance folder).
A production deployment (`PORTAL_ENV=production`) must replace the development
defaults; `check_production` says which ones it still has.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .logs import LEVELS

ENV_PREFIX = "PORTAL_"

DEFAULTS: dict[str, Any] = {
    # `development` or `production`; production refuses development defaults.
    "ENV": "development",
    "SECRET_KEY": "",
    # Empty means SQLite in the instance folder.
    "DATABASE_URL": "",
    "STORAGE": "local",
    "S3_ENDPOINT": "",
    "S3_ACCESS_KEY": "",
    "S3_SECRET_KEY": "",
    "S3_BUCKET": "portal",
    "S3_SECURE": True,
    "S3_PRESIGNED_DOWNLOADS": False,
    "REDIS_URL": "",
    "MAX_UPLOAD_MB": 100,
    # Text extractions (child processes) running at once in one process, and the
    # seconds an upload waits for one before it answers 503.
    "EXTRACT_WORKERS": os.cpu_count() or 1,
    "EXTRACT_WAIT_SECONDS": 30,
    # Refused uploads: file extensions (".exe") and sniffed MIME types, comma-separated;
    # programs and scripts are refused whatever this says.
    "UPLOAD_DENY": (
        ".exe,.dll,.com,.bat,.cmd,.scr,.msi,.pif,.cpl,.ps1,.vbs,.vbe,.jse,.wsf,.jar,.apk,"
        ".sh,.app,.hta,application/java-archive,application/x-msi"
    ),
    "INDEXER": "thread",
    "LOGIN_RATE_LIMIT": "10/minute;100/hour",
    # Password-reset requests, counted per client address and per e-mail address
    # (each request may send a mail, so every request counts, not only failures).
    "RESET_RATE_LIMIT": "3/minute;10/hour",
    # `required`: a secretariat account without two-factor sign-in can only set it up.
    "SECRETARIAT_2FA": "optional",
    "PUBLIC_RATE_LIMIT": "60/minute;1000/hour",
    # Rate-limit counters; empty means the Redis URL if set, else process memory.
    "RATELIMIT_STORAGE_URL": "",
    "TRUST_PROXY_HOPS": 0,
    "TOKEN_DEFAULT_DAYS": 90,
    "TOKEN_MAX_DAYS": 365,
    "SESSION_HOURS": 12,
    # Days a deleted item stays restorable before `portal purge` removes it.
    "TRASH_DAYS": 30,
    # The address people reach the portal at, for the links in e-mails.
    "BASE_URL": "http://127.0.0.1:5000",
    # Days an invitation's link works.
    "INVITATION_DAYS": 7,
    # SMTP; without a server each message is written to instance/mail/ as an .eml file.
    "MAIL_SERVER": "",
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_USERNAME": "",
    "MAIL_PASSWORD": "",
    "MAIL_SENDER": "Port Network Portal <portal@localhost>",
    # `thread`: a thread of the web process sends; `external`: the `portal mailer` process.
    "MAILER": "thread",
    # Seconds before the first retry while the mail server is down (doubling, up to an
    # hour), and between two looks at the outbox.
    "MAIL_RETRY_SECONDS": 30,
    "MAIL_POLL_SECONDS": 5,
    # The least severe log lines `portal serve`, `indexer` and `mailer` write (portal/logs.py).
    "LOG_LEVEL": "INFO",
}

# Settings whose value names a file or secret and must not be printed.
SECRET_SETTINGS = {"SECRET_KEY", "S3_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "MAIL_PASSWORD"}

CONFIG_FILENAME = "portal.cfg"


def instance_path() -> Path:
    """The instance folder: `PORTAL_INSTANCE_PATH`, else ./instance."""
    return Path(os.environ.get(ENV_PREFIX + "INSTANCE_PATH", "instance")).resolve()


def _coerce(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise ValueError(f"{ENV_PREFIX}{name} must be true or false, not {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}{name} must be a whole number, not {raw!r}") from None
    return raw


def load(path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge the three layers (and test overrides last) into one dict."""
    settings = dict(DEFAULTS)
    cfg_file = path / CONFIG_FILENAME
    if cfg_file.exists():
        scope: dict[str, Any] = {}
        exec(compile(cfg_file.read_text(), str(cfg_file), "exec"), scope)  # noqa: S102 - our own file
        settings.update({k: v for k, v in scope.items() if k.isupper()})
    for name, default in DEFAULTS.items():
        raw = os.environ.get(ENV_PREFIX + name)
        if raw is not None:
            settings[name] = _coerce(name, raw, default)
    settings.update(overrides or {})
    if not settings["DATABASE_URL"]:
        settings["DATABASE_URL"] = f"sqlite:///{path / 'portal.db'}"
    _check_storage(settings)
    if settings["SECRETARIAT_2FA"] not in ("optional", "required"):
        raise ValueError(
            f"{ENV_PREFIX}SECRETARIAT_2FA must be optional or required, "
            f"not {settings['SECRETARIAT_2FA']!r}"
        )
    settings["LOG_LEVEL"] = settings["LOG_LEVEL"].upper()
    if settings["LOG_LEVEL"] not in LEVELS:
        raise ValueError(
            f"{ENV_PREFIX}LOG_LEVEL must be one of {', '.join(LEVELS)}, "
            f"not {settings['LOG_LEVEL']!r}"
        )
    return settings


def _check_storage(settings: dict[str, Any]) -> None:
    """Refuse at start what the blob store would refuse on the first upload."""
    if settings["STORAGE"] not in ("local", "s3"):
        raise ValueError(f"{ENV_PREFIX}STORAGE must be local or s3, not {settings['STORAGE']!r}")
    if settings["STORAGE"] == "s3":
        from minio.helpers import check_bucket_name

        try:
            check_bucket_name(settings["S3_BUCKET"])
        except ValueError as error:
            raise ValueError(f"{ENV_PREFIX}S3_BUCKET: {error}") from None


def check_production(settings: dict[str, Any]) -> list[str]:
    """The development defaults a production configuration still has."""
    if settings["ENV"] != "production":
        return []
    problems = []
    if len(settings["SECRET_KEY"]) < 32:
        problems.append("PORTAL_SECRET_KEY is missing or shorter than 32 characters")
    if settings["DATABASE_URL"].startswith("sqlite"):
        problems.append("PORTAL_DATABASE_URL points at SQLite; production needs PostgreSQL")
    if settings["STORAGE"] == "s3" and not settings["S3_SECURE"]:
        problems.append("PORTAL_S3_SECURE is off; production talks to the store over TLS")
    return problems


def write_instance_config(path: Path, secret_key: str) -> bool:
    """Write portal.cfg with a secret key unless it exists; True if written."""
    path.mkdir(parents=True, exist_ok=True)
    cfg_file = path / CONFIG_FILENAME
    if cfg_file.exists():
        return False
    cfg_file.write_text(
        "# Settings of this deployment; PORTAL_* environment variables override them.\n"
        f"SECRET_KEY = {secret_key!r}\n"
    )
    cfg_file.chmod(0o600)
    return True

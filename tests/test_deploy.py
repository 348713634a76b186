"""deploy/ holds together: the systemd units start real `portal` commands with the
settings of portal.env.example, which names every setting config.py knows and is a
valid production configuration; the compose file's portal is one too; the wrapper
hands the settings over unchanged; nginx accepts the site and answers what it refuses
itself as the portal would."""

from __future__ import annotations

import configparser
import getpass
import json
import os
import re
import shlex
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import requests
import yaml

from portal import config
from portal.cli import portal_cli

from .conftest import missing_service
from .rehearsal.services import steady_port
from .rehearsal.topology import NGINX, Nginx

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SYSTEMD = DEPLOY / "systemd"
UNITS = ["portal-serve@.service", "portal-indexer.service", "portal-mailer.service"]
# Maintenance jobs, each a oneshot service started by the timer of its name.
JOBS = ["portal-purge.service", "portal-storage-check.service"]
SHARED_DROP_IN = SYSTEMD / "portal-.service.d" / "portal.conf"
SETTINGS = {config.ENV_PREFIX + name for name in config.DEFAULTS} | {
    config.ENV_PREFIX + "INSTANCE_PATH"
}
SERVE_PORTS = {"5001", "5002"}
# The words of a unit or compose command before the `portal` command's name.
FLASK_PREFIX = ["/opt/portal/current/.venv/bin/flask", "--app", "wsgi", "portal"]


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines as systemd's EnvironmentFile reads them (one pair of quotes off)."""
    values = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string(path.read_text())
    return parser


def check_portal_command(words: list[str], substitutions: dict[str, str]) -> click.Command:
    """The words name a `portal` command whose options accept the arguments given."""
    words = [substitutions.get(word, word) for word in words]
    command = portal_cli.commands.get(words[0])
    assert command is not None, f"`portal {words[0]}` does not exist"
    command.make_context(words[0], words[1:])  # raises on an unknown option or a bad value
    return command


def option(words: list[str], name: str) -> str:
    """The value given to an option in a command's words."""
    return words[words.index(name) + 1]


def loaded_settings(environment: dict[str, str], monkeypatch, tmp_path) -> dict[str, Any]:
    """What config.py makes of these variables, as `portal serve` would load them."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        if name.startswith(config.ENV_PREFIX):
            monkeypatch.setenv(name, value)
    return config.load(tmp_path)


# --- portal.env.example


def test_the_env_example_names_every_setting_with_a_comment():
    example = DEPLOY / "portal.env.example"
    values = read_env_file(example)
    assert {name for name in values if name.startswith(config.ENV_PREFIX)} == SETTINGS
    lines = example.read_text().splitlines()
    for number, line in enumerate(lines):
        if line.startswith(config.ENV_PREFIX):
            assert lines[number - 1].startswith("# "), f"no comment above {line!r}"


def test_the_env_example_is_a_production_configuration(monkeypatch, tmp_path):
    settings = loaded_settings(read_env_file(DEPLOY / "portal.env.example"), monkeypatch, tmp_path)

    assert settings["ENV"] == "production"
    assert config.check_production(settings) == []
    assert settings["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert (settings["STORAGE"], settings["INDEXER"], settings["MAILER"]) == (
        "s3",
        "external",
        "external",
    )
    assert settings["REDIS_URL"] and settings["TRUST_PROXY_HOPS"] == 1


# --- systemd


def test_each_unit_starts_a_real_portal_command_and_restarts():
    substitutions = {"%i": "5001", "${SERVE_ADDRESS}": "127.0.0.1"}
    for name in UNITS:
        service = unit(SYSTEMD / name)["Service"]
        words = shlex.split(service["ExecStart"])
        assert words[: len(FLASK_PREFIX)] == FLASK_PREFIX, name
        check_portal_command(words[len(FLASK_PREFIX) :], substitutions)
        assert service["Restart"] == "always", name
        assert unit(SYSTEMD / name)["Install"]["WantedBy"] == "portal.target", name
        assert unit(SYSTEMD / name)["Unit"]["PartOf"] == "portal.target", name


def test_each_job_is_a_real_portal_command_started_by_its_timer():
    for name in JOBS:
        service = unit(SYSTEMD / name)["Service"]
        words = shlex.split(service["ExecStart"])
        assert words[: len(FLASK_PREFIX)] == FLASK_PREFIX, name
        check_portal_command(words[len(FLASK_PREFIX) :], {})
        assert service["Type"] == "oneshot", name
        timer = unit(SYSTEMD / name.replace(".service", ".timer"))
        assert timer["Timer"]["OnCalendar"], name
        assert timer["Install"]["WantedBy"] == "timers.target", name


def test_serve_instances_are_the_ports_nginx_names_with_threads_and_files_for_them():
    serve = unit(SYSTEMD / "portal-serve@.service")["Service"]
    words = shlex.split(serve["ExecStart"])
    assert option(words, "--port") == "%i"
    threads = int(option(words, "--threads"))
    assert threads == 1000
    upstream = (DEPLOY / "nginx" / "portal.conf").read_text()
    assert set(re.findall(r"^\s*server [\d.]+:(\d+) ", upstream, re.MULTILINE)) == SERVE_PORTS
    shared = unit(SHARED_DROP_IN)["Service"]
    # gunicorn accepts threads + 1000 connections (portal/server.py); each is a file.
    assert int(shared["LimitNOFILE"]) >= 2 * (threads + 1000)


def test_serve_tells_systemd_it_is_ready_from_its_main_process(tmp_path):
    """Type=notify with NotifyAccess=main: `portal serve` itself (gunicorn's arbiter,
    in process) sends READY=1 on $NOTIFY_SOCKET once it listens."""
    assert unit(SYSTEMD / "portal-serve@.service")["Service"]["Type"] == "notify"
    address = str(tmp_path / "notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    listener.bind(address)
    listener.settimeout(60)
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("PORTAL_")
    }
    environment |= {"NOTIFY_SOCKET": address, "PORTAL_INSTANCE_PATH": str(tmp_path)}
    serve = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "portal", "serve",
         "--port", str(steady_port()), "--threads", "4"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        credentials = struct.Struct("3i")
        message, ancillary, _, _ = listener.recvmsg(4096, socket.CMSG_SPACE(credentials.size))
    finally:
        serve.terminate()
        serve.wait(timeout=30)
        listener.close()

    assert message.startswith(b"READY=1")
    level, kind, data = ancillary[0]
    assert (level, kind) == (socket.SOL_SOCKET, socket.SCM_CREDENTIALS)
    sender_pid, _, _ = credentials.unpack(data)
    assert sender_pid == serve.pid


def test_the_shared_drop_in_runs_every_unit_as_portal_confined_to_its_folder():
    shared = unit(SHARED_DROP_IN)["Service"]
    instance = read_env_file(DEPLOY / "portal.env.example")["PORTAL_INSTANCE_PATH"]

    assert shared["User"] == "portal"
    assert shared["WorkingDirectory"] == "/opt/portal/current"
    assert shared["EnvironmentFile"] == "/etc/portal/portal.env"
    assert shared["NoNewPrivileges"] == "yes" and shared["PrivateTmp"] == "yes"
    assert shared["ProtectSystem"] == "strict"
    writable = shared["ReadWritePaths"].split()
    assert any(Path(instance).is_relative_to(path) for path in writable)


def test_systemd_accepts_the_units(tmp_path):
    """`systemd-analyze verify` in a root holding the units where they are installed
    and a stand-in for the venv's flask (it checks that ExecStart is executable)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        missing_service("systemd-analyze is not installed")
    system_units = Path("/lib/systemd/system")
    shutil.copytree(system_units, tmp_path / "lib/systemd/system", symlinks=True)
    shutil.copytree(SYSTEMD, tmp_path / "etc/systemd/system")
    flask = tmp_path / FLASK_PREFIX[0].lstrip("/")
    flask.parent.mkdir(parents=True)
    flask.write_text("#!/bin/sh\n")
    flask.chmod(0o755)

    names = ["portal-serve@5001.service", "portal-serve@5002.service"]
    names += [name for name in UNITS if "@" not in name] + ["portal.target"]
    names += JOBS + [name.replace(".service", ".timer") for name in JOBS]
    verify = subprocess.run(
        [analyze, "verify", "--man=no", f"--root={tmp_path}", *names],
        capture_output=True,
        text=True,
        timeout=60,
    )

    # An unknown key or section is only a warning: any output is a finding.
    assert (verify.returncode, verify.stdout + verify.stderr) == (0, "")


# --- deploy/bin/portal


def test_the_wrapper_runs_flask_in_the_release_with_the_settings_as_written(tmp_path):
    release = tmp_path / "current"
    flask = release / ".venv" / "bin" / "flask"
    flask.parent.mkdir(parents=True)
    report = tmp_path / "report.json"
    flask.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"json.dump({{'args': sys.argv[1:], 'cwd': os.getcwd(), 'env': dict(os.environ)}},"
        f" open({str(report)!r}, 'w'))\n"
    )
    flask.chmod(0o755)
    env_file = tmp_path / "portal.env"
    env_file.write_text(
        (DEPLOY / "portal.env.example").read_text()
        + "PORTAL_MAIL_PASSWORD='pa$$word; with `ticks`'\n"
    )

    subprocess.run(
        [str(DEPLOY / "bin" / "portal"), "backup", "/var/backups/portal/today"],
        env={
            "PATH": os.environ["PATH"],
            "PORTAL_HOME": str(release),
            "PORTAL_ENV_FILE": str(env_file),
            "PORTAL_USER": getpass.getuser(),
        },
        check=True,
        timeout=30,
    )

    seen = json.loads(report.read_text())
    assert seen["args"] == [*FLASK_PREFIX[1:], "backup", "/var/backups/portal/today"]
    assert Path(seen["cwd"]) == release
    expected = read_env_file(env_file)
    assert {name: seen["env"].get(name) for name in expected} == expected
    assert seen["env"]["PORTAL_MAIL_PASSWORD"] == "pa$$word; with `ticks`"


# --- docker-compose.yml


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def with_placeholders(environment: dict[str, Any]) -> dict[str, str]:
    """Compose's `${NAME:?...}` and `${NAME:-default}` as compose would fill them with
    deploy/.env holding long random secrets."""

    def fill(match: re.Match[str]) -> str:
        operator, rest = match.group(2), match.group(3)
        return rest if operator == ":-" else "x" * 48

    pattern = re.compile(r"\$\{(\w+)(:[-?])([^}]*)\}")
    return {name: pattern.sub(fill, str(value)) for name, value in environment.items()}


def portal_services(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    image = document["x-portal"]["image"]
    return {
        name: service
        for name, service in document["services"].items()
        if service.get("image") == image and "environment" in service
    }


def test_compose_has_every_component_and_the_portal_processes():
    document = compose()
    services = document["services"]
    images = {name: service.get("image", "") for name, service in services.items()}
    assert images["postgres"].startswith("postgres:")
    assert images["redis"].startswith("redis:")
    assert images["minio"].startswith("minio/")
    assert images["nginx"].startswith("nginx:")

    commands = {name: service["command"] for name, service in portal_services(document).items()}
    ports = {option(words, "--port") for words in commands.values() if "--port" in words}
    assert ports == SERVE_PORTS
    names = sorted(words[0] for words in commands.values())
    assert names == ["indexer", "init", "mailer", "serve", "serve"]
    for words in commands.values():
        check_portal_command(words, {})
    build = document["x-portal"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"


def test_compose_portal_is_a_production_configuration(monkeypatch, tmp_path):
    for name, service in portal_services(compose()).items():
        environment = with_placeholders(service["environment"])
        unknown = {n for n in environment if n.startswith(config.ENV_PREFIX)} - SETTINGS
        assert unknown == set(), name
        settings = loaded_settings(environment, monkeypatch, tmp_path)
        assert config.check_production(settings) == [], name
        assert (settings["INDEXER"], settings["MAILER"]) == ("external", "external"), name
        assert settings["TRUST_PROXY_HOPS"] == 1, name


def test_compose_keeps_the_instance_folder_and_the_data_in_volumes():
    document = compose()
    services = document["services"]
    declared = set(document["volumes"])
    for name, service in portal_services(document).items():
        instance = service["environment"]["PORTAL_INSTANCE_PATH"]
        assert f"instance:{instance}" in service["volumes"], name
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "minio-data:/data" in services["minio"]["volumes"]
    used = {
        volume.split(":")[0]
        for service in services.values()
        for volume in service.get("volumes", [])
        if not volume.startswith(".")
    }
    assert used == declared
    mounts = services["nginx"]["volumes"]
    assert "./nginx:/etc/nginx/portal:ro" in mounts
    for mount in mounts:
        source = mount.split(":")[0]
        if source.startswith("."):
            assert (DEPLOY / source).exists(), mount


# --- nginx


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        missing_service("openssl is not installed")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=portal.example.org", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


NGINX_MAIN = """\
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    {http}
}}
"""


@pytest.mark.parametrize("site", ["nginx/portal.conf", "compose/nginx.conf"])
def test_nginx_accepts_the_site(site, tmp_path):
    """`nginx -t` on the site as installed (deploy/nginx as /etc/nginx/portal, the
    locations' relative include resolved from the main file's folder, as from
    /etc/nginx), with a self-signed certificate and this test's folders for logs."""
    nginx = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")
    if nginx is None:
        missing_service("nginx is not installed")
    cert, key = self_signed_certificate(tmp_path)
    (tmp_path / "portal").symlink_to(DEPLOY / "nginx")
    text = (DEPLOY / site).read_text()
    text = text.replace("/etc/nginx/portal/", f"{tmp_path}/portal/")
    text = text.replace("/var/log/nginx/", f"{tmp_path}/")
    text = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", text)
    text = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", text)
    text = re.sub(r"server serve-\d+:", "server 127.0.0.1:", text)  # compose's names
    if site.startswith("compose/"):  # nginx's whole configuration already
        text = f"pid {tmp_path}/nginx.pid;\n{text}"
    else:  # a site, included in the `http` block
        text = NGINX_MAIN.format(folder=tmp_path, http=text.replace("\n", "\n    "))
    (tmp_path / "nginx.conf").write_text(text)

    test = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
         "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip

    assert test.returncode == 0, test.stderr
    assert "[warn]" not in test.stderr and "[emerg]" not in test.stderr, test.stderr


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory):
    """nginx with the rehearsal's configuration (deploy/nginx's files as they are) in
    front of a `portal serve` that is down: what nginx answers by itself."""
    if NGINX is None:
        missing_service("nginx is not installed")
    server = Nginx(tmp_path_factory.mktemp("edge"), [steady_port()]).start()
    yield server.url
    server.stop()


@pytest.mark.parametrize(
    ("path", "kind"), [("/work", "text/html; charset=utf-8"), ("/api/v1/me", "application/json")]
)
@pytest.mark.parametrize(
    ("refused", "status", "headers", "code"),
    [
        ("url", 414, {}, "too_large"),
        ("cookie", 400, {"Cookie": "big=" + "c" * 65_536}, "invalid"),
        ("body", 413, {"Content-Length": str(200 * 2**20)}, "too_large"),
        ("all down", 503, {}, "unavailable"),
    ],
)
def test_nginx_answers_what_it_refuses_as_the_portal_would(
    edge, path, kind, refused, status, headers, code
):
    """The API's error envelope on the API's paths, a page in the four languages
    elsewhere, with nginx's status; a too long URL too, though nginx refuses it before
    choosing a location."""
    url = edge + path + ("?q=" + "a" * 20_000 if refused == "url" else "")
    method = "POST" if refused == "body" else "GET"

    answer = requests.request(method, url, headers=headers, data=b"", timeout=10)

    assert (answer.status_code, answer.headers["Content-Type"]) == (status, kind)
    if kind == "application/json":
        assert answer.json()["error"]["code"] == code
    else:
        assert all(f'<p lang="{lang}">' in answer.text for lang in ("en", "es", "fr", "pt"))


def test_nginx_keeps_its_error_addresses_internal(edge):
    assert requests.get(edge + "/_portal_edge/api/400", timeout=10).status_code == 404

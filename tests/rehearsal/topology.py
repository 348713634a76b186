"""The production topology of deploy/, on loopback: PostgreSQL, Redis, SeaweedFS's S3
server, a mailer, two simulated web hosts and nginx in front.

Each web host is its own instance folder with its own `portal serve`, its own
`portal indexer` and its own search-index replica (DESIGN.md, "more than one
machine"); they share the database, Redis and the object store, as separate
machines would. nginx runs Debian's binary with the files of deploy/nginx: the
http-level settings and the locations are included as they are; only the upstream
addresses, the listening port and the paths differ from deploy/nginx/portal.conf.

    with Rehearsal(folder).start() as rehearsal:
        requests.get(rehearsal.url + "/api/v1/health")
        rehearsal.hosts[0].serve.kill()

Used by `make prod-rehearsal` (benchmarks/load.py) and tests/rehearsal/.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import requests

from portal.admission import DEFAULT_ACTIVE
from tests.documents.weed import WeedServer

from .services import Postgres, Process, Redis, steady_port

ROOT = Path(__file__).resolve().parents[2]
NGINX_FILES = ROOT / "deploy" / "nginx"
FLASK = str(Path(sys.executable).with_name("flask"))
NGINX = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")
# Work no page waits on runs behind the pages on the shared cores, as deploy/systemd's
# CPUWeight= and docker-compose's cpu_shares set it: the indexers, the mailer, and the
# S3 server standing in for object storage (an upload costs it about 10 ms of processor
# time a MB, in bursts on both cores; docs/operations.md).
BACKGROUND_NICENESS = 10


def upstream_server_parameters() -> str:
    """What deploy/nginx/portal.conf says after each upstream `server` address
    (`max_fails=1 fail_timeout=10s`): the rehearsal's upstreams are those of the site."""
    site = (NGINX_FILES / "portal.conf").read_text()
    upstream = re.search(r"upstream portal \{(.*?)\}", site, re.DOTALL)
    assert upstream, "deploy/nginx/portal.conf has no `upstream portal`"
    server = re.search(r"^\s*server \S+ ([^;]*);", upstream.group(1), re.MULTILINE)
    assert server, "deploy/nginx/portal.conf's upstream has no `server` line"
    return server.group(1)


class PortalProcess(Process):
    """`flask --app wsgi portal <command>` with one host's settings."""

    def __init__(
        self, folder: Path, name: str, arguments: list[str], environment: dict[str, str],
        port: int = 0, ready_line: str = "", niceness: int = 0,
    ) -> None:  # fmt: skip
        self.name = name
        self.niceness = niceness
        self.arguments = arguments
        self.settings = environment
        self.ready_line = ready_line
        super().__init__(folder, port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [FLASK, "--app", "wsgi", "portal", *self.arguments]

    def environment(self) -> dict[str, str]:
        return self.settings

    def start(self, timeout: float = 60.0) -> PortalProcess:
        self._lines_before = self.tail(10**9).count("\n")
        super().start(timeout)
        return self

    def ready(self) -> bool:
        if self.ready_line:  # a worker without a port: it said it started
            return self.ready_line in "\n".join(self.tail(10**9).splitlines()[self._lines_before :])
        try:
            return requests.get(self.url + "/api/v1/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False


class Host:
    """One simulated web host: an instance folder, its `portal serve` processes (one, or
    two as deploy/systemd runs them), its `portal indexer`."""

    def __init__(
        self, name: str, folder: Path, environment: dict[str, str], *,
        threads: int, active: int, serves: int,
    ):  # fmt: skip
        self.name = name
        self.folder = folder
        self.instance = folder / "instance"
        self.environment = {**environment, "PORTAL_INSTANCE_PATH": str(self.instance)}
        self.serves = []
        for number in range(1, serves + 1):
            port = steady_port()
            self.serves.append(
                PortalProcess(
                    folder, "serve" if number == 1 else f"serve{number}",
                    ["serve", "--host", "127.0.0.1", "--port", str(port),
                     "--threads", str(threads), "--active", str(active)],
                    self.environment, port=port,
                )
            )  # fmt: skip
        self.indexer = PortalProcess(
            folder, "indexer", ["indexer"], self.environment,
            ready_line="Following the event log", niceness=BACKGROUND_NICENESS,
        )  # fmt: skip

    @property
    def serve(self) -> PortalProcess:
        """The host's first `portal serve`: the one a fault test kills."""
        return self.serves[0]

    @property
    def index(self) -> Path:
        return self.instance / "index"


class Nginx(Process):
    """Debian's nginx with deploy/nginx's files, in the foreground."""

    name = "nginx"

    def __init__(self, folder: Path, upstreams: list[int], port: int = 0) -> None:
        super().__init__(folder, port)
        self.upstreams = upstreams
        self.config = self.folder / "nginx.conf"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def fail_timeout(self) -> float:
        """Seconds nginx leaves out an upstream that failed (`fail_timeout`, 10 s if unset)."""
        given = re.search(r"fail_timeout=(\d+)s?\b", upstream_server_parameters())
        return float(given.group(1)) if given else 10.0

    def command(self) -> list[str]:
        return [NGINX or "nginx", "-p", str(self.folder),
                "-c", str(self.config), "-g", "daemon off;"]  # fmt: skip

    def start(self, timeout: float = 30.0) -> Nginx:
        for temp in ("body", "proxy"):
            (self.folder / "temp" / temp).mkdir(parents=True, exist_ok=True)
        # deploy/nginx as /etc/nginx/portal: relative includes resolve from here.
        files = self.folder / "portal"
        if not files.exists():
            files.symlink_to(NGINX_FILES)
        self.config.write_text(self.render())
        subprocess.run([*self.command()[:-2], "-t", "-q"], check=True)
        super().start(timeout)
        return self

    def render(self) -> str:
        servers = "\n".join(
            f"        server 127.0.0.1:{port} {upstream_server_parameters()};"
            for port in self.upstreams
        )
        # As root, nginx's workers would otherwise run as nobody, who cannot enter a
        # test's private temporary folder.
        user = "user root;" if os.geteuid() == 0 else ""
        temp = self.folder / "temp"
        return f"""\
{user}
worker_processes auto;
pid {self.folder}/nginx.pid;
error_log {self.folder}/error.log warn;
events {{ worker_connections 16384; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    include portal/portal-http.conf;
    access_log {self.folder}/access.log portal;
    upstream portal {{
        hash $portal_route consistent;
{servers}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        server_name _;
        location /static/ {{
            alias {ROOT}/portal/static/;
            expires 1h;
            access_log off;
        }}
        include portal/portal-locations.conf;
    }}
}}
"""


class Rehearsal:
    """Every process of the production topology, started in order and stopped."""

    def __init__(
        self,
        folder: Path,
        *,
        hosts: int = 2,
        threads: int = 1200,
        active: int = DEFAULT_ACTIVE,
        serves_per_host: int = 1,
        mail_port: int = 0,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.postgres = Postgres(self.folder / "postgres")
        self.redis = Redis(self.folder / "redis")
        self.s3 = WeedServer(self.folder / "s3", niceness=BACKGROUND_NICENESS)
        self.shared = {
            **{name: value for name, value in os.environ.items() if not name.startswith("PORTAL_")},
            "PYTHONPATH": str(ROOT),
            "PORTAL_ENV": "development",  # production refuses S3 without TLS; loopback has none
            "PORTAL_SECRET_KEY": secrets.token_urlsafe(48),
            "PORTAL_DATABASE_URL": self.postgres.url,
            "PORTAL_REDIS_URL": self.redis.url,
            "PORTAL_STORAGE": "s3",
            "PORTAL_S3_ENDPOINT": "",  # known once the S3 server has its ports
            "PORTAL_S3_ACCESS_KEY": self.s3.access_key,
            "PORTAL_S3_SECRET_KEY": self.s3.secret_key,
            "PORTAL_S3_BUCKET": "portal",
            "PORTAL_S3_SECURE": "false",
            "PORTAL_INDEXER": "external",
            "PORTAL_MAILER": "external",
            "PORTAL_TRUST_PROXY_HOPS": "1",
            **({"PORTAL_MAIL_SERVER": "127.0.0.1", "PORTAL_MAIL_PORT": str(mail_port)}
               if mail_port else {}),
            **(settings or {}),
        }  # fmt: skip
        self.hosts = [
            Host(
                f"host{number}",
                self.folder / f"host{number}",
                self.shared,
                threads=threads,
                active=active,
                serves=serves_per_host,
            )
            for number in range(1, hosts + 1)
        ]
        self.mailer = PortalProcess(
            self.folder / "mailer", "mailer", ["mailer", "--interval", "0.5"],
            {**self.shared, "PORTAL_INSTANCE_PATH": str(self.folder / "mailer" / "instance")},
            ready_line="Sending the outbox", niceness=BACKGROUND_NICENESS,
        )  # fmt: skip
        self.nginx = Nginx(self.folder / "nginx", [serve.port for serve in self.serves()])

    @property
    def url(self) -> str:
        return self.nginx.url

    def start(self) -> Rehearsal:
        self.folder.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        try:
            self.postgres.start()
            self.redis.start()
            self.s3.start()
            endpoint = {"PORTAL_S3_ENDPOINT": self.s3.endpoint}
            self.shared.update(endpoint)
            for process in self.portal_processes():
                process.settings.update(endpoint)
            for host in self.hosts:  # the schema once, then each host's own index replica
                self.flask("init", host=host)
            for host in self.hosts:
                host.indexer.start()
                for serve in host.serves:
                    serve.start()
            self.mailer.start()
            self.nginx.start()
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - started
        return self

    def portal_processes(self) -> list[PortalProcess]:
        return [self.mailer, *(p for host in self.hosts for p in (*host.serves, host.indexer))]

    def serves(self) -> list[PortalProcess]:
        """Every `portal serve` of every host."""
        return [serve for host in self.hosts for serve in host.serves]

    def processes(self) -> list[Process]:
        """Every process but the S3 server (tests/documents/weed.py has its own kind),
        in the order they stop."""
        return [self.nginx, *self.portal_processes(), self.redis, self.postgres]

    def stop(self) -> None:
        for process in self.processes():
            process.stop()
        self.s3.stop()

    def flask(
        self,
        *arguments: str,
        host: Host | None = None,
        check: bool = True,
        timeout: float = 600,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """A `flask --app wsgi portal ...` command with a host's settings (the first's)."""
        environment = (host or self.hosts[0]).environment
        result = subprocess.run(
            [FLASK, "--app", "wsgi", "portal", *arguments],
            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=timeout, input=input,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise RuntimeError(
                f"portal {' '.join(arguments)} failed:\n{result.stdout}{result.stderr}"
            )
        return result

    def __enter__(self) -> Rehearsal:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

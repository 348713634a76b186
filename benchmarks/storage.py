"""Document storage throughput: the portal's HTTP API against the S3 SDK directly.

Starts a throw-away SeaweedFS `weed` server (S3) and `flask --app wsgi portal
serve` configured to store documents there, then moves the same 256 MiB file

- up and down through the portal's API (raw-body upload, streamed download),
- up and down with the minio SDK directly against the same server,

and prints MB/s of each, the ratio portal/direct for each direction, and the
peak RSS growth of the server processes during the upload.
Targets: ratio >= 0.8 both ways, RSS growth <= 64 MiB.

Run: `python benchmarks/storage.py [--size-mib 256]` (or `make bench`).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests
from minio import Minio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.documents.weed import WeedServer  # noqa: E402

MiB = 1024 * 1024
BUCKET_PORTAL = "portal-bench"
BUCKET_DIRECT = "direct-bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(4 * MiB)
    with open(path, "wb") as out:
        left = size
        while left:
            chunk = block[: min(left, len(block))]
            out.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


class RssSampler(threading.Thread):
    """Samples the RSS of a process and its children every 20 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.running = True

    def rss(self) -> int:
        total = 0
        for proc in [self.process, *self.process.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.memory_info().rss
        return total

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.rss())
            time.sleep(0.02)

    def stop(self) -> int:
        self.running = False
        self.join()
        return self.peak


def flask(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """`flask --app wsgi portal serve` (gunicorn, one worker, threads)."""
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "flask"),
            "--app",
            "wsgi",
            "portal",
            "serve",
            "--port",
            str(port),
            "--threads",
            "8",
        ],
        cwd=ROOT,
        env=env,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument(
        "--rounds", type=int, default=4, help="An even number: each side goes first as often."
    )
    options = parser.parse_args()
    size = options.size_mib * MiB

    with tempfile.TemporaryDirectory(prefix="portal-bench-") as scratch:
        scratch_path = Path(scratch)
        weed = WeedServer(scratch_path / "weed").start()
        server = None
        try:
            source = scratch_path / "payload.bin"
            expected = make_file(source, size)
            port = free_port()
            env = {
                **os.environ,
                "PORTAL_INSTANCE_PATH": str(scratch_path / "instance"),
                "PORTAL_SECRET_KEY": "benchmark-secret-key-long-enough-0123456789",
                "PORTAL_STORAGE": "s3",
                "PORTAL_S3_ENDPOINT": weed.endpoint,
                "PORTAL_S3_ACCESS_KEY": weed.access_key,
                "PORTAL_S3_SECRET_KEY": weed.secret_key,
                "PORTAL_S3_BUCKET": BUCKET_PORTAL,
                "PORTAL_S3_SECURE": "false",
                "PORTAL_MAX_UPLOAD_MB": str(options.size_mib + 16),
                "PORTAL_LOGIN_RATE_LIMIT": "1000/minute",
            }
            env.pop("PORTAL_DATABASE_URL", None)
            flask(env, "portal", "init")
            flask(
                env,
                "portal",
                "create-user",
                "bench@ports.example",
                "--name",
                "Benchmark",
                "--secretariat",
                "--password-stdin",
                stdin="benchmark-password\n",
            )
            server = serve(env, port, scratch_path / "server.log")
            base = f"http://127.0.0.1:{port}/api/v1"
            wait_for(base + "/health")

            session = requests.Session()
            login = session.post(
                base + "/auth/login",
                json={"email": "bench@ports.example", "password": "benchmark-password"},
            )
            login.raise_for_status()
            csrf = session.get(base + "/auth/csrf").json()["csrf_token"]
            session.headers["X-CSRF-Token"] = csrf
            token = session.post(base + "/me/tokens", json={"name": "bench"}).json()["token"]
            workspace = session.post(base + "/workspaces", json={"name": "Benchmark"}).json()
            auth = {"Authorization": f"Bearer {token}"}

            # Warm the store connection (bucket creation) with a tiny upload.
            requests.post(
                f"{base}/workspaces/{workspace['id']}/documents",
                data=b"warm-up",
                headers={**auth, "Content-Type": "text/plain", "X-Filename": "warm.txt"},
                timeout=60,
            ).raise_for_status()

            client = Minio(
                weed.endpoint,
                access_key=weed.access_key,
                secret_key=weed.secret_key,
                secure=False,
                region="us-east-1",
            )
            client.make_bucket(BUCKET_DIRECT)

            def portal_upload() -> tuple[float, int, int]:
                sampler = RssSampler(server.pid)
                baseline = sampler.rss()
                sampler.start()
                started = time.perf_counter()
                with open(source, "rb") as body:
                    uploaded = requests.post(
                        f"{base}/workspaces/{workspace['id']}/documents",
                        data=body,
                        headers={
                            **auth,
                            "Content-Type": "application/octet-stream",
                            "X-Filename": "payload.bin",
                        },
                        timeout=600,
                    )
                seconds = time.perf_counter() - started
                peak = sampler.stop()
                uploaded.raise_for_status()
                document = uploaded.json()
                assert document["file"]["sha256"] == expected, "portal stored other bytes"
                documents.append(document["id"])
                return seconds, baseline, peak

            def portal_download(api: str | None = None) -> float:
                digest = hashlib.sha256()
                url = f"{api or base}/documents/{documents[-1]}/download"
                started = time.perf_counter()
                with requests.get(url, headers=auth, stream=True, timeout=600) as download:
                    download.raise_for_status()
                    for chunk in download.iter_content(MiB):
                        digest.update(chunk)
                seconds = time.perf_counter() - started
                assert digest.hexdigest() == expected, "portal served other bytes"
                return seconds

            def direct_upload(n: int) -> float:
                started = time.perf_counter()
                with open(source, "rb") as body:
                    client.put_object(BUCKET_DIRECT, f"payload-{n}.bin", body, size)
                return time.perf_counter() - started

            def direct_download(n: int) -> float:
                digest = hashlib.sha256()
                started = time.perf_counter()
                response = client.get_object(BUCKET_DIRECT, f"payload-{n}.bin")
                try:
                    for chunk in response.stream(MiB):
                        digest.update(chunk)
                finally:
                    response.close()
                    response.release_conn()
                seconds = time.perf_counter() - started
                assert digest.hexdigest() == expected, "direct download differs"
                return seconds

            documents: list[int] = []
            times: dict[str, list[float]] = {
                "portal upload": [],
                "direct upload": [],
                "portal download": [],
                "direct download": [],
            }
            growths: list[float] = []
            baselines: list[float] = []
            for n in range(options.rounds):
                # Interleaved, alternating who goes first, so drift hits both alike.
                order = ["portal", "direct"] if n % 2 == 0 else ["direct", "portal"]
                for who in order:
                    if who == "portal":
                        seconds, baseline, peak = portal_upload()
                        times["portal upload"].append(seconds)
                        growths.append((peak - baseline) / MiB)
                        baselines.append(baseline / MiB)
                    else:
                        times["direct upload"].append(direct_upload(n))
                for who in order:
                    if who == "portal":
                        times["portal download"].append(portal_download())
                    else:
                        times["direct download"].append(direct_download(n))

            # The same downloads with PORTAL_S3_PRESIGNED_DOWNLOADS: a 302 to the store.
            presigning_port = free_port()
            presigning = serve(
                env | {"PORTAL_S3_PRESIGNED_DOWNLOADS": "true"},
                presigning_port,
                scratch_path / "server.log",
            )
            try:
                presigned_base = f"http://127.0.0.1:{presigning_port}/api/v1"
                wait_for(presigned_base + "/health")
                times["portal download, presigned 302"] = [
                    portal_download(presigned_base) for _ in range(options.rounds)
                ]
            finally:
                stop(presigning)
        except Exception:
            log = scratch_path / "server.log"
            if log.exists():
                print("server log (tail):\n" + log.read_text(errors="replace")[-3000:])
            raise
        finally:
            if server is not None:
                stop(server)
            weed.stop()

    mb = size / 1e6
    median = {name: statistics.median(values) for name, values in times.items()}

    def rate(name: str) -> str:
        runs = ", ".join(f"{mb / t:.0f}" for t in times[name])
        return f"{name:31} {mb / median[name]:8.1f} MB/s  (median of {len(times[name])}: {runs})"

    print(
        f"file: {options.size_mib} MiB ({size} bytes); S3: SeaweedFS weed on loopback; "
        f"portal: `portal serve` (gunicorn gthread); {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for name in times:
        print(rate(name))
    up_ratio = median["direct upload"] / median["portal upload"]
    down_ratio = median["direct download"] / median["portal download"]
    presigned_ratio = median["direct download"] / median["portal download, presigned 302"]
    print(f"ratio portal/direct: upload {up_ratio:.2f}, download {down_ratio:.2f} (target >= 0.80)")
    print(f"ratio portal/direct, download with presigned redirect: {presigned_ratio:.2f}")
    print(
        f"server RSS growth during upload: max {max(growths):.1f} MiB over {len(growths)} uploads "
        f"(baseline {min(baselines):.1f} MiB; target <= 64 MiB)"
    )


if __name__ == "__main__":
    main()

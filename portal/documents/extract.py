"""Text extraction for the search index, bounded in time, memory and size.

Parsers of PDF and office files are where denial of service hides (pypdf
keeps fixing infinite loops and memory blow-ups), so the work runs in a child
process (`extract_worker.py`) that caps its own address space (RLIMIT_AS) and
CPU time, under a wall-clock timeout here, with page and character limits and
zip-bomb checks. A file that cannot be read is stored and served normally:
the reason goes to the version's `extraction_error`, never to the client as
an error.

Extraction runs within the upload request. At most PORTAL_EXTRACT_WORKERS
children run at once per process (each may take MEMORY_MB); an upload waits
PORTAL_EXTRACT_WAIT_SECONDS at most for its turn, then answers 503 with
Retry-After and keeps nothing.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..admission import set_aside
from ..api import ApiError, setting
from .storage import BlobMissing, BlobStore, LocalStore, StoreUnavailable

log = logging.getLogger(__name__)

WORKER = Path(__file__).with_name("extract_worker.py")
MAX_INPUT_BYTES = 50 * 1024 * 1024
MAX_CHARS = 1_000_000
MAX_PAGES = 500
TIMEOUT_SECONDS = 30
# The child's address space (RLIMIT_AS) and CPU time.
MEMORY_MB = 768
CPU_SECONDS = 20

KINDS = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.oasis.opendocument.text": "odf",
    "application/vnd.oasis.opendocument.spreadsheet": "odf",
    "application/vnd.oasis.opendocument.presentation": "odf",
    "text/html": "html",
    "text/markdown": "text",
    "text/csv": "text",
    "text/plain": "text",
}


@dataclass(frozen=True)
class Extracted:
    text: str
    error: str | None


NOTHING = Extracted("", None)


def extractable(content_type: str) -> bool:
    return content_type in KINDS


# One semaphore per limit, shared by the threads of this process.
_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


@contextmanager
def _slot() -> Iterator[None]:
    """Hold one of the process's extraction slots; 503 if none frees in time."""
    limit = max(1, int(setting("EXTRACT_WORKERS")))
    with _slots_lock:
        slots = _slots.setdefault(limit, threading.BoundedSemaphore(limit))
    if not slots.acquire(timeout=float(setting("EXTRACT_WAIT_SECONDS"))):
        raise ApiError(
            503,
            "unavailable",
            "Too many files are being read for search right now; try again in a moment.",
            # A running extraction ends within its timeout.
            headers={"Retry-After": str(TIMEOUT_SECONDS)},
        )
    try:
        yield
    finally:
        slots.release()


def extract(store: BlobStore, key: str, content_type: str, size: int) -> Extracted:
    """The text of a stored blob, or the reason there is none."""
    kind = KINDS.get(content_type)
    if kind is None or size == 0:
        return NOTHING
    if size > MAX_INPUT_BYTES:
        return Extracted("", f"too large for text extraction (over {MAX_INPUT_BYTES >> 20} MB)")
    with set_aside(), _slot():
        return _extract_stored(store, key, kind)


def _extract_stored(store: BlobStore, key: str, kind: str) -> Extracted:
    if isinstance(store, LocalStore):
        path = store.path_of(key)
        if path is not None:
            return run_worker(kind, path)
    try:
        with tempfile.NamedTemporaryFile(prefix="portal-extract-", suffix=".bin") as copy:
            with store.open(key) as reader:
                for chunk in reader:
                    copy.write(chunk)
            copy.flush()
            return run_worker(kind, Path(copy.name))
    except (BlobMissing, StoreUnavailable) as error:
        log.warning("could not read blob %s for extraction: %s", key, error)
        return Extracted("", "the stored file could not be read for text extraction")


def run_worker(kind: str, path: Path) -> Extracted:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PORTAL_EXTRACT_MEMORY_MB": str(MEMORY_MB),
        "PORTAL_EXTRACT_CPU_SECONDS": str(CPU_SECONDS),
    }
    try:
        completed = subprocess.run(  # noqa: S603 - our interpreter and our script
            [sys.executable, str(WORKER), kind, str(path), str(MAX_CHARS), str(MAX_PAGES)],
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            env=environment,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Extracted("", f"text extraction took longer than {TIMEOUT_SECONDS} s")
    if completed.returncode != 0:
        log.info("extraction worker exited %s: %s", completed.returncode, completed.stderr[-500:])
        return Extracted("", "text extraction failed (memory or time limit)")
    try:
        result = json.loads(completed.stdout)
    except ValueError:
        return Extracted("", "text extraction failed (no result)")
    error = result.get("error")
    return Extracted(
        str(result.get("text") or "").replace("\x00", ""), error[:300] if error else None
    )

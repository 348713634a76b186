"""The workload model of the load run, shared by the conductor (its report) and the
driver (its people). Nothing here imports locust or gevent: the conductor stays
unpatched."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "load-rehearsal-password-1"  # noqa: S105 - the seeded members' password
VISITORS_PER_MEMBER = 0.1
# The health limits of the ceiling run (issue #13).
LIMIT_SERVER_ERRORS = 0.00025
LIMIT_MEAN_MS = 100
LIMIT_P99_MS = 2000
# What a member does between two thoughts (weights), see people.Member.
MIX = {
    "my work": 12,
    "group page": 14,
    "memo page": 10,
    "board": 7,
    "task list": 5,
    "memo list": 4,
    "document list": 4,
    "meeting page": 5,
    "search": 8,
    "notifications": 3,
    "document download": 5,
    "memo edit": 5,
    "task edit": 6,
    "document upload": 1,
}
SEARCH_WORDS = [
    "port",
    "single window",
    "EDIFACT",
    "shore power",
    "customs",
    "berth",
    "rail",
    "cold chain",
    "emissions",
    "dredging",
    "report",
    "meeting",
]


def live_window_ms() -> tuple[int, int]:
    """live.js's coalescing window, its shortest and how much longer a page may draw
    (SPREAD_MS): the model follows the code."""
    source = (ROOT / "portal" / "static" / "js" / "live.js").read_text()
    shortest = re.search(r"const WINDOW_MS = (\d+);", source)
    spread = re.search(r"const SPREAD_MS = (\d+);", source)
    return int(shortest.group(1)), int(spread.group(1)) if spread else 0  # type: ignore[union-attr]


def live_catch_up_retry_ms() -> list[int]:
    """live.js's pauses before it tries a failed catch-up again (CATCH_UP_RETRY_MS)."""
    source = (ROOT / "portal" / "static" / "js" / "live.js").read_text()
    pauses = re.search(r"const CATCH_UP_RETRY_MS = \[([^\]]*)\];", source)
    return [int(pause) for pause in re.findall(r"\d+", pauses.group(1))]  # type: ignore[union-attr]


def live_lists() -> list[str]:
    """live.js's list event kinds (`live:tasks-5` ...), from its KINDS."""
    source = (ROOT / "portal" / "static" / "js" / "live.js").read_text()
    kinds = re.search(r"const KINDS = \[([^\]]*)\];", source)
    return [f"{kind}s" for kind in re.findall(r'"(\w+)"', kinds.group(1))]  # type: ignore[union-attr]


def member_address(number: int) -> str:
    """Each member's own loopback address: nginx's per-address limits apply as to people."""
    return f"127.10.{number // 250}.{number % 250 + 1}"


def visitor_address(number: int) -> str:
    return f"127.20.{number // 250}.{number % 250 + 1}"


def percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def load_average() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())

"""The load run's driver: brings the people of people.py to the rehearsal topology and
measures them. It runs in its own process, gevent-patched before anything else is
imported (load.py's `start_driver`); it reports its phases on stdout (`PHASE name
time`, `STEP {...}`) and everything it recorded in a JSON file.

1. steady: `steady_members` members (and their visitors) arrive at `spawn_rate` per
   second; once all have signed in and a think time has passed, `duration` seconds
   are measured.
2. ceiling: `step_members` more at a time, each step measured for `step_seconds` once
   its newcomers have signed in and settled (a think time: arriving is not working),
   until a health limit is crossed, `ceiling_max` members are at work or the time
   budget ends.
3. quiet: no new actions; what is in flight is delivered, then everyone leaves.
"""

from __future__ import annotations

import json
import logging
import resource
import statistics
import time
from pathlib import Path
from typing import Any

from locust.env import Environment

from .model import (
    LIMIT_MEAN_MS,
    LIMIT_P99_MS,
    LIMIT_SERVER_ERRORS,
    VISITORS_PER_MEMBER,
    load_average,
    percentile,
)
from .people import Run, people

# How long the end of a run waits for what is in flight (quiet): past live.js's longest
# pause before a catch-up is tried again (60 s, stretched by up to half).
QUIET_MAX_SECONDS = 300
# A live connection that has not heard the portal for longer than this (its ping comes
# every 25 s) may have ended without its client knowing: it is in flight until it
# hears the next ping, or its client gives it up (45 s) and connects again.
SILENCE_SECONDS = 30


def say(*words: Any) -> None:
    print(*words, flush=True)


def population(members: int) -> int:
    return members + round(members * VISITORS_PER_MEMBER)


class Driver:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.run = Run(config)
        self.environment = Environment(user_classes=people(self.run))
        self.runner = self.environment.create_local_runner()

    def arrive(self, members: int) -> None:
        """Bring the crowd to `members`, and return once they are at work: signed in
        (or given up on after three times the expected time) and a think time later."""
        self.runner.start(population(members), spawn_rate=self.config["spawn_rate"])
        newcomers = members - self.run.counters["signed in"]
        deadline = time.time() + newcomers / self.config["spawn_rate"] * 3 + 60
        while self.run.counters["signed in"] < members and time.time() < deadline:
            time.sleep(1)
        say(f"signed in: {self.run.counters['signed in']} of {members} members")
        time.sleep(self.config["think_max"])

    def steady(self) -> tuple[float, float]:
        self.arrive(self.config["steady_members"])
        measure_from = time.time()
        say("PHASE steady-measure", measure_from)
        time.sleep(self.config["duration"])
        measure_to = time.time()
        say("PHASE steady-end", measure_to)
        return measure_from, measure_to

    def ceiling(self) -> dict[str, Any]:
        config = self.config
        steps: list[dict[str, Any]] = []
        crossed = ""
        carried = count = config["steady_members"]
        budget_end = time.time() + config["ceiling_budget"]
        while count < config["ceiling_max"] and time.time() < budget_end:
            count += config["step_members"]
            self.arrive(count)
            since = time.time()
            time.sleep(config["step_seconds"])
            figures = self.window_figures(since, time.time()) | {
                "members": count,
                "load": load_average(),
                "connected": sum(1 for c in self.run.clients if c["connects"]),
            }
            steps.append(figures)
            say("STEP", json.dumps(figures))
            crossed = "; ".join(limits_crossed(figures))
            if crossed:
                break
            carried = count
        say("PHASE ceiling-end", time.time())
        return {"steps": steps, "crossed": crossed, "carried": carried}

    def window_figures(self, since: float, until: float) -> dict[str, Any]:
        chosen = [r for r in self.run.records if since <= r[0] < until and r[1] != "sign in"]
        times = sorted(r[2] for r in chosen)
        return {
            "requests": len(chosen),
            "server_errors": sum(1 for r in chosen if r[3] == 0 or r[3] >= 500),
            "mean_ms": statistics.fmean(times) if times else 0.0,
            "p99_ms": percentile(times, 0.99),
        }

    def quiet(self) -> int:
        """No new actions; what is in flight is delivered, then everyone leaves. In flight
        means: deliveries still arriving (none for 5 s ends it), a live connection being
        made again or silent for longer than the portal's ping interval, or a catch-up
        under way or waiting for its next try (an overloaded step leaves some waiting up
        to a minute and a half, as live.js would). Returns how many were still in flight
        when it gave up waiting."""
        self.run.quiet = True
        quiet_until = time.time() + QUIET_MAX_SECONDS
        heard = -1
        while time.time() < quiet_until:
            if len(self.run.deliveries) == heard and not self.in_flight():
                break
            heard = len(self.run.deliveries)
            time.sleep(5)
        in_flight = self.in_flight()
        self.runner.stop()
        self.environment.runner.quit()
        return in_flight

    def in_flight(self) -> int:
        now = time.monotonic()
        down = sum(1 for c in self.run.clients if not c["connected"])
        silent = sum(
            1 for c in self.run.clients if c["connected"] and now - c["heard"] > SILENCE_SECONDS
        )
        return down + silent + self.run.catching_up


def limits_crossed(figures: dict[str, Any]) -> list[str]:
    requests = figures["requests"]
    if not requests:
        return ["no request was answered"]
    reasons = []
    if figures["server_errors"] / requests >= LIMIT_SERVER_ERRORS:
        reasons.append(
            f"server errors {figures['server_errors']}/{requests} ≥ {LIMIT_SERVER_ERRORS:.3%}"
        )
    if figures["mean_ms"] >= LIMIT_MEAN_MS:
        reasons.append(f"mean request {figures['mean_ms']:.0f} ms ≥ {LIMIT_MEAN_MS} ms")
    if figures["p99_ms"] >= LIMIT_P99_MS:
        reasons.append(f"p99 {figures['p99_ms']:.0f} ms ≥ {LIMIT_P99_MS} ms")
    return reasons


def drive(config: dict[str, Any]) -> None:
    # A dropped connection is counted (reconnections in the report), not logged.
    logging.getLogger("engineio.client").setLevel(logging.CRITICAL)
    logging.getLogger("socketio.client").setLevel(logging.CRITICAL)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    driver = Driver(config)
    started = time.time()
    say("PHASE steady-start", started)
    measure_from, measure_to = driver.steady()
    ceiling = (
        driver.ceiling()
        if config["ceiling_budget"] > 0
        else {"steps": [], "crossed": "", "carried": 0}
    )
    in_flight = driver.quiet()
    run = driver.run
    newest_seen = max(
        (max(c["socket"] + c["caught_up"], default=0) for c in run.clients), default=0
    )
    result = {
        "started": started,
        "measure_from": measure_from,
        "measure_to": measure_to,
        "records": run.records,
        "deliveries": run.deliveries,
        "clients": run.clients,
        "newest_seen": newest_seen,
        "in_flight_at_end": in_flight,
        "ceiling_ran": config["ceiling_budget"] > 0,
        "window_ms": config["window_ms"],
        **ceiling,
    }
    Path(config["output"]).write_text(json.dumps(result))
    say("PHASE done", time.time())

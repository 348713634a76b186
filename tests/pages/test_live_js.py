"""live.js without a browser: the module run by Node.js over a stand-in document and
socket, to see when it raises the events the page's blocks refresh on."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from portal.workspaces import kinds

LIVE_JS = Path(__file__).resolve().parents[2] / "portal" / "static" / "js" / "live.js"
NODE = shutil.which("node")

# Globals live.js reads and a socket whose handlers the script calls, over a page
# rendered at event `rendered` whose blocks listen to `triggers` (their hx-trigger); then
# a `connect` (catch-up: the feed answers `feed[workspace id]` after `after`), the
# `activities`, `gap` ms apart, and the socket events `then`. Prints the names
# raised on <body> with their ms after the first activity, the URLs fetched, and what
# the aria-live region says.
HARNESS = """
const [module, random, scenarioPath] = process.argv.slice(2);
const fs = await import("node:fs");
const scenario = JSON.parse(fs.readFileSync(scenarioPath, "utf8"));
const raised = [];
const fetched = [];
const handlers = {};
const wait = globalThis.setTimeout;
const sleep = (ms) => new Promise((done) => wait(done, ms));
// With `quickPauses`, a wait of a second or more (a catch-up's pause before it is tried
// again) is noted and made 1 ms.
const pauses = [];
if (scenario.quickPauses) {
  globalThis.setTimeout = (callback, ms) => {
    if (ms >= 1000) pauses.push(Math.round(ms));
    return wait(callback, ms >= 1000 ? 1 : ms);
  };
}
Math.random = () => Number(random);
globalThis.__io = () => ({ on: (name, handler) => { (handlers[name] ??= []).push(handler); },
                           connect() {}, disconnect() {} });
const emit = (name, payload) => { for (const handler of handlers[name] ?? []) handler(payload); };
const meta = { dataset: { user: "1" }, content: String(scenario.rendered) };
const announcer = { textContent: "", dataset: { group: "{name} changed the group",
  created: "{name} created {title}", deleted: "{name} deleted {title}",
  commented: "{name} commented {title}", changed: "{name} changed {title}" } };
const blocks = scenario.triggers.map((trigger) => ({ getAttribute: () => trigger }));
// The two attribute selectors live.js asks about: [hx-trigger*="..."], [hx-trigger$="..."].
const matches = (selector) => [...selector.matchAll(/\\[hx-trigger([*$])="([^"]*)"\\]/g)].some(
  ([, operator, text]) => scenario.triggers.some(
    (trigger) => (operator === "*" ? trigger.includes(text) : trigger.endsWith(text))));
let start = 0;
globalThis.document = {
  querySelector: (selector) =>
    selector.startsWith("meta") ? meta : matches(selector) ? blocks[0] : null,
  querySelectorAll: (selector) => (selector.includes("hx-trigger") ? blocks : []),
  getElementById: (id) => (id === "live-announcer" ? announcer : null),
  addEventListener() {},
  documentElement: { dataset: {} },
  activeElement: null,
  body: { addEventListener() {},
          dispatchEvent: (event) => raised.push([event.type, performance.now() - start]) },
};
globalThis.window = { addEventListener() {}, htmx: {} };
globalThis.CustomEvent = class {
  constructor(type, init) { this.type = type; this.detail = init?.detail; }
};
const failures = { ...scenario.failures };
globalThis.fetch = async (url) => {
  fetched.push(url);
  const id = url.match(/workspaces\\/(\\d+)\\/activity/)?.[1];
  const after = Number(new URL(url, "http://portal").searchParams.get("after"));
  if (failures[id]?.length) {
    const failure = failures[id].shift();
    if (failure === "network") throw new TypeError("Failed to fetch");
    return { ok: false, status: failure };
  }
  if (!(id in scenario.feed)) return { ok: false, status: 404 };
  // An item with `committed_at_fetch: n` is in the feed from the n-th request on.
  const items = scenario.feed[id].filter(
    (item) => item.event_id > after && (item.committed_at_fetch ?? 0) <= fetched.length);
  return { ok: true, json: async () => ({ items, has_more: false }) };
};
await import(module);
start = performance.now();
emit("connect");
for (const activity of scenario.activities) {
  emit("activity", activity);
  await sleep(scenario.gap);
}
for (const name of scenario.then) {
  emit(name);
  await sleep(50);
}
await sleep(1500);
console.log(JSON.stringify({ raised, fetched, pauses, announced: announcer.textContent }));
"""


def run(
    tmp_path: Path,
    activities: list[dict[str, Any]],
    *,
    triggers: list[str] = (),  # type: ignore[assignment]
    feed: dict[int, list[dict[str, Any]]] | None = None,
    failures: dict[int, list[int | str]] | None = None,
    random: float = 0,
    gap: int = 0,
    quick_pauses: bool = False,
    rendered: int = 0,
    then: list[str] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    source = LIVE_JS.read_text()
    source = source.replace(
        'import { io } from "../vendor/socket.io/socket.io.esm.min.js";',
        "const io = globalThis.__io;",
    )
    module = tmp_path / "live.mjs"
    module.write_text(source)
    harness = tmp_path / "harness.mjs"
    harness.write_text(HARNESS)
    scenario = tmp_path / "scenario.json"
    scenario.write_text(
        json.dumps(
            {
                "activities": activities,
                "triggers": list(triggers),
                "feed": feed or {},
                "failures": failures or {},
                "gap": gap,
                "quickPauses": quick_pauses,
                "rendered": rendered,
                "then": list(then),
            }
        )
    )
    result = subprocess.run(
        [NODE, str(harness), str(module), str(random), str(scenario)],  # type: ignore[list-item]
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)


def activity(event_id: int, verb: str, kind: str | None = None, **fields: Any) -> dict[str, Any]:
    """An `activity` message of Ana's (user 2) in group 5, about item 100 + event_id."""
    item = {"id": 100 + event_id, "kind": kind, "title": "Una cosa"} if kind else None
    message = {"event_id": event_id, "verb": verb, "workspace_id": 5, "audience": [5]}
    return message | {"item": item, "actor": {"id": 2, "name": "Ana"}} | fields


def names(result: dict[str, Any]) -> set[str]:
    return {name for name, _at in result["raised"]} - {"live:activity"}


pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")


@pytest.mark.parametrize(("random", "earliest", "latest"), [(0, 240, 700), (0.999, 990, 1400)])
def test_a_burst_raises_each_block_event_once_after_the_pages_own_window(
    tmp_path, random, earliest, latest
):
    burst = [activity(n, "item.updated", "memo", workspace_id=7, audience=[7]) for n in range(1, 6)]
    events = run(tmp_path, burst, random=random, gap=40)["raised"]
    group = [at for name, at in events if name == "live:workspace-7"]
    memos = [at for name, at in events if name == "live:memos-7"]
    # Every activity is raised as it comes; the group's blocks hear of the burst once,
    # at the end of a window the page drew between 250 ms and 1 s (a group's pages
    # spread their refreshes over that second).
    assert [name for name, _at in events].count("live:activity") == 5
    assert len(group) == 1 and len(memos) == 1, events
    assert earliest <= group[0] <= latest, events


LISTS = {"live:tasks-5", "live:memos-5", "live:documents-5", "live:meetings-5"}


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # An item's change: its kind's lists, not the others.
        (
            activity(1, "item.updated", "memo"),
            {"live:workspace-5", "live:memos-5", "live:item-101"},
        ),
        (
            activity(1, "item.created", "task"),
            {"live:workspace-5", "live:tasks-5", "live:item-101"},
        ),
        (
            activity(1, "document.checked_out", "document"),
            {"live:workspace-5", "live:documents-5", "live:item-101"},
        ),
        (
            activity(1, "meeting.cancelled", "meeting"),
            {"live:workspace-5", "live:meetings-5", "live:item-101"},
        ),
        # Shared into group 6: group 6's list of that kind too.
        (
            activity(1, "item.updated", "memo", audience=[5, 6]),
            {"live:workspace-5", "live:memos-5", "live:workspace-6", "live:memos-6"}
            | {"live:item-101"},
        ),
        # The group itself changed: every list may show it (controls, names).
        (activity(1, "workspace.archived"), {"live:workspace-5"} | LISTS),
        (activity(1, "workspace.restored"), {"live:workspace-5"} | LISTS),
        (activity(1, "workspace.updated"), {"live:workspace-5"} | LISTS),
        # A purged item is gone: its message has no item to tell the kind.
        (activity(1, "item.purged"), {"live:workspace-5"} | LISTS),
        # A membership changes no item: the members' blocks (and the board) hear of it.
        (activity(1, "member.added"), {"live:workspace-5", "live:members-5"}),
        (activity(1, "member.role_changed"), {"live:workspace-5", "live:members-5"}),
    ],
)
def test_each_activity_raises_the_events_of_what_it_can_change(tmp_path, message, expected):
    assert names(run(tmp_path, [message])) == expected


def test_an_item_shared_into_a_group_raises_its_kind_for_the_group_whose_feed_told_it(tmp_path):
    """Catch-up reads group 6's feed, where a memo of group 5 shared with 6 shows."""
    shared = activity(1, "item.updated", "memo")
    del shared["audience"]  # the feed's shape
    result = run(tmp_path, [], triggers=["live:memos-6 from:body"], feed={6: [shared]})
    assert {"live:memos-6", "live:memos-5"} <= names(result)
    assert "live:tasks-6" not in names(result)


@pytest.mark.parametrize("failure", [503, "network"])
def test_a_catch_up_the_portal_could_not_answer_is_tried_again(tmp_path, failure):
    """Overloaded or cut off at reconnection: the page asks again and gets what it missed."""
    missed = activity(1, "item.updated", "memo")
    del missed["audience"]
    result = run(
        tmp_path, [], triggers=["live:memos-5 from:body"], feed={5: [missed]},
        failures={5: [failure]},
    )  # fmt: skip
    assert [url.split("?")[0] for url in result["fetched"]] == ["/api/v1/workspaces/5/activity"] * 2
    assert "live:memos-5" in names(result)


def test_a_catch_up_is_tried_again_until_the_portal_answers(tmp_path):
    """A long outage: after its last pause the page keeps asking, at that pace, rather
    than staying out of date without a word."""
    missed = activity(1, "item.updated", "memo")
    del missed["audience"]
    result = run(
        tmp_path, [], triggers=["live:memos-5 from:body"], feed={5: [missed]},
        failures={5: [503] * 7}, quick_pauses=True,
    )  # fmt: skip
    assert result["pauses"] == [1000, 3000, 10000, 30000, 60000, 60000, 60000]
    assert len(result["fetched"]) == 8
    assert "live:memos-5" in names(result)


def test_a_catch_up_starts_before_an_event_that_overtook_an_older_one(tmp_path):
    """Two processes publish what they committed each in its own time: event 11 comes
    first, and the connection ends before 10 does. The catch-up after reconnecting must
    start before 11, or 10 is never heard."""
    feed = [activity(n, "item.updated", "memo") | {"committed_at_fetch": 2} for n in (10, 11)]
    for item in feed:
        del item["audience"]
    result = run(
        tmp_path, [activity(11, "item.updated", "memo")], rendered=9,
        triggers=["live:memos-5 from:body", "live:item-110 from:body"], feed={5: feed},
        then=["disconnect", "connect"],
    )  # fmt: skip
    assert [url.split("after=")[1].split("&")[0] for url in result["fetched"]] == ["9", "9"]
    assert "live:item-110" in names(result)


def test_a_catch_up_refused_for_good_is_not_tried_again(tmp_path):
    """A 404 (no longer in the group) is an answer: asking again would change nothing."""
    result = run(tmp_path, [], triggers=["live:memos-5 from:body"], failures={5: [404]})
    assert len(result["fetched"]) == 1


@pytest.mark.parametrize("listing", ["live:memos-5", "live:tasks-5", "live:documents-5"])
def test_catch_up_covers_a_group_whose_only_block_is_a_list_of_one_kind(tmp_path, listing):
    result = run(tmp_path, [], triggers=[f"{listing} from:body", "live:item-12 from:body"])
    assert [url.split("?")[0] for url in result["fetched"]] == ["/api/v1/workspaces/5/activity"]


def test_a_board_page_announces_task_changes_by_others_only(tmp_path):
    board = ["live:tasks-5 from:body, live:members-5 from:body"]
    assert run(tmp_path, [activity(1, "item.updated", "task")], triggers=board)["announced"] == (
        "Ana changed Una cosa"
    )
    assert run(tmp_path, [activity(1, "item.updated", "memo")], triggers=board)["announced"] == ""
    mine = activity(1, "item.updated", "task", actor={"id": 1, "name": "Yo"})
    assert run(tmp_path, [mine], triggers=board)["announced"] == ""
    # A list of group 50 is not one of group 5.
    other = ["live:tasks-50 from:body"]
    assert run(tmp_path, [activity(1, "item.updated", "task")], triggers=other)["announced"] == ""


def test_the_kinds_live_js_knows_are_the_servers(app):
    known = re.search(r"const KINDS = (\[.*?\]);", LIVE_JS.read_text()).group(1)
    with app.app_context():
        assert sorted(json.loads(known)) == sorted(kind.name for kind in kinds.registered())

"""live.js without a browser: the module run by Node.js over a stand-in document and
socket, to see when it raises the events the page's blocks refresh on."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

LIVE_JS = Path(__file__).resolve().parents[2] / "portal" / "static" / "js" / "live.js"
NODE = shutil.which("node")

# Globals live.js reads, a socket whose handlers the script calls, then a burst of
# activity in one group: five events 40 ms apart. Prints [event name, ms after the first].
HARNESS = """
const [module, random] = process.argv.slice(2);
const raised = [];
const handlers = {};
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
Math.random = () => Number(random);
globalThis.__io = () => ({ on: (name, handler) => { handlers[name] = handler; },
                           connect() {}, disconnect() {} });
const meta = { dataset: { user: "1" }, content: "0" };
let start = 0;
globalThis.document = {
  querySelector: (selector) => (selector.startsWith("meta") ? meta : null),
  querySelectorAll: () => [],
  getElementById: () => null,
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
globalThis.fetch = async () => ({ ok: false });
await import(module);
start = performance.now();
for (let id = 1; id <= 5; id++) {
  handlers.activity({ event_id: id, verb: "item.updated", workspace_id: 7, audience: [7],
                      item: { id: 100 + id, title: "A memo" }, actor: { id: 2, name: "Ana" } });
  await sleep(40);
}
await sleep(1500);
console.log(JSON.stringify(raised));
"""


def raised(tmp_path: Path, random: float) -> list[tuple[str, float]]:
    source = LIVE_JS.read_text()
    source = source.replace(
        'import { io } from "../vendor/socket.io/socket.io.esm.min.js";',
        "const io = globalThis.__io;",
    )
    module = tmp_path / "live.mjs"
    module.write_text(source)
    harness = tmp_path / "harness.mjs"
    harness.write_text(HARNESS)
    result = subprocess.run(
        [NODE, str(harness), str(module), str(random)],  # type: ignore[list-item]
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return [tuple(pair) for pair in json.loads(result.stdout)]


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
@pytest.mark.parametrize(("random", "earliest", "latest"), [(0, 240, 700), (0.999, 990, 1400)])
def test_a_burst_raises_each_block_event_once_after_the_pages_own_window(
    tmp_path, random, earliest, latest
):
    events = raised(tmp_path, random)
    group = [at for name, at in events if name == "live:workspace-7"]
    # Every activity is raised as it comes; the group's blocks hear of the burst once,
    # at the end of a window the page drew between 250 ms and 1 s (a group's pages
    # spread their refreshes over that second).
    assert [name for name, _at in events].count("live:activity") == 5
    assert len(group) == 1, events
    assert earliest <= group[0] <= latest, events

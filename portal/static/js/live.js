// Live updates in the page. One Socket.IO connection (the session cookie) turns the
// server's events into DOM events on <body>, which the page's blocks listen to
// (pages.live_refresh: htmx fetches the block again):
//   activity     -> for each group whose pages show it (its own, its `audience`, the
//                   feed's group it was read from):
//                     live:workspace-<id>   every activity (blocks that show every kind)
//                     live:<kind>s-<id>     live:tasks-5, live:memos-5, live:documents-5,
//                                           live:meetings-5: its item's kind; all four
//                                           for an activity without an item but member.*
//                                           (see listsChanged)
//                     live:members-<id>     member.* verbs
//                   live:item-<item id>, live:activity (each one, not coalesced)
//   presence     -> live:presence-<workspace_id> (and the online marks of [data-presence])
//   notification -> live:notifications
// Bursts are coalesced: the events for one name within the page's window raise it once,
// with the newest payload. The window is drawn once per page between WINDOW_MS and
// WINDOW_MS + SPREAD_MS: every member of a group hears an event at the same moment, and
// their pages then ask for their blocks spread over that second, not all at once (the
// load run saw those synchronized refreshes queue up behind each other). After any
// (re)connection the activity feed is read `after` the settled event id (see SETTLE_MS)
// for each group the page shows, so nothing is missed, and the notification blocks refresh
// (notifications are not in the feed). A block that
// holds a focused field or a changed form is never swapped: its refresh waits until
// focus leaves and nothing is left unsaved. Changes by others to what a block of the
// page listens to are announced in the aria-live region of base.html.
import { io } from "../vendor/socket.io/socket.io.esm.min.js";

const WINDOW_MS = 250;
const SPREAD_MS = 750;
const windowMs = WINDOW_MS + Math.random() * SPREAD_MS;
const MAX_REMEMBERED = 2000;
const FEED_PAGES = 20;
// The item kinds (Item.kind; tests/pages/test_live_js.py holds this to the server's),
// and the names of their lists' events: live:<kind>s-<workspace id>.
const KINDS = ["document", "meeting", "memo", "task"];
const LISTS = KINDS.map((kind) => `${kind}s`);

const meta = document.querySelector('meta[name="portal-live"]');
const viewer = Number(meta.dataset.user);
// The newest event id when the page was rendered: where every group's catch-up starts.
const rendered = Number(meta.content) || 0;
const heardFrom = new Set(); // the groups events came for
const seen = new Set(); // event ids already raised (the feed and the socket overlap)
const held = new Set(); // blocks whose live refresh waits for the user

// --- raising DOM events ---------------------------------------------------------

const pending = new Map();
let flushTimer = null;

function raise(name, detail) {
  document.body.dispatchEvent(new CustomEvent(name, { detail }));
}

function raiseSoon(name, detail) {
  pending.set(name, detail);
  flushTimer ??= setTimeout(() => {
    flushTimer = null;
    const due = [...pending];
    pending.clear();
    for (const [dueName, dueDetail] of due) raise(dueName, dueDetail);
    announceNow();
  }, windowMs);
}

function remember(eventId) {
  seen.add(eventId);
  if (seen.size > MAX_REMEMBERED) seen.delete(seen.values().next().value);
}

// One activity, from the socket (its `audience`: every group whose pages show it) or
// from the feed of `viaWorkspace` (which, for an item shared with that group, is not
// the item's own group).
function receive(activity, viaWorkspace = null) {
  for (const id of [activity.workspace_id, viaWorkspace]) if (id) heardFrom.add(id);
  if (viaWorkspace) settle(viaWorkspace, activity.event_id);
  else for (const id of activity.audience ?? [activity.workspace_id]) hear(id, activity.event_id);
  if (seen.has(activity.event_id)) return;
  remember(activity.event_id);
  raise("live:activity", activity);
  const names = blockEvents(activity, viaWorkspace);
  for (const name of names) raiseSoon(name, activity);
  announce(activity, names);
}

// The lists an activity may change. An item's change changes its kind's lists only. A
// membership change (member.*) changes no item: the blocks that show members or depend
// on the viewer's role listen to live:members-<id>. Any other activity without an item
// may change every list: the group renamed, archived (no more editing controls) or
// restored (workspace.*), an item purged (it is gone: the message has no item to
// tell its kind). A verb added later falls here too: a wasted refresh, never a stale list.
function listsChanged(activity) {
  if (activity.item) return [`${activity.item.kind}s`];
  if (activity.verb.startsWith("member.")) return [];
  return LISTS;
}

// The names of the block events an activity raises (see the top of this file).
function blockEvents(activity, viaWorkspace) {
  const names = [];
  const lists = listsChanged(activity);
  for (const id of new Set([activity.workspace_id, viaWorkspace, ...(activity.audience ?? [])])) {
    if (!id) continue;
    names.push(`live:workspace-${id}`, ...lists.map((list) => `live:${list}-${id}`));
    if (activity.verb.startsWith("member.")) names.push(`live:members-${id}`);
  }
  if (activity.item) names.push(`live:item-${activity.item.id}`);
  return names;
}

// --- catching up through the activity feed ---------------------------------------

// The events named by a group id (not live:item-<item id>).
const GROUP_EVENT = new RegExp(`live:(?:workspace|members|presence|${LISTS.join("|")})-(\\d+)`, "g");

// The groups this page shows: its own, the [data-workspace] elements, the blocks that
// listen to a group's events, and the groups it heard from.
function pageWorkspaces() {
  const ids = new Set(heardFrom);
  if (meta.dataset.workspace) ids.add(Number(meta.dataset.workspace));
  for (const element of document.querySelectorAll("[data-workspace]")) {
    ids.add(Number(element.dataset.workspace));
  }
  for (const element of document.querySelectorAll("[hx-trigger*='live:']")) {
    for (const match of element.getAttribute("hx-trigger").matchAll(GROUP_EVENT)) {
      ids.add(Number(match[1]));
    }
  }
  ids.delete(0);
  return ids;
}

// A catch-up the portal could not answer (overloaded, a component down: 5xx, or no
// network) is tried again after these waits, then after the last one for as long as
// it takes (the page would otherwise stay silently out of date), each stretched by up
// to half at random so that pages reconnected together do not ask together again.
const CATCH_UP_RETRY_MS = [1000, 3000, 10000, 30000, 60000];

// Where a group's catch-up starts: the newest event id such that every older one of
// the group has come ("settled"), which the newest one heard is not:
// - the socket may bring events out of id order (each process publishes what it
//   committed in its own time), so an older one can come after a newer one, or not
//   at all if the connection ends between them;
// - a new connection may bring events before its "connect" (socket.io-client raises
//   them first), and one committed while no connection was open is not among them.
// So an event read from the feed settles its group at once (the feed holds every event
// committed up to its newest); one heard on the socket, once its connection has stayed
// open SETTLE_MS after it (an older one published later has come by then) and no
// catch-up of its group is under way (that one may yet bring older events). What a
// connection heard but did not settle before it ended, the next catch-up reads again.
const SETTLE_MS = 30000;
const settled = new Map(); // workspace id -> its settled event id
const heard = new Map(); // workspace id -> [[ms, event id], ...] heard, not settled yet
const catchingUp = new Map(); // workspace id -> its catch-ups under way, retries included

function settle(workspaceId, eventId) {
  if (eventId > (settled.get(workspaceId) ?? rendered)) settled.set(workspaceId, eventId);
}

function hear(workspaceId, eventId) {
  if (!heard.has(workspaceId)) heard.set(workspaceId, []);
  heard.get(workspaceId).push([Date.now(), eventId]);
  settleHeard();
}

function settleHeard() {
  const before = Date.now() - SETTLE_MS;
  for (const [workspaceId, entries] of heard) {
    if (catchingUp.get(workspaceId)) continue;
    while (entries.length && entries[0][0] <= before) settle(workspaceId, entries.shift()[1]);
  }
}

function connectionEnded() {
  settleHeard();
  heard.clear();
}

function catchUp(workspaceId) {
  catchingUp.set(workspaceId, (catchingUp.get(workspaceId) ?? 0) + 1);
  readFeed(workspaceId).catch(() => caughtUp(workspaceId));
}

function caughtUp(workspaceId) {
  catchingUp.set(workspaceId, catchingUp.get(workspaceId) - 1);
}

async function readFeed(workspaceId, attempt = 0) {
  let after = settled.get(workspaceId) ?? rendered;
  for (let page = 0; page < FEED_PAGES; page++) {
    let response;
    try {
      response = await fetch(`/api/v1/workspaces/${workspaceId}/activity?after=${after}&per_page=100`, {
        headers: { Accept: "application/json" },
      });
    } catch {
      response = null;
    }
    if (!response || response.status >= 500) {
      const pause = CATCH_UP_RETRY_MS[Math.min(attempt, CATCH_UP_RETRY_MS.length - 1)];
      const again = () => readFeed(workspaceId, attempt + 1).catch(() => caughtUp(workspaceId));
      setTimeout(again, pause * (1 + Math.random() / 2));
      return;
    }
    if (!response.ok) break; // no longer readable (removed from the group...)
    const answer = await response.json();
    for (const activity of answer.items) receive(activity, workspaceId);
    if (!answer.has_more || answer.next_after <= after) break;
    after = answer.next_after;
  }
  caughtUp(workspaceId);
}

function catchUpAll() {
  for (const id of pageWorkspaces()) catchUp(id);
}

// --- presence ------------------------------------------------------------------------

function showPresence(presence) {
  const online = new Set(presence.users.map((user) => user.id));
  for (const list of document.querySelectorAll(`[data-presence="${presence.workspace_id}"]`)) {
    for (const row of list.querySelectorAll("[data-user]")) {
      const isOnline = online.has(Number(row.dataset.user));
      row.classList.toggle("online", isOnline);
      const mark = row.querySelector(".presence");
      if (mark) mark.textContent = isOnline ? list.dataset.online : "";
    }
  }
}

// --- announcements --------------------------------------------------------------------

const announcer = document.getElementById("live-announcer");
const sentences = [];

function sentenceFor(activity) {
  const templates = announcer.dataset;
  const name = activity.actor ? activity.actor.name : "";
  if (!activity.item) return templates.group.replace("{name}", name);
  const template =
    {
      "item.created": templates.created,
      "item.deleted": templates.deleted,
      "comment.created": templates.commented,
    }[activity.verb] ?? templates.changed;
  return template.replace("{name}", name).replace("{title}", activity.item.title);
}

// Changes by others to what this page shows: a block listens to one of `names`.
function announce(activity, names) {
  if (!announcer || !activity.actor || activity.actor.id === viewer) return;
  if (!names.some(isShown)) return;
  const sentence = sentenceFor(activity);
  if (!sentences.includes(sentence)) sentences.push(sentence);
}

function isShown(name) {
  return document.querySelector(`[hx-trigger*="${name} "], [hx-trigger$="${name}"]`) !== null;
}

function announceNow() {
  if (!sentences.length) return;
  // The newest few: a burst is one short message, not a list to sit through.
  announcer.textContent = sentences.splice(0).slice(-3).join(" ");
}

// --- never overwrite what the user is doing ----------------------------------------

const FIELDS = "input:not([type=hidden]):not([type=submit]):not([type=button]), textarea, select, [contenteditable]";

function changed(field) {
  if (field.matches("[contenteditable]")) return false;
  if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
  if (field.tagName === "SELECT") return [...field.options].some((option) => option.selected !== option.defaultSelected);
  if (field.type === "file") return field.files.length > 0;
  return field.value !== field.defaultValue;
}

// A block is busy while it holds the focused field or a field whose value the user
// changed and has not sent.
function busy(block) {
  const active = document.activeElement;
  if (active && active !== document.body && block.contains(active) && active.matches(FIELDS)) return true;
  return [...block.querySelectorAll(FIELDS)].some(changed);
}

function isLive(detail) {
  const trigger = detail.requestConfig?.triggeringEvent;
  return Boolean(trigger && trigger.type.startsWith("live:"));
}

function hold(block) {
  held.add(block);
  block.setAttribute("data-live-held", "");
}

document.body.addEventListener("htmx:beforeRequest", (event) => {
  const block = event.detail.target;
  if (isLive(event.detail) && block && busy(block)) {
    event.preventDefault();
    hold(block);
  }
});

// A block carried by another's live refresh (pages.live_refresh `carries`) comes in the
// same answer and is swapped out of band: never over what the user is doing either.
// Its carrier waits then, as a busy block does, and refreshes again once neither is busy.
function carried(block) {
  const selectors = (block.getAttribute("hx-select-oob") ?? "").split(",").filter(Boolean);
  return selectors.map((selector) => document.querySelector(selector.trim())).filter(Boolean);
}

function carrierOf(block) {
  return [...document.querySelectorAll("[hx-select-oob]")].find((element) => carried(element).includes(block));
}

document.body.addEventListener("htmx:oobBeforeSwap", (event) => {
  const block = event.detail.target;
  if (!block || !busy(block)) return;
  event.detail.shouldSwap = false;
  const carrier = carrierOf(block);
  if (carrier) hold(carrier);
});

let restoreFocus = null;

document.body.addEventListener("htmx:beforeSwap", (event) => {
  const block = event.detail.target;
  if (!isLive(event.detail) || !block) return;
  if (busy(block)) {
    event.detail.shouldSwap = false;
    hold(block);
    return;
  }
  held.delete(block);
  const active = document.activeElement;
  if (event.detail.shouldSwap && active && block.contains(active)) {
    restoreFocus = { blockId: block.id, active, href: active.getAttribute("href"), name: active.getAttribute("name") };
    setTimeout(keepFocus);
  }
});

// After a swap took the focused element away: the element of the same id (htmx does
// that one), else the same link or control, else the refreshed block itself.
function keepFocus() {
  const remembered = restoreFocus;
  restoreFocus = null;
  if (!remembered || remembered.active.isConnected) return;
  if (document.activeElement && document.activeElement !== document.body) return;
  const block = remembered.blockId && document.getElementById(remembered.blockId);
  if (!block) return;
  let target = null;
  if (remembered.active.id) target = document.getElementById(remembered.active.id);
  if (!target && remembered.href) target = [...block.querySelectorAll("a[href]")].find((a) => a.getAttribute("href") === remembered.href);
  if (!target && remembered.name) target = [...block.querySelectorAll("[name]")].find((c) => c.getAttribute("name") === remembered.name);
  if (!target) {
    block.tabIndex = -1;
    target = block;
  }
  target.focus({ preventScroll: true });
}

// Held blocks refresh once the user is done with them.
function retryHeld() {
  for (const remembered of [...held]) {
    // A carrier swapped since it was held is the element of the same id now.
    const block = remembered.isConnected ? remembered : remembered.id && document.getElementById(remembered.id);
    if (!block) {
      held.delete(remembered);
    } else if (!busy(block) && !carried(block).some(busy)) {
      held.delete(remembered);
      block.removeAttribute("data-live-held");
      window.htmx.ajax("GET", block.getAttribute("hx-get"), {
        source: block,
        target: block,
        swap: "outerHTML",
        event: new CustomEvent("live:retry"),
      });
    }
  }
}

const retrySoon = () => setTimeout(retryHeld);
for (const name of ["focusout", "reset", "htmx:afterSwap"]) document.addEventListener(name, retrySoon);

// --- the connection -----------------------------------------------------------------

// WebSocket first: one long-lived connection whose end the server sees at once (so
// presence is right); long-polling only where a WebSocket cannot be opened.
const socket = io({ transports: ["websocket", "polling"], tryAllTransports: true });

// The connection's state on <html data-live="...">, for styles (and tests) to follow.
const state = (value) => () => {
  document.documentElement.dataset.live = value;
};
socket.on("connect", state("connected"));
socket.on("disconnect", state("offline"));
socket.on("disconnect", connectionEnded);
socket.on("connect", catchUpAll);
let connectedBefore = false;
socket.on("connect", () => {
  if (connectedBefore) raiseSoon("live:notifications", null);
  connectedBefore = true;
});
// A connection the server refuses is not retried by the client: while the portal is
// unavailable (its database down) try again every few seconds; a refused credential
// (the session ended) is not retried.
const RETRY_REFUSED_MS = 5000;
socket.on("connect_error", (error) => {
  if (!socket.active && error.message === "unavailable") {
    setTimeout(() => socket.connect(), RETRY_REFUSED_MS);
  }
});
socket.on("activity", (activity) => receive(activity));
socket.on("presence", (presence) => {
  showPresence(presence);
  raise(`live:presence-${presence.workspace_id}`, presence);
});
socket.on("notification", (notification) => raiseSoon("live:notifications", notification));

// The browser knows first when the network goes and comes back: close at once (not
// after the ping timeout), and reconnect at once (not after the back-off), then catch up.
window.addEventListener("offline", () => socket.disconnect());
window.addEventListener("online", () => socket.connect());

// The meeting's agenda in a new order: drag a point by its handle, or focus the handle
// and press the up or down arrow key (Home, End: first, last). Focus stays on the moved
// point's handle, the move is announced in the page's aria-live region, and each order is
// saved through the API (PUT /api/v1/meetings/<id>/agenda/order with the CSRF header).
// Without this module the Move up / Move down forms do the same; with it they are hidden.

const KEYS = { ArrowUp: -1, ArrowDown: 1 };
let saving = Promise.resolve();
let focusedPoint = null; // the point whose handle had focus when htmx swapped the agenda

function lists(root) {
  return root.querySelectorAll("ol[data-reorder]");
}

function setUp(root) {
  for (const list of lists(root)) {
    if (list.children.length < 2) continue;
    list.classList.add("reorder-ready");
    for (const handle of list.querySelectorAll(".handle")) handle.hidden = false;
    const help = document.getElementById("reorder-help");
    help?.querySelector(".without-script")?.setAttribute("hidden", "");
    help?.querySelector(".with-script")?.removeAttribute("hidden");
  }
}

function announce(list, template, point) {
  const region = document.getElementById("agenda-status");
  if (!region || !template) return;
  const points = [...list.children];
  region.textContent = template
    .replace("{title}", point.dataset.title)
    .replace("{position}", String(points.indexOf(point) + 1))
    .replace("{total}", String(points.length));
}

function renumber(list) {
  [...list.children].forEach((point, index) => {
    const position = point.querySelector(".position");
    if (position) position.textContent = `${index + 1}.`;
  });
}

// Saves run one after the other, so the server ends with the last order shown.
function save(list, point) {
  const ids = [...list.children].map((li) => Number(li.dataset.id));
  renumber(list);
  saving = saving
    .then(() =>
      fetch(list.dataset.reorder, {
        method: "PUT",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRF-Token": list.dataset.csrf,
        },
        body: JSON.stringify({ ids }),
      }),
    )
    .then((response) => {
      if (!response.ok) throw new Error(String(response.status));
      announce(list, list.dataset.movedText, point);
    })
    .catch(() => {
      announce(list, list.dataset.failedText, point);
      // Show the order the server kept.
      if (window.htmx) window.htmx.ajax("GET", window.location.pathname, { target: "#meeting_agenda", swap: "outerHTML" });
    });
}

function move(list, point, to) {
  const points = [...list.children];
  const from = points.indexOf(point);
  const target = Math.max(0, Math.min(points.length - 1, to));
  if (target === from) return false;
  const reference = target > from ? points[target].nextSibling : points[target];
  list.insertBefore(point, reference);
  return true;
}

document.addEventListener("keydown", (event) => {
  const handle = event.target.closest?.(".reorder-ready .handle");
  if (!handle) return;
  const point = handle.closest("li[data-id]");
  const list = point.parentElement;
  const at = [...list.children].indexOf(point);
  let to;
  if (event.key in KEYS) to = at + KEYS[event.key];
  else if (event.key === "Home") to = 0;
  else if (event.key === "End") to = list.children.length - 1;
  else return;
  event.preventDefault();
  if (move(list, point, to)) {
    handle.focus(); // moving the node in the document drops focus in some browsers
    save(list, point);
  }
});

// Dragging with a mouse, a pen or a finger: the point follows the pointer among its
// siblings and is saved where it is let go. The document listens (not the handle: moving
// the point in the document would end a pointer capture).
document.addEventListener("pointerdown", (event) => {
  const handle = event.target.closest?.(".reorder-ready .handle");
  if (!handle || event.button !== 0) return;
  const point = handle.closest("li[data-id]");
  const list = point.parentElement;
  const before = [...list.children].map((li) => li.dataset.id).join();
  event.preventDefault();
  handle.focus();
  point.classList.add("dragging");

  const follow = (moveEvent) => {
    if (moveEvent.pointerId !== event.pointerId) return;
    const others = [...list.children].filter((li) => li !== point);
    const next = others.find((li) => {
      const box = li.getBoundingClientRect();
      return moveEvent.clientY < box.top + box.height / 2;
    });
    if (next && next !== point.nextElementSibling) list.insertBefore(point, next);
    else if (!next && list.lastElementChild !== point) list.appendChild(point);
  };
  const drop = (upEvent) => {
    if (upEvent.pointerId !== event.pointerId) return;
    document.removeEventListener("pointermove", follow);
    document.removeEventListener("pointerup", drop);
    document.removeEventListener("pointercancel", drop);
    point.classList.remove("dragging");
    handle.focus();
    if ([...list.children].map((li) => li.dataset.id).join() !== before) save(list, point);
  };
  document.addEventListener("pointermove", follow);
  document.addEventListener("pointerup", drop);
  document.addEventListener("pointercancel", drop);
});

// A live update re-renders the agenda (htmx): enhance it again, focus where it was.
document.addEventListener("htmx:beforeSwap", () => {
  const active = document.activeElement;
  focusedPoint = active?.classList.contains("handle") ? active.closest("li[data-id]")?.dataset.id : null;
});
document.addEventListener("htmx:afterSettle", () => {
  setUp(document);
  if (focusedPoint) {
    document.querySelector(`li[data-id="${focusedPoint}"] .handle`)?.focus();
    focusedPoint = null;
  }
});

setUp(document);

// The task board: a card moves to another column by drag and drop, or by keyboard
// (focus a card, Space picks it up, Left and Right arrows choose a column, Space or
// Enter drops it, Escape cancels). Without this module each card's small form moves
// it; this one posts that same form through htmx, which swaps in the board the server
// answers, and puts the focus back on the moved card. A live refresh of the board
// waits while a card is being moved.

const BOARD = "task_board";
let moving = null; // {card, list, next, title, keyboard}: the card picked up or dragged
let relocating = false; // the card is being put in another column by the keyboard
let refreshWaiting = false; // a live refresh came in while a card was moving
let focusAfterSwap = null; // the id of what had the focus in the board before a swap

const help = () => document.getElementById("board-help");
const columnOf = (card) => card.closest(".board-column");
const labelOf = (column) => column.dataset.label;

function say(message, values = {}) {
  const text = message.replace(/\{(\w+)\}/g, (_, name) => values[name] ?? "");
  const announcer = document.getElementById("board-announcer");
  // Emptied first, so that the same sentence twice is spoken twice.
  announcer.textContent = "";
  window.setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

function enhance(board) {
  if (!board || !board.hasAttribute("data-movable")) return;
  help().hidden = false;
  for (const card of board.querySelectorAll(".task-card")) {
    if (!card.querySelector("form.move")) continue;
    card.tabIndex = 0;
    card.draggable = true;
    card.setAttribute("aria-describedby", "board-help");
  }
}

function pickUp(card, keyboard) {
  moving = {
    card,
    list: card.parentElement,
    next: card.nextElementSibling,
    title: card.querySelector("a.title").textContent,
    keyboard,
  };
  card.classList.add("moving");
}

function finish() {
  if (moving) moving.card.classList.remove("moving");
  moving = null;
  for (const column of document.querySelectorAll(".board-column.drop-target")) {
    column.classList.remove("drop-target");
  }
  if (refreshWaiting) {
    refreshWaiting = false;
    const board = document.getElementById(BOARD);
    window.htmx.ajax("GET", board.getAttribute("hx-get"), { source: board, target: board, swap: "outerHTML" });
  }
}

function cancel() {
  const { card, list, next, title } = moving;
  relocating = true;
  list.insertBefore(card, next && next.parentElement === list ? next : null);
  relocating = false;
  card.focus();
  say(help().dataset.cancelled, { title, column: labelOf(columnOf(card)) });
  finish();
}

function drop(column) {
  const { card, list, next } = moving;
  if (column === list.closest(".board-column")) {
    cancel();
    return;
  }
  moving.sent = true;
  relocating = true;
  column.querySelector("ul.cards").prepend(card); // at once; the server's board follows
  relocating = false;
  const form = card.querySelector("form.move");
  form.elements.status.value = column.dataset.status;
  focusAfterSwap = card.id;
  window.htmx
    .ajax("POST", form.action, {
      source: form,
      target: `#${BOARD}`,
      swap: "outerHTML",
      values: Object.fromEntries(new FormData(form)),
    })
    .then(() => {
      if (!card.isConnected) return; // swapped for the server's board
      // Refused (htmx swaps no error page): the card goes back where it was.
      focusAfterSwap = null;
      list.insertBefore(card, next && next.parentElement === list ? next : null);
      card.focus();
      say(help().dataset.failed);
    })
    .finally(() => {
      card.classList.remove("moving");
      moving = null;
      refreshWaiting = false; // the board the server answered is the fresh one
    });
}

// --- keyboard ---------------------------------------------------------------------

function step(card, direction) {
  const columns = [...document.querySelectorAll(`#${BOARD} .board-column`)];
  const target = columns[columns.indexOf(columnOf(card)) + direction];
  if (!target) return;
  relocating = true;
  target.querySelector("ul.cards").prepend(card);
  relocating = false;
  card.focus();
  say(help().dataset.over, { column: labelOf(target) });
}

document.addEventListener("keydown", (event) => {
  const card = event.target;
  if (!(card instanceof HTMLElement) || !card.matches(`#${BOARD} .task-card[draggable="true"]`)) return;
  if (!moving) {
    if (event.key !== " ") return;
    event.preventDefault();
    pickUp(card, true);
    say(help().dataset.picked, { title: moving.title, column: labelOf(columnOf(card)) });
    return;
  }
  if (moving.card !== card) return;
  if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
    event.preventDefault();
    step(card, event.key === "ArrowLeft" ? -1 : 1);
  } else if (event.key === " " || event.key === "Enter") {
    event.preventDefault();
    drop(columnOf(card));
  } else if (event.key === "Escape") {
    event.preventDefault();
    cancel();
  }
});

// Leaving a picked-up card (Tab, a click elsewhere) puts it back.
document.addEventListener("focusout", (event) => {
  if (moving && moving.keyboard && !moving.sent && !relocating && event.target === moving.card) {
    window.setTimeout(() => {
      if (moving && document.activeElement !== moving.card) cancel();
    });
  }
});

// --- drag and drop ----------------------------------------------------------------

document.addEventListener("dragstart", (event) => {
  const card = event.target.closest?.(`#${BOARD} .task-card[draggable="true"]`);
  if (!card || moving) return;
  pickUp(card, false);
  event.dataTransfer.effectAllowed = "move";
  event.dataTransfer.setData("text/plain", card.id);
});

document.addEventListener("dragover", (event) => {
  const column = event.target.closest?.(`#${BOARD} .board-column`);
  if (!column || !moving || moving.keyboard) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = "move";
  for (const other of document.querySelectorAll(".board-column.drop-target")) {
    if (other !== column) other.classList.remove("drop-target");
  }
  column.classList.add("drop-target");
});

document.addEventListener("drop", (event) => {
  const column = event.target.closest?.(`#${BOARD} .board-column`);
  if (!column || !moving || moving.keyboard) return;
  event.preventDefault();
  column.classList.remove("drop-target");
  drop(column);
});

document.addEventListener("dragend", () => {
  if (moving && !moving.keyboard && !moving.sent) finish();
});

// --- htmx: the live refresh waits for a move; focus and messages after a swap ---------

document.addEventListener("htmx:beforeRequest", (event) => {
  if (moving && event.detail.elt.id === BOARD) {
    event.preventDefault();
    refreshWaiting = true;
  }
});

document.addEventListener("htmx:beforeSwap", (event) => {
  // A refresh already on its way when a card was picked up waits too (the move's own
  // answer, once the card is dropped, is swapped in).
  if (moving && !moving.sent && event.detail.target.id === BOARD) {
    event.detail.shouldSwap = false;
    refreshWaiting = true;
    return;
  }
  // Only a swap that happens: live.js (on <body>, so first) keeps a board whose field
  // has the focus, and htmx swaps no error; a focus noted then would be put back later.
  if (event.detail.target.id !== BOARD || !event.detail.shouldSwap || focusAfterSwap) return;
  const focused = document.activeElement;
  if (focused && event.detail.target.contains(focused)) {
    focusAfterSwap = focused.id || focused.closest(".task-card")?.id || null;
  }
});

document.addEventListener("htmx:afterSettle", () => {
  const board = document.getElementById(BOARD);
  if (!board) return;
  enhance(board);
  const message = board.querySelector("[data-announce]");
  if (message) say(message.textContent);
  if (focusAfterSwap) {
    document.getElementById(focusAfterSwap)?.focus();
    focusAfterSwap = null;
  }
});

enhance(document.getElementById(BOARD));

// The memo editor, beyond what its form does without JavaScript:
// - "Preview" becomes a toggle: the server renders the Markdown (the same view and
//   template block as the no-JavaScript preview, asked for as htmx would) and the
//   preview follows the typing while it is shown;
// - on the edit page, a newer version saved by someone else (the `live:item-<id>`
//   event that live.js raises on <body>) shows a notice; the text area is never touched.
const form = document.querySelector("form[data-memo-editor]");
const toggle = form?.querySelector("button[name=preview]");
const source = form?.querySelector("textarea[name=body]");
const PREVIEW = "memo_preview";
let pending = null;
let timer = 0;

function region() {
  return document.getElementById(PREVIEW);
}

async function showPreview() {
  const data = new FormData(form);
  data.set("preview", "1");
  pending?.abort();
  pending = new AbortController();
  try {
    const answer = await fetch(form.action, {
      method: "POST",
      body: data,
      headers: { "HX-Request": "true", "HX-Target": PREVIEW },
      credentials: "same-origin",
      signal: pending.signal,
    });
    if (!answer.ok) throw new Error(String(answer.status));
    const template = document.createElement("template");
    template.innerHTML = await answer.text();
    const fresh = template.content.getElementById(PREVIEW);
    if (!fresh) throw new Error("no preview in the answer");
    fresh.hidden = toggle.getAttribute("aria-pressed") !== "true";
    region().replaceWith(fresh);
  } catch (error) {
    if (error.name === "AbortError") return;
    const message = document.createElement("p");
    message.className = "field-error";
    message.textContent = toggle.dataset.previewError;
    const shown = region();
    shown.replaceChildren(shown.querySelector("h2"), message);
  }
}

if (form && toggle && source) {
  toggle.type = "button";
  toggle.setAttribute("aria-pressed", region().hidden ? "false" : "true");
  toggle.setAttribute("aria-controls", PREVIEW);
  toggle.addEventListener("click", () => {
    const shown = toggle.getAttribute("aria-pressed") !== "true";
    toggle.setAttribute("aria-pressed", String(shown));
    region().hidden = !shown;
    if (shown) showPreview();
  });
  source.addEventListener("input", () => {
    if (toggle.getAttribute("aria-pressed") !== "true") return;
    clearTimeout(timer);
    timer = setTimeout(showPreview, 600);
  });
}

const newer = document.getElementById("memo-newer");
const notice = document.getElementById("memo-newer-notice");
if (newer && notice) {
  document.body.addEventListener(newer.dataset.event, (event) => {
    if (event.detail?.verb !== "item.updated" || newer.childElementCount) return;
    newer.append(notice.content.cloneNode(true));
  });
}

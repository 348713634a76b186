// Uploads with a progress bar per file, for the forms of templates/documents/_upload.html.
//
// The drop zone is the file input's label: the picker (or the keyboard: Tab to the
// input, Enter) and a drop fill the same input. On submit each file goes to the JSON
// API on its own with XMLHttpRequest (fetch reports no upload progress), the CSRF
// token of the form in X-CSRF-Token as the API asks of the session cookie; each file
// gets a <progress> and a result line, and a polite live region says how it went.
// Without this module the form posts to the page, which does the same in one go.

const FIELDS = ["title", "description", "language", "tags"];

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, name) => String(values[name]));
}

function sizeOf(bytes) {
  const units = ["B", "kB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${new Intl.NumberFormat(document.documentElement.lang, { maximumFractionDigits: 1 }).format(value)} ${units[unit]}`;
}

function enhance(form) {
  const zone = form.querySelector("[data-upload-api]");
  const input = zone.querySelector("input[type=file]");
  const label = zone.querySelector(".drop-zone");
  const results = zone.querySelector(".upload-results");
  const announce = zone.querySelector(".upload-announce");
  const submit = form.querySelector("button[type=submit]");
  const texts = JSON.parse(zone.dataset.texts);
  const maxBytes = Number(zone.dataset.maxBytes);
  const kind = form.dataset.uploadForm; // "new" documents, or a "version" of one
  const token = form.elements.csrf_token.value;

  // A drop fills the input, as the picker does.
  for (const name of ["dragenter", "dragover"]) {
    label.addEventListener(name, (event) => {
      event.preventDefault();
      label.classList.add("dragging");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    label.addEventListener(name, () => label.classList.remove("dragging"));
  }
  label.addEventListener("drop", (event) => {
    event.preventDefault();
    const dropped = event.dataTransfer && event.dataTransfer.files;
    if (!dropped || !dropped.length) return;
    const chosen = new DataTransfer();
    for (const file of input.multiple ? dropped : [dropped[0]]) chosen.items.add(file);
    input.files = chosen.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });

  // The chosen files, each on its line, waiting to be sent.
  let rows = [];
  input.addEventListener("change", () => {
    results.replaceChildren();
    rows = [...input.files].map((file) => {
      const row = element("li", "waiting");
      const name = element("span", "name", file.name);
      const progress = element("progress");
      progress.max = 100;
      progress.value = 0;
      progress.setAttribute("aria-label", file.name);
      const status = element("span", "status", `${sizeOf(file.size)} · ${texts.waiting}`);
      row.append(name, progress, status);
      results.append(row);
      return { file, row, progress, status };
    });
    results.hidden = rows.length === 0;
  });

  function finish(line, ok, message, link) {
    line.row.className = ok ? "done" : "failed";
    line.status.replaceChildren(message);
    if (link) line.status.append(" · ", link);
    line.progress.value = ok ? 100 : 0;
  }

  function reasonOf(xhr) {
    const code = xhr.response && xhr.response.error && xhr.response.error.code;
    return texts[code] || texts.other;
  }

  function send(line, count) {
    return new Promise((resolve) => {
      if (line.file.size > maxBytes) {
        finish(line, false, `${texts.failed}: ${texts.too_large}`);
        resolve(false);
        return;
      }
      const body = new FormData();
      for (const name of FIELDS) {
        const field = form.elements[name];
        if (field && field.value && (name !== "title" || count === 1)) body.append(name, field.value);
      }
      body.append("file", line.file, line.file.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", zone.dataset.uploadApi);
      xhr.responseType = "json";
      xhr.setRequestHeader("X-CSRF-Token", token);
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) line.progress.value = Math.round((event.loaded / event.total) * 99);
      });
      xhr.addEventListener("load", () => {
        const ok = xhr.status === 201;
        if (ok && kind === "new") {
          const link = element("a", "", xhr.response.title);
          link.href = zone.dataset.itemUrl + xhr.response.id;
          finish(line, true, texts.done, link);
        } else {
          finish(line, ok, ok ? texts.done : `${texts.failed}: ${reasonOf(xhr)}`);
        }
        resolve(ok);
      });
      xhr.addEventListener("error", () => {
        finish(line, false, `${texts.failed}: ${texts.other}`);
        resolve(false);
      });
      line.row.className = "sending";
      line.status.textContent = texts.uploading;
      xhr.send(body);
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!rows.length) {
      announce.textContent = texts.choose;
      input.focus();
      return;
    }
    submit.disabled = true;
    let done = 0;
    for (const line of rows) {
      // One after the other: the server extracts each file's text as it arrives.
      if (await send(line, rows.length)) done += 1;
    }
    const failures = rows.filter((line) => line.row.className === "failed");
    announce.textContent = [fill(texts.summary, { done, total: rows.length })]
      .concat(failures.map((line) => `${line.file.name}: ${line.status.textContent}`))
      .join(" ");
    submit.disabled = false;
    if (kind === "version" && done) {
      window.location.reload(); // the page shows the new version, with its text
      return;
    }
    rows = [];
    input.value = "";
    const after = form.querySelector(".upload-after");
    if (after && done) after.hidden = false;
  });
}

for (const form of document.querySelectorAll("form[data-upload-form]")) enhance(form);

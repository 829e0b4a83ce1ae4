// The Info tab's JSON editors: vanilla-jsoneditor (vendored standalone ES module) mounted over the plain
// textarea (or <pre> for viewers) that the server rendered. The textarea stays the form field: every change in
// the editor is written back to it, so htmx (and a plain form post) submit the raw text the server parses.
// Without JavaScript, or if the editor fails to load, the textarea is the editor.

const page = document.querySelector(".info-tab");
let editorModule = null;

function loadEditorModule() {
  if (!editorModule) editorModule = import(page.dataset.editorModule);
  return editorModule;
}

function contentText(content) {
  if (content.text !== undefined) return content.text;
  return JSON.stringify(content.json, null, 2);
}

async function mount(el) {
  if (el.dataset.mounted) return;
  el.dataset.mounted = "1";
  const source = document.getElementById(el.dataset.jsonEditor);
  if (!source) return;
  const isField = source.tagName === "TEXTAREA";
  let createJSONEditor;
  try {
    ({ createJSONEditor } = await loadEditorModule());
  } catch (err) {
    console.warn("JSON editor unavailable; the plain text field stays in use.", err);
    return;
  }
  const editor = createJSONEditor({
    target: el,
    props: {
      content: { text: isField ? source.value : source.textContent },
      mode: "text",
      readOnly: el.hasAttribute("data-readonly"),
      askToFormat: false,
      onChange(content) {
        if (isField) source.value = contentText(content);
      },
    },
  });
  el.jsonEditor = editor;
  el.classList.add("ready");
  // Put the cursor where the server found the error (line and column, both 1-based).
  const error = el.closest("form")?.querySelector("[data-line]");
  if (error) {
    el.setAttribute("aria-describedby", error.closest(".info-errors").id);
    placeCursor(editor, source.value, Number(error.dataset.line), Number(error.dataset.column));
  }
}

function placeCursor(editor, text, line, column) {
  let offset = 0;
  for (let i = 1; i < line; i++) {
    const next = text.indexOf("\n", offset);
    if (next < 0) return;
    offset = next + 1;
  }
  offset = Math.min(offset + Math.max(column - 1, 0), text.length);
  try {
    editor.select({ type: "text", ranges: [{ anchor: offset, head: offset }], main: 0 });
    editor.focus();
  } catch (err) {
    console.warn("Could not move the cursor to the error.", err);
  }
}

function scan(root) {
  if (!page || !root.querySelectorAll) return;
  if (root.matches && root.matches("[data-json-editor]")) mount(root);
  root.querySelectorAll("[data-json-editor]").forEach(mount);
}

function syncFields(mounts) {
  mounts.forEach((el) => {
    const source = document.getElementById(el.dataset.jsonEditor);
    if (source && source.tagName === "TEXTAREA") source.value = contentText(el.jsonEditor.get());
  });
}

// The editor's text mode reports changes debounced (and flushes them when it loses focus, one timer tick
// later), so a quick click on Save could submit stale text. Hold the submit back, let the editor flush, copy
// its text into the field, then submit again (htmx or a plain post handles that second submit).
document.addEventListener("submit", (ev) => {
  const form = ev.target;
  const mounts = [...form.querySelectorAll("[data-json-editor]")].filter((el) => el.jsonEditor);
  if (!mounts.length) return;
  if (form.dataset.editorFlushed) {
    delete form.dataset.editorFlushed;
    syncFields(mounts);
    return;
  }
  ev.preventDefault();
  ev.stopImmediatePropagation();
  const submitter = ev.submitter;
  if (mounts.some((el) => el.contains(document.activeElement))) document.activeElement.blur();
  setTimeout(() => setTimeout(() => {
    syncFields(mounts);
    form.dataset.editorFlushed = "1";
    form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
  }, 0), 0);
}, true);

document.addEventListener("htmx:beforeCleanupElement", (ev) => {
  const el = ev.detail.elt;
  if (el.jsonEditor) {
    el.jsonEditor.destroy();
    el.jsonEditor = null;
  }
});

document.addEventListener("htmx:load", (ev) => scan(ev.detail.elt));
scan(document);

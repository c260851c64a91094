// Modal dialogs (<dialog> with showModal: focus stays inside, Escape cancels, focus returns to
// the button that opened it). Each dialog is removed from the page when it closes.

import { append, copyButton, el } from "./elements.js";

let dialogCount = 0;

/**
 * Opens a modal dialog built by `build(dialog, id, finish)`. With `guard(dialog)`, Escape (or any
 * close that is not `finish`) does not close it: `guard` is called instead, to ask first.
 */
export function openDialog(build, { guard } = {}) {
  const opener = document.activeElement;
  const id = `dialog-${++dialogCount}`;
  return new Promise((resolve) => {
    const dialog = el("dialog", { "aria-labelledby": `${id}-title`, "aria-describedby": `${id}-body` });
    let finished = false;
    const finish = (value) => {
      finished = true;
      dialog.close();
      resolve(value);
    };
    if (guard) {
      dialog.addEventListener("cancel", (event) => {
        event.preventDefault();
        guard(dialog);
      });
    }
    dialog.addEventListener("close", () => {
      // The browser may close a modal on a repeated Escape whatever the cancel handler says: open it again and ask.
      if (guard && !finished) {
        dialog.showModal();
        return guard(dialog);
      }
      dialog.remove();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(false);
    });
    build(dialog, id, finish);
    document.body.append(dialog);
    dialog.showModal();
  });
}

/**
 * Asks before an action; resolves true only when the operator confirms.
 * @example if (await confirmAction({ title: "Delete backup?", body: [...], confirmLabel: "Delete backup" })) …
 */
export function confirmAction({ title, body, confirmLabel, danger = true }) {
  return openDialog((dialog, id, finish) => {
    const cancel = el("button", { type: "button", onclick: () => finish(false) }, "Cancel");
    append(dialog, [
      el("h2", { id: `${id}-title` }, title),
      el("div", { id: `${id}-body` }, body),
      el("div", { class: "actions" }, cancel, el("button", { type: "button", class: danger ? "danger" : "primary", onclick: () => finish(true) }, confirmLabel)),
    ]);
    queueMicrotask(() => cancel.focus()); // the safe choice has the focus
  });
}

const APPLIANCE_WARNING = "This secret is shown only now. It is not stored anywhere readable and will not be shown again: copy it into the appliance or a password manager before closing.";
const APPLIANCE_LOSS = "Close without the secret? It cannot be shown again, and the appliance stays locked out until it is given this secret (or the secret is rotated again).";

/**
 * Shows a new credential once, with copy buttons and a warning; the values leave the page when it
 * closes. `warning` and `loss` (the question Escape asks) default to an appliance's secret.
 * @example await showSecretOnce({ title: "System created", fields: [["System key", key], ["System secret", secret]] })
 */
export function showSecretOnce({ title, fields, note, warning = APPLIANCE_WARNING, loss = APPLIANCE_LOSS }) {
  return openDialog((dialog, id, finish) => {
    dialog.classList.add("secret-dialog");
    const close = el("button", { type: "button", class: "primary secret-close", onclick: () => finish(true) }, "I have stored it — close");
    append(dialog, [
      el("h2", { id: `${id}-title` }, title),
      el("p", { id: `${id}-body`, class: "warning", role: "alert" }, warning),
      el("dl", { class: "secret-fields" }, fields.map(([label, value]) => [
        el("dt", {}, label),
        el("dd", {}, el("code", { class: "secret-value" }, value), copyButton("Copy", () => value, `Copy ${label.toLowerCase()}`)),
      ])),
      note ? el("p", {}, note) : null,
      el("div", { class: "actions" }, close),
    ]);
    queueMicrotask(() => dialog.querySelector(".copy")?.focus());
  }, { guard: (dialog) => askBeforeClosing(dialog, loss) });
}

/** Escape on a secret shown once: ask whether to close, since the secret cannot be shown again. */
function askBeforeClosing(dialog, loss) {
  if (dialog.querySelector(".close-question")) return dialog.querySelector(".close-question button")?.focus();
  const keep = el("button", { type: "button", class: "primary", onclick: () => {
    question.remove();
    dialog.querySelector(".copy")?.focus();
  } }, "Keep it open");
  const question = el("div", { class: "close-question warning", role: "alert" },
    el("p", {}, loss),
    el("div", { class: "actions" }, keep, el("button", { type: "button", class: "danger", onclick: () => dialog.querySelector(".secret-close")?.click() }, "Close anyway")));
  dialog.querySelector(".actions").before(question);
  keep.focus();
}

/**
 * Asks for a destructive action that the operator confirms by typing `expected` (a system key).
 * @example if (await confirmTyped({ title: "Purge NETH-1?", body, expected: "NETH-1", confirmLabel: "Purge" })) …
 */
export function confirmTyped({ title, body, expected, confirmLabel }) {
  return openDialog((dialog, id, finish) => {
    const input = el("input", { id: `${id}-typed`, type: "text", autocomplete: "off", spellcheck: "false", class: "typed" });
    const go = el("button", { type: "submit", class: "danger", disabled: true }, confirmLabel);
    input.addEventListener("input", () => (go.disabled = input.value.trim() !== expected));
    append(dialog, [
      el("h2", { id: `${id}-title` }, title),
      el("div", { id: `${id}-body` }, body),
      el("form", { method: "dialog", onsubmit: (event) => {
        event.preventDefault();
        if (input.value.trim() === expected) finish(true);
      } },
        el("label", { for: `${id}-typed` }, "Type ", el("code", {}, expected), " to confirm"),
        input,
        el("div", { class: "actions" }, el("button", { type: "button", onclick: () => finish(false) }, "Cancel"), go)),
    ]);
    queueMicrotask(() => input.focus());
  });
}

/**
 * Asks for one value (an organisation to move to): a text field with suggestions; resolves the value, or null.
 * @example const org = await askValue({ title: "Move NETH-1", label: "Organisation", suggestions: ["org_1"], confirmLabel: "Move" })
 */
export function askValue({ title, body, label, suggestions = [], pattern, hint, confirmLabel }) {
  return openDialog((dialog, id, finish) => {
    const input = el("input", { id: `${id}-value`, type: "text", autocomplete: "off", spellcheck: "false", required: true, pattern, list: suggestions.length ? `${id}-list` : undefined, "aria-describedby": hint ? `${id}-hint` : undefined });
    append(dialog, [
      el("h2", { id: `${id}-title` }, title),
      el("div", { id: `${id}-body` }, body),
      el("form", { method: "dialog", class: "ask", onsubmit: (event) => {
        event.preventDefault();
        if (input.checkValidity()) finish(input.value.trim());
      } },
        el("label", { for: `${id}-value` }, label),
        input,
        suggestions.length ? el("datalist", { id: `${id}-list` }, suggestions.map((value) => el("option", { value }))) : null,
        hint ? el("p", { id: `${id}-hint`, class: "hint" }, hint) : null,
        el("div", { class: "actions" }, el("button", { type: "button", onclick: () => finish(null) }, "Cancel"), el("button", { type: "submit", class: "primary" }, confirmLabel))),
    ]);
    queueMicrotask(() => input.focus());
  }).then((value) => (typeof value === "string" ? value : null));
}

/**
 * Edits a few text fields (a system's name and notes); resolves `{field: value}` (empty → null), or null when cancelled.
 * @example await editFields({ title: "Name and notes", fields: [{ name: "name", label: "Name", value: "", maxLength: 100 }], confirmLabel: "Save" })
 */
export function editFields({ title, fields, confirmLabel }) {
  return openDialog((dialog, id, finish) => {
    const inputs = fields.map((field) => [field, field.options
      ? el("select", { id: `${id}-${field.name}`, name: field.name }, field.options.map((option) => el("option", { value: option, selected: option === field.value }, option)))
      : field.multiline
      ? el("textarea", { id: `${id}-${field.name}`, name: field.name, rows: "4", maxlength: String(field.maxLength) }, field.value ?? "")
      : el("input", { id: `${id}-${field.name}`, name: field.name, type: "text", autocomplete: "off", maxlength: String(field.maxLength), value: field.value ?? "" })]);
    append(dialog, [
      el("h2", { id: `${id}-title` }, title),
      el("form", { method: "dialog", id: `${id}-body`, onsubmit: (event) => {
        event.preventDefault();
        finish(Object.fromEntries(inputs.map(([field, input]) => [field.name, input.value.trim() === "" ? null : input.value.trim()])));
      } },
        inputs.map(([field, input]) => [el("label", { for: input.id }, field.label), input]),
        el("div", { class: "actions" }, el("button", { type: "button", onclick: () => finish(null) }, "Cancel"), el("button", { type: "submit", class: "primary" }, confirmLabel))),
    ]);
    queueMicrotask(() => inputs[0]?.[1].focus());
  }).then((value) => (value && typeof value === "object" ? value : null));
}

// Modal dialogs (<dialog> with showModal: focus stays inside, Escape cancels, focus returns to
// the button that opened it). Each dialog is removed from the page when it closes.

import { append, copyButton, el } from "./elements.js";

let dialogCount = 0;

function openDialog(build) {
  const opener = document.activeElement;
  const id = `dialog-${++dialogCount}`;
  return new Promise((resolve) => {
    const dialog = el("dialog", { "aria-labelledby": `${id}-title`, "aria-describedby": `${id}-body` });
    const finish = (value) => {
      dialog.close();
      resolve(value);
    };
    dialog.addEventListener("close", () => {
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

/**
 * Shows a new credential once, with copy buttons and a warning; the values leave the page when it closes.
 * @example await showSecretOnce({ title: "System created", fields: [["System key", key], ["System secret", secret]] })
 */
export function showSecretOnce({ title, fields, note }) {
  return openDialog((dialog, id, finish) => {
    dialog.classList.add("secret-dialog");
    const close = el("button", { type: "button", class: "primary", onclick: () => finish(true) }, "I have stored it — close");
    append(dialog, [
      el("h2", { id: `${id}-title` }, title),
      el("p", { id: `${id}-body`, class: "warning", role: "alert" }, "This secret is shown only now. It is not stored anywhere readable and will not be shown again: copy it into the appliance or a password manager before closing."),
      el("dl", { class: "secret-fields" }, fields.map(([label, value]) => [
        el("dt", {}, label),
        el("dd", {}, el("code", { class: "secret-value" }, value), copyButton("Copy", () => value, `Copy ${label.toLowerCase()}`)),
      ])),
      note ? el("p", {}, note) : null,
      el("div", { class: "actions" }, close),
    ]);
    queueMicrotask(() => dialog.querySelector(".copy")?.focus());
  });
}

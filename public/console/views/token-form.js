// The form of a new operator token: name, role (at most the admin's own), organisations (every one,
// for an all-organisation admin, or some of the admin's own) and expiry in days (empty: none).

import { openDialog } from "../dialogs.js";
import { append, el } from "../elements.js";

const ROLES = ["reader", "manager", "admin"];
const NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9 ._@+\\-]{0,63}";

/**
 * Asks for a new token's fields; resolves the POST /api/admin/tokens body, or null when cancelled.
 * @example const body = await askNewToken({ role: "admin", organizations: "*" })
 */
export function askNewToken(identity) {
  return openDialog((dialog, id, finish) => {
    const field = (name) => `${id}-${name}`;
    const name = el("input", { id: field("name"), type: "text", required: true, autocomplete: "off", spellcheck: "false", maxlength: "64", pattern: NAME_PATTERN, "aria-describedby": field("name-hint") });
    const own = ROLES.indexOf(identity.role);
    const role = el("select", { id: field("role") }, ROLES.filter((_, rank) => rank <= own).map((r) => el("option", { value: r, selected: r === "reader" }, r)));
    const days = el("input", { id: field("days"), type: "number", min: "1", max: "99999", step: "1", inputmode: "numeric", "aria-describedby": field("days-hint") });
    const scope = scopeFields(identity, field);
    const problem = el("p", { class: "problem", role: "alert", hidden: true });
    append(dialog, [
      el("h2", { id: `${id}-title` }, "New operator token"),
      el("p", { id: `${id}-body` }, "The token is shown once, when it is made. Its holder signs in to this console, or calls the operator API, with it."),
      el("form", { method: "dialog", class: "ask", onsubmit: (event) => {
        event.preventDefault();
        const organizations = scope.value();
        problem.hidden = organizations !== null;
        problem.textContent = organizations === null ? "Choose at least one organisation." : "";
        if (organizations === null || !name.checkValidity() || !days.checkValidity()) return;
        finish({ name: name.value.trim(), role: role.value, organizations, expires_days: days.value ? Number(days.value) : null });
      } },
        el("label", { for: name.id }, "Name"),
        name,
        el("p", { id: field("name-hint"), class: "hint" }, "Who or what holds it, e.g. “jo.support” or “prometheus”: letters, digits, spaces and . _ @ + -, up to 64. One live token per name."),
        el("label", { for: role.id }, "Role"),
        role,
        scope.element,
        el("label", { for: days.id }, "Expires after (days)"),
        days,
        el("p", { id: field("days-hint"), class: "hint" }, "Empty: it never expires (revoke it when it is no longer needed)."),
        problem,
        el("div", { class: "actions" }, el("button", { type: "button", onclick: () => finish(null) }, "Cancel"), el("button", { type: "submit", class: "primary" }, "Create token"))),
    ]);
    queueMicrotask(() => name.focus());
  }).then((value) => (value && typeof value === "object" ? value : null));
}

/** The organisations: "every one" or a typed list for an all-organisation admin; else a box per own organisation. */
function scopeFields(identity, field) {
  if (identity.organizations !== "*") {
    const boxes = identity.organizations.map((org, i) => [org, el("input", { id: field(`org-${i}`), type: "checkbox", value: org, checked: identity.organizations.length === 1 })]);
    return {
      element: el("fieldset", { class: "choices" }, el("legend", {}, "Organisations"),
        boxes.map(([org, box]) => el("span", {}, box, el("label", { for: box.id }, ` ${org}`)))),
      value: () => {
        const chosen = boxes.filter(([, box]) => box.checked).map(([org]) => org);
        return chosen.length ? chosen : null;
      },
    };
  }
  const every = el("input", { id: field("every"), type: "radio", name: field("scope"), value: "*", checked: true });
  const some = el("input", { id: field("some"), type: "radio", name: field("scope"), value: "some" });
  const list = el("input", { id: field("orgs"), type: "text", autocomplete: "off", spellcheck: "false", "aria-describedby": field("orgs-hint"), onfocus: () => (some.checked = true) });
  return {
    element: el("fieldset", { class: "choices" }, el("legend", {}, "Organisations"),
      el("span", {}, every, el("label", { for: every.id }, " Every organisation")),
      el("span", {}, some, el("label", { for: some.id }, " Only these:")),
      el("label", { for: list.id, class: "visually-hidden" }, "Organisation ids"),
      list,
      el("p", { id: field("orgs-hint"), class: "hint" }, "Organisation ids, separated by commas or spaces.")),
    value: () => {
      if (every.checked) return "*";
      const ids = [...new Set(list.value.split(/[\s,]+/).filter(Boolean))];
      return ids.length ? ids : null;
    },
  };
}

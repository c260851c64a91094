// Building DOM nodes. Text always goes in as text nodes, never as HTML, so nothing the API
// returns (file names, audit targets, messages) can become markup.

/**
 * An element with attributes, event handlers (`onclick`, …) and children (strings become text).
 * @example el("button", { type: "button", onclick: save }, "Save")
 */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

/** Appends children (nodes, strings, nested arrays; null and false are skipped). */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replaces every child of `parent`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** A page heading that takes focus, so keyboard and screen-reader users land on the new view. */
export function pageHeading(text) {
  return el("h1", { tabindex: "-1", class: "page-title" }, text);
}

/** Announces a short message in the polite live region (and shows it briefly). */
export function announce(message) {
  const status = document.getElementById("status");
  status.textContent = message;
  clearTimeout(announce.timer);
  announce.timer = setTimeout(() => (status.textContent = ""), 6000);
}

/** A button that copies `text()` to the clipboard and says so. */
export function copyButton(label, text, accessibleName = label) {
  return el("button", {
    type: "button",
    class: "quiet copy",
    "aria-label": accessibleName,
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(text());
        announce("Copied to the clipboard.");
      } catch {
        announce("The browser refused the clipboard; select the text and copy it by hand.");
      }
    },
  }, label);
}

/** Fills the breadcrumb trail: `[label, href]` pairs, the last one being the current page. */
export function showTrail(trail, steps) {
  replace(trail, el("ol", {}, steps.map(([label, href], index) =>
    el("li", {}, index === steps.length - 1 ? el("span", { "aria-current": "page" }, label) : el("a", { href }, label)))));
}

/** A block of text saying there is nothing to show yet. */
export function emptyState(text) {
  return el("p", { class: "empty" }, text);
}

/** Shows why an action failed, under the page heading, until the next action or view. */
export function showActionProblem(message) {
  const main = document.getElementById("main");
  let box = document.getElementById("action-problem");
  if (!box) {
    box = el("p", { id: "action-problem", class: "problem", role: "alert" });
    main.querySelector("h1")?.after(box);
  }
  box.textContent = message;
}

/** Removes the message of a failed action. */
export function clearActionProblem() {
  document.getElementById("action-problem")?.remove();
}

/**
 * Runs operator actions: a rejected token (401) goes to `onProblem` (back to sign-in), any other
 * failure is shown under the heading.
 * @example const act = actionRunner(onProblem); button.onclick = () => act(() => call("POST", path));
 */
export function actionRunner(onProblem) {
  return async (action) => {
    clearActionProblem();
    try {
      await action();
    } catch (error) {
      if (error?.status === 401) return onProblem(error);
      showActionProblem(error?.message ?? "The action failed.");
    }
  };
}

let pendingNotice = null;

/** Keeps a message for the next drawing of a view (after an action that redraws it), where it stays until the next view. */
export function keepNotice(message) {
  pendingNotice = message;
}

/** The kept message as a notice (role=status), once; null when there is none. */
export function takeNotice() {
  const message = pendingNotice;
  pendingNotice = null;
  return message ? el("p", { class: "notice done", role: "status", id: "view-notice" }, message) : null;
}

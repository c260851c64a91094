// The console's entry: signing in and out, and the routes (in the URL fragment, never a token):
//   #/                      the fleet's health, worst organisation first
//   #/orgs                  organisations
//   #/search?q=…            systems across every organisation (the header's search)
//   #/org/{org}/settings    an organisation's settings (admin)
//   #/org/{org}             an organisation's systems
//   #/org/{org}/audit       an organisation's audit trail
//   #/system/{key}          a system, its backups and its recoverable backups (?backup=ID marks one)
//   #/tokens                operator tokens (admin)
// A view's sort, filter and page follow its path as a query (#/org/acme?sort=-backups&page=2), kept
// with history.replaceState, so Back, reload and bookmarks come back to the same place.

import { ApiProblem, call } from "./api.js";
import { el, pageHeading, replace } from "./elements.js";
import { currentIdentity, currentToken, endSession, keepToken, setIdentity } from "./session.js";
import { auditView } from "./views/audit.js";
import { healthView } from "./views/health.js";
import { searchView } from "./views/search.js";
import { settingsView } from "./views/settings.js";
import { organizationsView } from "./views/organizations.js";
import { systemView } from "./views/system.js";
import { systemsView } from "./views/systems.js";
import { tokensView } from "./views/tokens.js";

const main = document.getElementById("main");
const trail = document.getElementById("trail");
let generation = 0;

const ROUTES = [
  [/^#?\/?$/, () => healthView],
  [/^#\/orgs$/, () => organizationsView],
  [/^#\/search$/, () => searchView],
  [/^#\/org\/([^/]+)\/settings$/, () => settingsView],
  [/^#\/org\/([^/]+)$/, () => systemsView],
  [/^#\/org\/([^/]+)\/audit$/, () => auditView],
  [/^#\/system\/([^/]+)$/, () => systemView],
  [/^#\/tokens$/, () => tokensView],
];

/** Draws the view of the current URL fragment (or the sign-in form). */
async function render() {
  const mine = ++generation;
  if (!currentToken()) return signInView();
  try {
    if (!currentIdentity()) setIdentity(await call("GET", "/api/admin/token"));
  } catch (error) {
    return handleProblem(error);
  }
  showIdentity();
  const [path, query = ""] = location.hash.split("?");
  const route = ROUTES.find(([pattern]) => pattern.test(path));
  if (!route) return notFoundView();
  const params = route[0].exec(path).slice(1).map(decodeURIComponent);
  const view = route[1]();
  const stillCurrent = () => mine === generation;
  main.setAttribute("aria-busy", "true");
  replace(main, el("p", { class: "loading" }, "Loading…"));
  let failed = false;
  try {
    await view({ main, trail, params, state: new URLSearchParams(query), keepState: (values) => keepState(path, values), stillCurrent, onProblem: handleProblem, reload: render });
  } catch (error) {
    failed = stillCurrent();
    if (failed) handleProblem(error);
  } finally {
    if (stillCurrent()) main.removeAttribute("aria-busy");
  }
  if (stillCurrent() && !failed) main.querySelector("h1")?.focus(); // after a failure, Retry keeps the focus
}

/** A failed call: a rejected token ends the session; anything else is shown in plain words. */
function handleProblem(error) {
  if (error instanceof ApiProblem && error.status === 401) {
    endSession();
    return signInView(error.message);
  }
  const message = error instanceof ApiProblem ? error.message : "Something went wrong in the console. Reload the page.";
  const retry = error instanceof ApiProblem && error.retryable ? el("button", { type: "button", class: "primary", onclick: render }, "Retry") : null;
  main.removeAttribute("aria-busy");
  replace(main, pageHeading("Could not load this view"), el("p", { class: "problem", role: "alert" }, message), el("p", { class: "toolbar" }, retry, el("a", { href: "#/" }, "Back to the fleet's health")));
  retry?.focus();
}

/** Writes a view's state (sort, filter, page) into the URL without a new history entry or a redraw. */
function keepState(path, values) {
  const query = new URLSearchParams(Object.entries(values).filter(([, value]) => value !== "" && value !== null && value !== undefined && value !== false).map(([name, value]) => [name, String(value)])).toString();
  const hash = query ? `${path}?${query}` : path;
  if (hash !== location.hash) history.replaceState(history.state, "", hash);
}

function signInView(problem = "") {
  document.getElementById("who").hidden = true;
  document.getElementById("search-form").hidden = true;
  replace(trail);
  const input = el("input", { id: "token", name: "token", type: "password", required: true, autocomplete: "off", spellcheck: "false", pattern: "op_\\S+", title: "An operator token starts with op_", "aria-describedby": "token-help" });
  const form = el("form", { class: "sign-in", method: "post", onsubmit: (event) => {
    event.preventDefault();
    keepToken(input.value.trim());
    setIdentity(null);
    render();
  } },
    el("label", { for: "token" }, "Operator token"),
    input,
    el("p", { id: "token-help", class: "hint" }, "A token of the form op_…, made with ", el("code", {}, "npm run system -- token create"), ". It is kept in this tab only and forgotten when the tab closes."),
    el("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  replace(main, pageHeading("Sign in"), problem ? el("p", { class: "problem", role: "alert" }, problem) : null, form);
  main.removeAttribute("aria-busy");
  input.focus();
}

function notFoundView() {
  replace(trail);
  replace(main, pageHeading("No such page"), el("p", {}, el("a", { href: "#/" }, "Go to the fleet's health")));
}

function showIdentity() {
  const identity = currentIdentity();
  const scope = identity.organizations === "*" ? "every organisation" : `${identity.organizations.length} organisation${identity.organizations.length === 1 ? "" : "s"}`;
  document.getElementById("who-name").textContent = `${identity.name} · ${identity.role} · ${scope}`;
  document.getElementById("who").hidden = false;
  document.getElementById("search-form").hidden = false;
}

document.getElementById("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const q = document.getElementById("search").value.trim();
  if (q) location.hash = `#/search?q=${encodeURIComponent(q)}`;
});

document.getElementById("sign-out").addEventListener("click", () => {
  endSession();
  location.hash = "#/";
  signInView();
});
window.addEventListener("hashchange", render);
render();

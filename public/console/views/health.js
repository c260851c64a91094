// The fleet's health, the first screen after sign-in: one row per organisation, worst first (the
// vault's order: most systems refused, never backed up or silent, then the longest silence), with
// its most silent system as a link. From GET /api/admin/health, as of the cron's last evaluation.

import { callAllPages } from "../api.js";
import { el, emptyState, pageHeading, replace, showTrail } from "../elements.js";
import { ageMs, ageText, bytesText, exactBytes, percentText, timeText } from "../quantities.js";
import { may } from "../session.js";
import { parsePage, parseSort, rowsTable } from "../table.js";

const STATES = ["refused", "never", "stale", "ok", "suspended", "retired"];

/** The health view (#/). */
export async function healthView({ main, trail, state, keepState, stillCurrent }) {
  showTrail(trail, [["Fleet health", "#/"]]);
  const { items, complete } = await callAllPages("/api/admin/health", "organizations", { maxPages: 20 });
  if (!stillCurrent()) return;
  const rows = items.map((row, rank) => ({ ...row, rank, attention: (row.systems?.refused ?? 0) + (row.systems?.never ?? 0) + (row.systems?.stale ?? 0) }));

  const filter = el("input", { id: "health-filter", type: "search", autocomplete: "off", placeholder: "organisation id", value: state.get("q") ?? "" });
  const troubledOnly = el("input", { id: "troubled-only", type: "checkbox", checked: state.get("troubled") === "1" });
  const columns = [
    { key: "rank", label: "Rank", numeric: true, value: (row) => row.rank, cell: (row) => String(row.rank + 1) },
    { key: "organization_id", label: "Organisation", cell: (row) => el("a", { href: `#/org/${encodeURIComponent(row.organization_id)}` }, row.organization_id) },
    { key: "attention", label: "Need attention", numeric: true, cell: (row) => row.attention ? el("strong", { class: "stale" }, String(row.attention)) : "0" },
    ...STATES.map((s) => ({ key: s, label: s === "never" ? "Never" : s[0].toUpperCase() + s.slice(1), numeric: true, value: (row) => row.systems?.[s] ?? 0 })),
    { key: "most_silent", label: "Most silent", value: (row) => (row.most_silent ? -ageMs(row.most_silent.silent_since) : null), cell: mostSilentCell },
    { key: "bytes_used", label: "Storage used", numeric: true, cell: (row) => el("span", {},
      el("span", { title: exactBytes(row.bytes_used ?? 0), class: "nowrap" }, bytesText(row.bytes_used ?? 0), row.quota_bytes ? ` (${percentText(row.bytes_used ?? 0, row.quota_bytes)})` : ""),
      // What the recovery window holds: not counted against the quota, erased when the window ends.
      row.recoverable_bytes ? el("span", { class: "hint recoverable", title: exactBytes(row.recoverable_bytes) }, `+ ${bytesText(row.recoverable_bytes)} recoverable`) : null) },
  ];
  let tableState = { sort: state.get("sort") ?? "", page: parsePage(state.get("page")) + 1 };
  const remember = () => keepState({ q: filter.value.trim(), troubled: troubledOnly.checked ? "1" : "", sort: tableState.sort, page: tableState.page > 1 ? tableState.page : "" });
  const table = rowsTable({
    caption: "Health of the organisations, worst first",
    rowKey: (row) => row.organization_id,
    sort: parseSort(state.get("sort"), columns, { key: "rank", descending: false }),
    page: parsePage(state.get("page")),
    emptyText: "No organisation matches the filters.",
    columns,
    onChange: (next) => {
      tableState = next;
      remember();
    },
  });
  const apply = (firstPage = false) => {
    const needle = filter.value.trim().toLowerCase();
    table.show(rows.filter((row) => (!troubledOnly.checked || row.attention > 0) && row.organization_id.toLowerCase().includes(needle)), { firstPage });
    if (firstPage) tableState = { ...tableState, page: 1 };
    remember();
  };
  filter.addEventListener("input", () => apply(true));
  troubledOnly.addEventListener("input", () => apply(true));
  const troubled = rows.filter((row) => row.attention > 0);
  const silentSystems = troubled.reduce((sum, row) => sum + row.attention, 0);

  replace(
    main,
    pageHeading("Fleet health"),
    el("p", { class: "toolbar" }, el("a", { href: "#/orgs" }, "All organisations"), may("admin") ? el("a", { href: "#/tokens" }, "Operator tokens") : null),
    rows.length === 0
      ? emptyState("Your token sees no organisation yet, or the hourly evaluation has not run since the first system was created.")
      : [
          el("p", { class: troubled.length ? "summary warn" : "summary", id: "health-summary" },
            troubled.length ? `${troubled.length} of ${rows.length} organisation(s) have ${silentSystems} system(s) that stopped backing up, never did, or were refused.` : `All ${rows.length} organisation(s) are backing up.`),
          el("div", { class: "controls" },
            el("span", {}, el("label", { for: "health-filter" }, "Filter"), filter),
            el("span", {}, troubledOnly, el("label", { for: "troubled-only" }, "Only those needing attention"))),
          complete ? null : el("p", { class: "hint" }, `Showing the first ${rows.length} organisations.`),
          table.element,
        ],
  );
  apply();
}

function mostSilentCell(row) {
  const silent = row.most_silent;
  if (!silent) return "–";
  const since = silent.silent_since ? `silent ${ageText(ageMs(silent.silent_since))}` : "never backed up";
  return el("span", { class: "most-silent" },
    el("a", { href: `#/system/${encodeURIComponent(silent.system_key)}`, title: silent.system_key }, silent.name || shortKey(silent.system_key)),
    el("span", { class: "hint", title: silent.silent_since ? timeText(silent.silent_since) : undefined }, ` ${since}`));
}

/** A long key cut to its start ("NETH-daa443ef…"); the whole key is the link's title. */
function shortKey(key) {
  return key.length > 16 ? `${key.slice(0, 13)}…` : key;
}

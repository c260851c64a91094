// The console's journeys across the fleet, in Chromium against `npm start` with the seeded fleet
// (console-fixture.ts): a restore by keyboard alone, silence in words, a phone, 1,000 systems and
// 10,000 organisations, axe-core on every view; then the fleet first (health, names, search, settings).
import { readFile } from "node:fs/promises";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screenshot } from "./browser.ts";
import { axeViolations } from "./axe.ts";
import { type ConsoleFleet, ORG, pageSteps, startFleet } from "./console-fixture.ts";
import { type CreatedSystem, operatorCall, type SeededBackup, type Vault } from "./vault.ts";

let fleet: ConsoleFleet;
let vault: Vault;
let browser: Browser;
let page: Page;
let shots: string;
let adminToken: string;
let readerToken: string;
let busy: CreatedSystem;
let foreign: CreatedSystem;
let backups: SeededBackup[];

beforeAll(async () => {
  fleet = await startFleet({ signedIn: true });
  ({ vault, browser, page, shots, adminToken, readerToken, busy, foreign, backups } = fleet);
}, 600_000);

afterAll(async () => {
  await fleet?.stop();
});

const { heading, signIn, buttonTexts, tabTo } = pageSteps(() => fleet);

describe("the console across the fleet: keyboard, phone, scale and accessibility", () => {
  it("restores a backup by keyboard alone: sign in, organisation, system, download", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.locator("#token").waitFor();
    await page.keyboard.type(adminToken);
    await page.keyboard.press("Enter");
    await heading("Fleet health");
    await tabTo("All organisations");
    await page.keyboard.press("Enter");
    await heading("Organisations");
    await tabTo(ORG);
    await page.keyboard.press("Enter");
    await heading(`Systems of ${ORG}`);
    await page.keyboard.press("Tab"); // from the heading into the toolbar and the filters
    await tabTo("Filter", "id");
    await page.keyboard.type(busy.system_key);
    await tabTo(busy.system_key);
    await page.keyboard.press("Enter");
    await heading(`System ${busy.system_key}`);
    const newest = backups[2]!;
    await tabTo(`Download ${newest.filename}`);
    const [download] = await Promise.all([page.waitForEvent("download"), page.keyboard.press("Enter")]);
    expect(download.suggestedFilename()).toBe(newest.filename);
    expect((await readFile((await download.path())!)).equals(newest.bytes)).toBe(true);
  });

  it("shows how long a system has been silent, in words, on its badge", async () => {
    const later = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    try {
      await later.clock.setFixedTime(Date.now() + 33 * 86_400_000);
      const tab = await later.newPage();
      // The vault's answer a month on: this system's health is stale (the badge says how long, from its last sign of life).
      await tab.route(`**/api/admin/systems/${busy.system_key}`, async (route) => {
        const answer = await route.fetch();
        const body = await answer.json();
        await route.fulfill({ response: answer, json: { ...body, data: { ...body.data, health: "stale" } } });
      });
      await tab.goto(`${vault.origin}/console/`);
      await tab.locator("#token").fill(adminToken);
      await tab.getByRole("button", { name: "Sign in" }).click();
      await tab.locator("h1", { hasText: "Fleet health" }).waitFor();
      await tab.goto(`${vault.origin}/console/#/system/${busy.system_key}`);
      await tab.locator("h1", { hasText: `System ${busy.system_key}` }).waitFor();
      expect(await tab.locator(".facts .badge.health").textContent()).toBe("silent 33 days");
    } finally {
      await later.close();
    }
  });

  it("on a phone, keeps badges to their text and offers only sortable columns to sort by", async () => {
    const narrow = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const phone = await narrow.newPage();
    try {
      await phone.goto(`${vault.origin}/console/`);
      await phone.locator("#token").fill(adminToken);
      await phone.getByRole("button", { name: "Sign in" }).click();
      await phone.locator("h1", { hasText: "Fleet health" }).waitFor();
      await phone.goto(`${vault.origin}/console/#/system/${busy.system_key}`);
      await phone.locator("h1", { hasText: `System ${busy.system_key}` }).waitFor();
      expect(await phone.locator("thead th:visible").allTextContents()).toEqual(expect.not.arrayContaining([expect.stringMatching(/SHA-256|Actions/)]));
      await phone.goto(`${vault.origin}/console/#/org/${ORG}`);
      await phone.locator("h1", { hasText: `Systems of ${ORG}` }).waitFor();
      const badge = await phone.locator("tbody .badge").first().boundingBox();
      const cell = await phone.locator("tbody td[data-label=Status]").first().boundingBox();
      expect(badge!.width).toBeLessThan(cell!.width / 2);
    } finally {
      await narrow.close();
    }
  });

  it("draws 1,000 systems of one organisation and 10,000 organisations (timings printed as information, not asserted)", async () => {
    const now = Date.now();
    const systems = Array.from({ length: 1000 }, (_, i) => ({
      system_key: `NETH-${String(i).padStart(6, "0")}`, system_id: `id-${i}`, organization_id: "big", status: i % 50 === 0 ? "suspended" : "active", append_only: i % 3 === 0,
      registered_at: "2026-01-01T00:00:00Z", backups: i % 11, bytes_used: i * 1000, last_backup_at: i % 7 === 0 ? null : new Date(now - i * 3_600_000).toISOString(),
    }));
    const organizations = Array.from({ length: 10_000 }, (_, i) => ({ organization_id: `org-${String(i).padStart(5, "0")}`, systems: i % 13, backups: i % 97, bytes_used: i * 4096, quota_bytes: 100 * 1024 ** 3 }));
    const answer = (data: unknown) => ({ status: 200, contentType: "application/json", body: JSON.stringify({ code: 200, message: "listed", data }) });
    await page.route("**/api/admin/organizations/big/systems*", (route) => route.fulfill(answer({ systems, cursor: null })));
    await page.route("**/api/admin/organizations?*", (route) => route.fulfill(answer({ organizations, cursor: null })));
    try {
      let started = Date.now();
      await page.goto(`${vault.origin}/console/#/org/big`);
      await heading("Systems of big");
      const systemsMs = Date.now() - started;
      expect(await page.locator(".pager").textContent()).toContain("Page 1 of 40 (1000 rows)");
      started = Date.now();
      await page.getByRole("button", { name: /^Bytes/ }).click();
      await page.locator("th[aria-sort=ascending]", { hasText: "Bytes" }).waitFor();
      const sortMs = Date.now() - started;
      started = Date.now();
      await page.locator("#system-filter").fill("NETH-00099");
      await page.locator(".pager", { hasText: "10 shown" }).waitFor();
      const filterMs = Date.now() - started;
      started = Date.now();
      await page.goto(`${vault.origin}/console/#/orgs`);
      await heading("Organisations");
      const organizationsMs = Date.now() - started;
      expect(await page.locator(".pager").textContent()).toContain("(10000 rows)");
      const health = organizations.map((o, i) => ({ organization_id: o.organization_id, systems: { ok: 10, stale: i % 5, never: i % 3, refused: i % 7 === 0 ? 1 : 0, suspended: 0, retired: 0 }, backups: o.backups, bytes_used: o.bytes_used, quota_bytes: o.quota_bytes, recoverable_bytes: 0, most_silent: i % 5 ? { system_key: `NETH-${i}`, name: null, silent_since: new Date(now - i * 60_000).toISOString() } : null }));
      await page.route("**/api/admin/health?*", (route) => route.fulfill(answer({ organizations: health, cursor: null })));
      started = Date.now();
      await page.goto(`${vault.origin}/console/#/`);
      await heading("Fleet health");
      const healthMs = Date.now() - started;
      expect(await page.locator(".pager").textContent()).toContain("(10000 rows)");
      console.log(`console at scale (information): 1,000 systems drawn in ${systemsMs} ms, sorted in ${sortMs} ms, filtered in ${filterMs} ms; 10,000 organisations drawn in ${organizationsMs} ms; the fleet's health of 10,000 organisations drawn in ${healthMs} ms`);
    } finally {
      await page.unroute("**/api/admin/health?*");
      await page.unroute("**/api/admin/organizations/big/systems*");
      await page.unroute("**/api/admin/organizations?*");
    }
  });

  it("has no axe-core violation on any view, in the light and the dark theme", async () => {
    const views: [string, string | RegExp][] = [
      ["#/", "Fleet health"],
      ["#/orgs", "Organisations"],
      [`#/search?q=${busy.system_key.slice(0, 9)}`, /^Systems matching/],
      [`#/org/${ORG}/settings`, `Settings of ${ORG}`],
      [`#/org/${ORG}`, `Systems of ${ORG}`],
      [`#/system/${busy.system_key}`, `System ${busy.system_key}`],
      [`#/org/${ORG}/audit`, `Audit trail of ${ORG}`],
      [`#/system/NETH-NO-SUCH-SYSTEM`, "Could not load this view"],
    ];
    const found: string[] = [];
    for (const colorScheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme });
      for (const [hash, title] of views) {
        await page.goto(`${vault.origin}/console/${hash}`);
        await heading(title);
        found.push(...(await axeViolations(page)).map((v) => `${colorScheme} ${hash}: ${v}`));
      }
      await page.goto(`${vault.origin}/console/#/system/${busy.system_key}`);
      await heading(`System ${busy.system_key}`);
      await page.getByRole("button", { name: "Purge…" }).click();
      found.push(...(await axeViolations(page)).map((v) => `${colorScheme} purge dialog: ${v}`));
      await page.keyboard.press("Escape");
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.locator("#token").waitFor();
      found.push(...(await axeViolations(page)).map((v) => `${colorScheme} sign-in: ${v}`));
      await signIn(adminToken);
      await heading("Fleet health");
    }
    await page.emulateMedia({ colorScheme: null });
    expect(found).toEqual([]);
  });
});

describe("the fleet first: health, names, search and settings", () => {
  it("opens on the fleet's health, worst organisation first, with its most silent system as a link", async () => {
    await page.goto(`${vault.origin}/console/`);
    await page.reload();
    await heading("Fleet health");
    await screenshot(page, shots, "health", { fullPage: false });
    expect(await page.locator("tbody tr").first().getAttribute("data-key")).toBe(ORG); // the most systems needing attention
    expect(await page.locator("#health-summary").textContent()).toMatch(/organisation\(s\) have \d+ system\(s\) that stopped backing up/);
    const silent = page.locator(`tr[data-key="${ORG}"] .most-silent a`);
    const target = await silent.getAttribute("href");
    await silent.click();
    await heading(/^System /);
    expect(page.url()).toContain(target!);
  });

  it("names a system and keeps notes (manager), shown in its list and found by the header's search", async () => {
    await page.goto(`${vault.origin}/console/#/system/${busy.system_key}`);
    await heading(`System ${busy.system_key}`);
    await page.getByRole("button", { name: "Edit name and notes" }).click();
    const dialog = page.locator("dialog[open]");
    await dialog.getByLabel("Name").fill("Branch office Lyon");
    await dialog.getByLabel("Notes").fill("Rack 2, behind the printer.\nCall Jo before a restore.");
    await dialog.getByRole("button", { name: "Save" }).click();
    await page.locator(".facts dd", { hasText: "Branch office Lyon" }).waitFor();
    expect(await page.locator(".facts .notes").textContent()).toContain("Call Jo before a restore.");

    await page.locator("#search").fill("Branch office");
    await page.locator("#search").press("Enter");
    await heading(/^Systems matching/);
    const row = page.locator(`tr[data-key="${busy.system_key}"]`);
    expect(await row.locator("td[data-label=Name]").textContent()).toBe("Branch office Lyon");
    expect(await row.locator("td[data-label=Organisation]").textContent()).toBe(ORG);
    await page.locator("#search").fill(foreign.system_key.slice(0, 12)); // by the start of a key, in another organisation
    await page.locator("#search").press("Enter");
    await page.locator(`tr[data-key="${foreign.system_key}"] a`).first().click();
    await heading(`System ${foreign.system_key}`);
  });

  it("sets an organisation's silence threshold, retention and alert targets, with a secret shown once and a test alert", async () => {
    await page.goto(`${vault.origin}/console/#/org/${ORG}`);
    await heading(`Systems of ${ORG}`);
    await page.getByRole("link", { name: "Settings" }).click();
    await heading(`Settings of ${ORG}`);
    await page.getByLabel("A system is silent after (days)").fill("5");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.locator("#status", { hasText: "after 5 day(s)" }).waitFor();
    expect((await operatorCall(vault.origin, adminToken, "GET", `/api/admin/organizations/${ORG}/settings`)).body.data.stale_after_days).toBe(5);

    await page.getByLabel("Newest backups kept per system").fill("50"); // looser than the deployment's 10: refused, in words
    await page.getByRole("button", { name: "Save retention" }).click();
    await page.locator("#action-problem", { hasText: "keep_last must be an integer from 1 to 10" }).waitFor();
    await page.getByLabel("Newest backups kept per system").fill("6");
    await page.getByLabel("Monthly backups also kept").fill("0");
    await page.getByRole("button", { name: "Save retention" }).click();
    await page.locator("#status", { hasText: "Retention of" }).waitFor();
    const saved = (await operatorCall(vault.origin, adminToken, "GET", `/api/admin/organizations/${ORG}/settings`)).body.data;
    expect([saved.keep_last, saved.daily, saved.weekly, saved.monthly]).toEqual([6, null, null, 0]);

    expect(await page.getByRole("button", { name: "Send a test alert" }).isDisabled()).toBe(true);
    await page.getByRole("button", { name: "Add a target" }).click();
    await page.locator("dialog[open]").getByLabel("Address (https://…)").fill("http://127.0.0.1:9/vault-alerts");
    await page.locator("dialog[open]").getByRole("button", { name: "Add target" }).click();
    const secretDialog = page.locator("dialog.secret-dialog[open]");
    await secretDialog.waitFor();
    expect(await secretDialog.textContent()).toContain("will not be shown again");
    await secretDialog.getByRole("button", { name: /I have stored it/ }).click();
    await page.locator(".targets li", { hasText: "http://127.0.0.1:9/vault-alerts" }).waitFor();
    await page.getByRole("button", { name: "Send a test alert" }).click();
    await page.locator("#status", { hasText: "on its way to 1 target(s)" }).waitFor();

    await page.getByRole("button", { name: "Remove http://127.0.0.1:9/vault-alerts" }).click();
    await page.locator("dialog[open]").getByRole("button", { name: "Remove target" }).click();
    await page.locator(".targets").waitFor({ state: "detached" });
  });

  it("offers a reader neither settings nor editing, but the health and the search", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(readerToken);
    await heading("Fleet health");
    await page.goto(`${vault.origin}/console/#/org/${ORG}`);
    await heading(`Systems of ${ORG}`);
    expect(await page.getByRole("link", { name: "Settings" }).count()).toBe(0);
    await page.goto(`${vault.origin}/console/#/system/${busy.system_key}`);
    await heading(`System ${busy.system_key}`);
    expect(await buttonTexts()).not.toContain("Edit name and notes");
    await page.locator("#search").fill(busy.system_key);
    await page.locator("#search").press("Enter");
    await page.locator(`tr[data-key="${busy.system_key}"]`).waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(adminToken);
    await heading("Fleet health");
  });
});

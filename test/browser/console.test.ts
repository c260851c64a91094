// The operator console in a real Chromium against `npm start` (wrangler dev) with seeded systems and
// backups (console-fixture.ts): sign in, walk organisation → system → backup, download, delete,
// suspend, create, audit, and a reader who is offered nothing that changes anything. Screenshots.
import { readFile } from "node:fs/promises";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { horizontalOverflow, screenshot } from "./browser.ts";
import { type ConsoleFleet, EXTRA_SYSTEMS, ORG, OTHER_ORG, pageSteps, startFleet } from "./console-fixture.ts";
import { applianceListStatus, type CreatedSystem, operatorCall, type SeededBackup, uploadBackup, type Vault } from "./vault.ts";

let fleet: ConsoleFleet;
let vault: Vault;
let browser: Browser;
let page: Page;
let shots: string;
let adminToken: string;
let readerToken: string;
let managerToken: string;
let busy: CreatedSystem;
let foreign: CreatedSystem;
let backups: SeededBackup[];
let requests: string[];

beforeAll(async () => {
  fleet = await startFleet();
  ({ vault, browser, page, shots, adminToken, readerToken, managerToken, busy, foreign, backups, requests } = fleet);
}, 600_000);

afterAll(async () => {
  await fleet?.stop();
});

const { heading, signIn, clipboardText, buttonTexts } = pageSteps(() => fleet);

describe("the operator console", () => {
  it("is served at /console/ with a strict Content-Security-Policy", async () => {
    const response = await fetch(`${vault.origin}/console/`);
    await response.arrayBuffer();
    expect(response.status).toBe(200);
    const csp = response.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(response.headers.get("Referrer-Policy")).toBe("no-referrer");
    expect(response.headers.get("X-Frame-Options")).toBe("DENY");
    expect(vault.output()).toContain(`Operator console: ${vault.origin}/console/`); // npm start prints the console's URL (and the admin token used below)
  });

  it("refuses a wrong token in plain words, then signs in by keyboard with the token kept for the tab only", async () => {
    await signIn("op_0123456789abcdef.wrongwrongwrongwrongwrongwrongwrongwrongwro");
    await page.getByRole("alert").filter({ hasText: "The token was not accepted" }).waitFor();
    await screenshot(page, shots, "sign-in");

    await signIn(adminToken);
    await heading("Fleet health");
    expect(await page.locator("#who-name").textContent()).toContain("admin");
    expect(await page.evaluate(() => Object.values(sessionStorage))).toContain(adminToken);
    expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain(adminToken);
    expect(page.url()).not.toContain(adminToken.slice(3, 20));
  });

  it("lists the organisations with systems, backups and bytes against the quota as a bar", async () => {
    await page.getByRole("link", { name: "All organisations" }).click();
    await heading("Organisations");
    const acme = page.locator("tr", { has: page.getByRole("link", { name: ORG, exact: true }) });
    await acme.waitFor();
    const cells = await acme.locator("td").allTextContents();
    expect(cells[1]).toBe(String(2 + EXTRA_SYSTEMS));
    expect(cells[2]).toBe("4");
    expect(await acme.locator("meter").getAttribute("aria-label")).toMatch(/^Storage used: .+ of .+ \(.+ %\)$/);
    expect(await page.getByRole("link", { name: OTHER_ORG, exact: true }).count()).toBe(1);
    await screenshot(page, shots, "organizations");
  });

  it("walks to an organisation's systems: paginated, sortable, filterable, the vault's health shown", async () => {
    await page.getByRole("link", { name: ORG, exact: true }).click();
    await heading(`Systems of ${ORG}`);
    expect(await page.locator(".pager").textContent()).toContain(`Page 1 of 2 (${2 + EXTRA_SYSTEMS} rows)`);
    // Registered minutes ago: the vault counts none silent or never backed up yet, against the organisation's own setting.
    expect(await page.locator("#stale-count").textContent()).toBe("No system needs attention: every active system gave a sign of life within 7 day(s), this organisation's setting.");
    await screenshot(page, shots, "systems", { fullPage: false });

    await page.getByRole("button", { name: /^Backups/ }).click(); // ascending
    await page.getByRole("button", { name: /^Backups/ }).click(); // descending
    expect(await page.locator("tbody tr").first().getAttribute("data-key")).toBe(busy.system_key);
    expect(await page.locator("th[aria-sort=descending]").textContent()).toContain("Backups");

    await page.locator("#stale-only").check();
    expect(await page.locator(".table-block .empty").textContent()).toBe("No system matches the filters.");
    await page.locator("#stale-only").uncheck();
    expect(await page.locator("#stale-days").count()).toBe(0); // no threshold of the browser's own
    await page.locator("#system-filter").fill(busy.system_key);
    expect(await page.locator("tbody tr").count()).toBe(1);
  });

  it("marks a system silent when the vault says so, never by the browser's clock (moved on 5 days)", async () => {
    const later = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    later.on("request", (request) => requests.push(request.url()));
    try {
      await later.clock.setFixedTime(Date.now() + 5 * 86_400_000);
      const tab = await later.newPage();
      await tab.goto(`${vault.origin}/console/`);
      await tab.locator("#token").fill(readerToken);
      await tab.getByRole("button", { name: "Sign in" }).click();
      await tab.locator("h1", { hasText: "Fleet health" }).waitFor();
      await tab.goto(`${vault.origin}/console/#/org/${ORG}?q=${busy.system_key}`);
      await tab.locator("h1", { hasText: `Systems of ${ORG}` }).waitFor();
      const newest = tab.locator(`tr[data-key="${busy.system_key}"] td[data-label="Newest backup"]`);
      expect(await newest.textContent()).toBe("5 d ago"); // the vault, judging by its own clock, says ok
      expect(await tab.locator(`tr[data-key="${busy.system_key}"] .badge.health`).count()).toBe(0);
      expect(await tab.locator("#stale-count").textContent()).toContain("within this organisation's threshold"); // a reader may not read the setting

      // The same list as the vault answers it five days on: its `health` for this system is stale.
      await tab.route(`**/api/admin/organizations/${ORG}/systems*`, async (route) => {
        const answer = await route.fetch();
        const body = await answer.json();
        for (const row of body.data.systems) if (row.system_key === busy.system_key) row.health = "stale";
        await route.fulfill({ response: answer, json: body });
      });
      await tab.reload();
      await tab.locator("h1", { hasText: `Systems of ${ORG}` }).waitFor();
      expect(await newest.textContent()).toBe("⚠ 5 d ago (stale)");
      expect(await tab.locator(`tr[data-key="${busy.system_key}"] .badge.health`).textContent()).toBe("silent 5 days");
      expect(await tab.locator("#stale-count").textContent()).toBe("1 system(s) need attention: 1 silent for longer than this organisation's threshold, 0 never backed up, 0 with their last upload refused.");
    } finally {
      await later.close();
    }
  });

  it("shows a system's backups newest first, copies a digest, and downloads a backup under its real name, byte for byte", async () => {
    await page.locator("#system-filter").fill(busy.system_key);
    await page.getByRole("link", { name: busy.system_key }).click();
    await heading(`System ${busy.system_key}`);
    const names = await page.locator("tbody .filename").allTextContents();
    expect(names).toEqual(backups.map((b) => b.filename).reverse());

    const wanted = backups[1];
    const row = page.locator(`tr[data-key="${wanted.id}"]`);
    expect(await row.locator(".digest code").getAttribute("title")).toBe(wanted.sha256);
    await row.getByRole("button", { name: `Copy the SHA-256 of ${wanted.filename}` }).click();
    expect(await clipboardText()).toBe(wanted.sha256);

    const [download] = await Promise.all([page.waitForEvent("download"), row.getByRole("button", { name: `Download ${wanted.filename}` }).click()]);
    expect(download.suggestedFilename()).toBe(wanted.filename);
    const saved = await readFile((await download.path())!);
    expect(saved.equals(wanted.bytes)).toBe(true);
    expect(await page.locator(".link-url").textContent()).toMatch(new RegExp(`^${vault.origin}/api/downloads/`));
    await screenshot(page, shots, "system");
  });

  it("deletes a backup only after a confirmation that names it", async () => {
    const victim = backups[0];
    const row = () => page.locator(`#backups tr[data-key="${victim.id}"]`);
    await row().getByRole("button", { name: `Delete ${victim.filename}` }).click();
    const dialog = page.locator("dialog[open]");
    expect(await dialog.textContent()).toContain(victim.filename);
    expect(await dialog.textContent()).toContain(victim.id);
    await screenshot(page, shots, "delete-confirmation", { fullPage: false });
    await page.keyboard.press("Escape"); // cancel: nothing happens
    await dialog.waitFor({ state: "detached" });
    expect(await row().count()).toBe(1);

    await row().getByRole("button", { name: `Delete ${victim.filename}` }).click();
    await page.locator("dialog[open]").getByRole("button", { name: `Delete ${victim.filename}` }).click();
    await page.locator(`#recoverable tr[data-key="${victim.id}"]`).waitFor(); // into the recovery window
    expect(await page.locator(`#backups tr[data-key="${victim.id}"]`).count()).toBe(0);
    const listing = await operatorCall(vault.origin, adminToken, "GET", `/api/admin/systems/${busy.system_key}/backups`);
    expect(listing.body.data.backups.map((b: { id: string }) => b.id)).not.toContain(victim.id);
  });

  it("suspends a system, and the appliance is refused until it is resumed", async () => {
    expect(await applianceListStatus(vault.origin, busy)).toBe(200);
    await page.getByRole("button", { name: "Suspend", exact: true }).click();
    await page.locator("dialog[open]").getByRole("button", { name: "Suspend system" }).click();
    await page.locator(".facts .badge.suspended").waitFor();
    await expect.poll(() => applianceListStatus(vault.origin, busy), { timeout: 45_000, interval: 1_000 }).toBe(401);

    await page.getByRole("button", { name: "Resume", exact: true }).click();
    await page.locator(".facts .badge.active").waitFor();
    await expect.poll(() => applianceListStatus(vault.origin, busy), { timeout: 45_000, interval: 1_000 }).toBe(200);
  });

  it("creates a system and shows its secret once, with a copy button and a warning", async () => {
    await page.goto(`${vault.origin}/console/#/org/${ORG}`);
    await heading(`Systems of ${ORG}`);
    await page.getByRole("button", { name: "New system" }).click();
    await page.locator("#new-append-only").check();
    await page.locator("dialog[open]").getByRole("button", { name: "Create system" }).click();
    const secretDialog = page.locator("dialog.secret-dialog[open]");
    await secretDialog.waitFor();
    expect(await secretDialog.textContent()).toContain("will not be shown again");
    const [key, secret] = await secretDialog.locator(".secret-value").allTextContents();
    await screenshot(page, shots, "secret-once", { fullPage: false });
    await secretDialog.getByRole("button", { name: "Copy system secret" }).click();
    expect(await clipboardText()).toBe(secret);
    await secretDialog.getByRole("button", { name: /I have stored it/ }).click();
    await secretDialog.waitFor({ state: "detached" });
    expect(await page.content()).not.toContain(secret);

    const created = { system_key: key, system_secret: secret, system_id: "", organization_id: ORG };
    await uploadBackup(vault.origin, created, "first.tar.gz"); // the secret shown works for the appliance
    await page.locator("#system-filter").fill(key);
    const row = page.locator(`tr[data-key="${key}"]`);
    expect(await row.locator("td").nth(2).textContent()).toBe("yes");
  });

  it("reads the organisation's audit trail, newest first", async () => {
    await page.getByRole("link", { name: "Audit trail" }).click();
    await heading(`Audit trail of ${ORG}`);
    const actions = await page.locator("tbody td:nth-child(3)").allTextContents();
    for (const action of ["system.create", "backup.link", "backup.delete", "system.suspend", "system.resume"]) expect(actions).toContain(action);
    expect(actions.indexOf("system.resume")).toBeLessThan(actions.indexOf("system.suspend"));
    await screenshot(page, shots, "audit", { fullPage: false });
  });

  it("explains an unknown system in plain words", async () => {
    await page.goto(`${vault.origin}/console/#/system/NETH-NO-SUCH-SYSTEM`);
    await page.getByRole("alert").filter({ hasText: "Not found, or outside the organisations your token may see." }).waitFor();
  });

  it("offers a reader no button that changes anything, and hides other organisations", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await signIn(readerToken);
    await heading("Fleet health");
    expect(await page.getByRole("link", { name: OTHER_ORG, exact: true }).count()).toBe(0);
    await page.getByRole("link", { name: ORG, exact: true }).click();
    await heading(`Systems of ${ORG}`);
    expect(await buttonTexts()).not.toContain("New system");
    await page.goto(`${vault.origin}/console/#/system/${busy.system_key}`);
    await heading(`System ${busy.system_key}`);
    const allowed = /^(Sign out|Find|Download|Copy|Copy link|Previous|Next|(File name|Size|Uploaded|Removed|Why|Erased after)\s*[▲▼]?)$/;
    const offered = await buttonTexts();
    expect(offered.filter((text) => !allowed.test(text))).toEqual([]);
    expect(offered).toContain("Download");
    await screenshot(page, shots, "reader-system");

    await page.goto(`${vault.origin}/console/#/system/${foreign.system_key}`);
    await page.getByRole("alert").filter({ hasText: "Not found, or outside the organisations your token may see." }).waitFor();
  });

  it("offers a manager delete, suspend and append-only, but not create or rotate", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(managerToken);
    await heading("Fleet health");
    await page.goto(`${vault.origin}/console/#/org/${ORG}`);
    await heading(`Systems of ${ORG}`);
    expect(await buttonTexts()).not.toContain("New system");
    await page.goto(`${vault.origin}/console/#/system/${busy.system_key}`);
    await heading(`System ${busy.system_key}`);
    const offered = await buttonTexts();
    for (const action of ["Suspend", "Turn append-only on", "Delete"]) expect(offered).toContain(action);
    expect(offered).not.toContain("Rotate secret");
  });

  it("is readable at 390 px wide, with nothing scrolling sideways", async () => {
    const narrow = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    narrow.on("request", (request) => requests.push(request.url()));
    const phone = await narrow.newPage();
    try {
      await phone.goto(`${vault.origin}/console/`);
      await phone.locator("#token").fill(adminToken);
      await phone.getByRole("button", { name: "Sign in" }).click();
      for (const [hash, title, name] of [
        ["#/", "Fleet health", "health-390"],
        ["#/orgs", "Organisations", "organizations-390"],
        [`#/org/${ORG}`, `Systems of ${ORG}`, "systems-390"],
        [`#/system/${busy.system_key}`, `System ${busy.system_key}`, "system-390"],
        [`#/org/${ORG}/audit`, `Audit trail of ${ORG}`, "audit-390"],
      ]) {
        await phone.goto(`${vault.origin}/console/${hash}`);
        await phone.locator("h1", { hasText: title }).waitFor();
        await phone.locator("main[aria-busy]").waitFor({ state: "detached" });
        expect(await horizontalOverflow(phone), `${name} scrolls sideways`).toBeLessThanOrEqual(0);
        await screenshot(phone, shots, name, { fullPage: false });
      }
    } finally {
      await narrow.close();
    }
  });

  it("loaded nothing from another origin and never put a token in a URL", () => {
    expect(requests.length).toBeGreaterThan(10);
    const foreignRequests = requests.filter((url) => !url.startsWith(`${vault.origin}/`));
    expect(foreignRequests).toEqual([]);
    for (const token of [adminToken, readerToken, managerToken]) expect(requests.filter((url) => url.includes(token.split(".")[1]))).toEqual([]);
  });
});

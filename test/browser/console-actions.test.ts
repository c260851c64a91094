// The console's every action on one system, in Chromium against `npm start` with the seeded fleet
// (console-fixture.ts): the signed-out header, state in the URL, a hung vault, retire, purge, move,
// rotate (Escape asks first), and the audit trail's links.
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleFleet, ORG, OTHER_ORG, pageSteps, startFleet } from "./console-fixture.ts";
import { basicAuthorization } from "../tooling/harness.ts";
import { applianceListStatus, type CreatedSystem, createSystem, operatorCall, type SeededBackup, uploadBackup, type Vault } from "./vault.ts";

let fleet: ConsoleFleet;
let vault: Vault;
let context: BrowserContext;
let page: Page;
let adminToken: string;
let managerToken: string;
let quiet: CreatedSystem;
let backups: SeededBackup[];

beforeAll(async () => {
  fleet = await startFleet({ signedIn: true });
  ({ vault, context, page, adminToken, managerToken, quiet, backups } = fleet);
}, 600_000);

afterAll(async () => {
  await fleet?.stop();
});

const { heading, signIn, buttonTexts } = pageSteps(() => fleet);

describe("the console for a fleet: every action, state in the URL, and no dead ends", () => {
  let retiree: CreatedSystem; // retired, then purged
  let mover: CreatedSystem; // moved to the other organisation

  beforeAll(async () => {
    retiree = await createSystem(vault.origin, adminToken, ORG);
    mover = await createSystem(vault.origin, adminToken, ORG);
    await uploadBackup(vault.origin, retiree, "retiree.tar.gz");
    await uploadBackup(vault.origin, mover, "mover.tar.gz");
  }, 120_000);

  it("hides the operator and Sign out once signed out, and shows the sign-in hint without literal backticks", async () => {
    await page.goto(`${vault.origin}/console/`);
    await page.locator("#token, #who:not([hidden])").first().waitFor(); // signed out, or known to be signed in
    if (await page.locator("#who").isVisible()) await page.getByRole("button", { name: "Sign out" }).click();
    await page.locator("#token").waitFor();
    expect(await page.locator("#who").isVisible()).toBe(false);
    expect(await page.getByRole("button", { name: "Sign out" }).count()).toBe(0);
    const hint = await page.locator("#token-help").textContent();
    expect(hint).toContain("npm run system -- token create");
    expect(hint).not.toContain("`");
    expect(await page.locator("#token-help code").count()).toBe(1);
    await signIn(adminToken);
    await heading("Fleet health");
    expect(await page.locator("#who").isVisible()).toBe(true);
  });

  it("keeps sort, filter and page in the URL, so Back and a bookmark come back to the same place", async () => {
    await page.goto(`${vault.origin}/console/#/org/${ORG}`);
    await heading(`Systems of ${ORG}`);
    await page.getByRole("button", { name: /^Bytes/ }).click();
    await page.getByRole("button", { name: /^Bytes/ }).click(); // descending
    await page.getByRole("button", { name: "Next" }).click();
    expect(page.url()).toContain("sort=-bytes_used");
    expect(page.url()).toContain("page=2");
    const secondPage = await page.locator("tbody tr").first().getAttribute("data-key");

    await page.locator("tbody tr a").first().click();
    await heading(/^System /);
    await page.goBack();
    await heading(`Systems of ${ORG}`);
    expect(await page.locator(".pager").textContent()).toContain("Page 2 of");
    expect(await page.locator("tbody tr").first().getAttribute("data-key")).toBe(secondPage);
    expect(await page.locator("th[aria-sort=descending]").textContent()).toContain("Bytes");

    await page.locator("#system-filter").fill(quiet.system_key);
    await page.locator("#status-filter").selectOption("active");
    expect(page.url()).toContain(`q=${quiet.system_key}`);
    expect(page.url()).not.toContain("page=2"); // a new filter starts at page 1
    const bookmark = page.url();
    const tab = await context.newPage(); // a new tab has no token (sessionStorage is per tab): sign in, then the bookmarked view
    try {
      await tab.goto(bookmark);
      await tab.locator("#token").fill(adminToken);
      await tab.getByRole("button", { name: "Sign in" }).click();
      await tab.locator("h1", { hasText: `Systems of ${ORG}` }).waitFor();
      expect(await tab.locator("#system-filter").inputValue()).toBe(quiet.system_key);
      expect(await tab.locator("#status-filter").inputValue()).toBe("active");
      expect(await tab.locator("tbody tr").count()).toBe(1);
    } finally {
      await tab.close();
    }
  });

  it("gives up on a vault that never answers after 15 seconds, and Retry loads the view once it answers", async () => {
    await page.route("**/api/admin/health*", () => {}); // never fulfilled: a hung vault
    try {
      await page.goto(`${vault.origin}/console/#/`);
      await page.reload();
      await page.getByRole("alert").filter({ hasText: "did not answer within 15 seconds" }).waitFor({ timeout: 40_000 });
      expect(await page.locator(".loading").count()).toBe(0);
      expect(await page.evaluate<string | null>("document.activeElement && document.activeElement.textContent")).toBe("Retry");
    } finally {
      await page.unroute("**/api/admin/health*");
    }
    await page.keyboard.press("Enter"); // Retry has the focus
    await heading("Fleet health");
  });

  it("says what retired means, offers only purge on a retired system, and keeps its backups downloadable", async () => {
    await page.goto(`${vault.origin}/console/#/system/${retiree.system_key}`);
    await heading(`System ${retiree.system_key}`);
    expect(await page.locator(".facts").textContent()).toMatch(/1 of 10 retention slots used/);
    await page.getByRole("button", { name: "Retire", exact: true }).click();
    await page.locator("dialog[open]").getByRole("button", { name: "Retire system" }).click();
    await page.locator(".facts .badge.deleted", { hasText: "retired" }).waitFor();
    expect(await page.locator(".notice").textContent()).toContain("This system is retired.");
    const offered = await buttonTexts();
    expect(offered).toContain("Purge…");
    for (const gone of ["Retire", "Move…", "Suspend", "Rotate secret"]) expect(offered).not.toContain(gone);
    expect(offered).toContain("Download");
    expect(await applianceListStatus(vault.origin, retiree)).toBe(401);
  });

  it("purges only after the key is typed, then the system is gone", async () => {
    await page.getByRole("button", { name: "Purge…" }).click();
    const dialog = page.locator("dialog[open]");
    const purge = dialog.getByRole("button", { name: "Purge system" });
    expect(await purge.isDisabled()).toBe(true);
    await dialog.getByRole("textbox").fill(retiree.system_key.slice(0, -1));
    expect(await purge.isDisabled()).toBe(true);
    await dialog.getByRole("textbox").fill(retiree.system_key);
    await purge.click();
    await page.locator(".notice", { hasText: "This system is purged." }).waitFor(); // its page now shows what the recovery window keeps
    expect((await operatorCall(vault.origin, adminToken, "GET", `/api/admin/systems/${retiree.system_key}/backups`)).status).toBe(404);
  });

  it("moves a system to an organisation picked from the list, backups and all", async () => {
    await page.goto(`${vault.origin}/console/#/system/${mover.system_key}`);
    await heading(`System ${mover.system_key}`);
    await page.getByRole("button", { name: "Move…" }).click();
    const dialog = page.locator("dialog[open]");
    await dialog.waitFor();
    expect(await page.evaluate<string[]>("[...document.querySelectorAll('dialog[open] datalist option')].map((o) => o.value)")).toContain(OTHER_ORG);
    await dialog.getByRole("combobox").fill(OTHER_ORG); // a text field with suggestions
    await dialog.getByRole("button", { name: "Move system" }).click();
    await page.locator(".facts a", { hasText: OTHER_ORG }).waitFor();
    const listing = await operatorCall(vault.origin, adminToken, "GET", `/api/admin/systems/${mover.system_key}/backups`);
    expect(listing.body.data.backups.map((b: { filename: string }) => b.filename)).toEqual(["mover.tar.gz"]);
  });

  it("asks before Escape closes a secret shown once, and offers retire, move and purge to admins only", async () => {
    await page.goto(`${vault.origin}/console/#/system/${quiet.system_key}`);
    await heading(`System ${quiet.system_key}`);
    await page.getByRole("button", { name: "Rotate secret" }).click();
    await page.locator("dialog[open]").getByRole("button", { name: "Rotate secret" }).click();
    const secretDialog = page.locator("dialog.secret-dialog[open]");
    await secretDialog.waitFor();
    const [, secret] = await secretDialog.locator(".secret-value").allTextContents();
    await page.keyboard.press("Escape");
    await secretDialog.getByRole("alert").filter({ hasText: "Close without the secret?" }).waitFor();
    expect(await secretDialog.isVisible()).toBe(true);
    await page.keyboard.press("Escape"); // again: still asked, still open
    await secretDialog.getByRole("button", { name: "Keep it open" }).click();
    expect(await secretDialog.isVisible()).toBe(true);
    expect(await secretDialog.locator(".close-question").count()).toBe(0);
    expect(await secretDialog.locator(".secret-value").nth(1).textContent()).toBe(secret);
    await secretDialog.getByRole("button", { name: /I have stored it/ }).click();
    await secretDialog.waitFor({ state: "detached" });
    quiet = { ...quiet, system_secret: secret! };
    expect(await applianceListStatus(vault.origin, quiet)).toBe(200);

    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(managerToken);
    await heading("Fleet health");
    await page.goto(`${vault.origin}/console/#/system/${quiet.system_key}`);
    await heading(`System ${quiet.system_key}`);
    const offered = await buttonTexts();
    for (const adminOnly of ["Retire", "Move…", "Purge…"]) expect(offered).not.toContain(adminOnly);
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(adminToken);
    await heading("Fleet health");
  });

  it("links audit targets to their system, and keeps the audit filter in the URL", async () => {
    await page.goto(`${vault.origin}/console/#/org/${ORG}/audit`);
    await heading(`Audit trail of ${ORG}`);
    await page.locator("#audit-action").fill("system.rotate");
    await page.locator("#audit-action").press("Enter"); // applied by the vault over the whole trail
    await heading(`Audit trail of ${ORG}`);
    expect(page.url()).toContain("action=system.rotate");
    await page.reload();
    await heading(`Audit trail of ${ORG}`);
    expect(await page.locator("#audit-action").inputValue()).toBe("system.rotate");
    expect(new Set(await page.locator("tbody td:nth-child(3)").allTextContents())).toEqual(new Set(["system.rotate"]));
    const link = page.locator("tbody a.target", { hasText: quiet.system_key }).first();
    await link.click();
    await heading(`System ${quiet.system_key}`);
  });

  it("creates a system for an appliance already in the field: its old id and secret work on the older protocol at once", async () => {
    await page.goto(`${vault.origin}/console/`);
    await page.locator("#token, #who:not([hidden])").first().waitFor();
    if (await page.locator("#who").isVisible()) await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(adminToken);
    await heading("Fleet health");
    await page.goto(`${vault.origin}/console/#/org/${ORG}`);
    await heading(`Systems of ${ORG}`);
    await page.getByRole("button", { name: "New system" }).click();
    const legacyId = `field-${Date.now()}`;
    await page.locator("#new-legacy-id").fill(legacyId);
    await page.locator("#new-legacy-secret").fill("the appliance's old secret");
    await page.locator("dialog[open]").getByRole("button", { name: "Create system" }).click();
    const secretDialog = page.locator("dialog.secret-dialog[open]");
    await secretDialog.waitFor();
    await secretDialog.getByRole("button", { name: /I have stored it/ }).click();
    await secretDialog.waitFor({ state: "detached" });
    expect(await page.content()).not.toContain("the appliance's old secret");

    const older = (secret: string) => fetch(`${vault.origin}/enterprise/api/v2/backup/`, { headers: { Authorization: basicAuthorization(legacyId, secret) } });
    const listed = await older("the appliance's old secret");
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual({ backups: [] });
    const wrong = await older("another secret");
    expect(wrong.status).toBe(401);
    await wrong.arrayBuffer();
    await page.locator("#system-filter").fill(legacyId); // found by the id the appliance knows
    await expect.poll(() => page.locator("tbody tr[data-key]").count()).toBe(1);
  });
});

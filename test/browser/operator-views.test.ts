// Operator tokens and the audit trail's server-side filters in the console, in Chromium against
// `npm start`: an admin lists tokens a page at a time, makes one (shown once, Escape asks first) and
// revokes it; others are offered nothing; the audit view finds an event beyond the first page, by
// action, target and date range, with the filters in the URL (Back, bookmarks) and targets as links.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { axeViolations } from "./axe.ts";
import { horizontalOverflow, screenshot, screenshotDir } from "./browser.ts";
import { buttonTexts, type ConsoleRig, heading, signIn, startRig } from "./console-page.ts";
import { type CreatedSystem, createSystem, operatorCall, type SeededBackup, uploadBackup } from "./vault.ts";

const ORG = "umbrella";
const LINKS = 120; // backup.link events: more than one page of 100
const SEEDED_TOKENS = 100; // with the CLI's two and npm start's: more than one page of 100

let rig: ConsoleRig;
let system: CreatedSystem;
let backup: SeededBackup;
let shots: string;

beforeAll(async () => {
  shots = await screenshotDir();
  rig = await startRig({ "views-reader": ["reader", [ORG]], "views-admin": ["admin", [ORG, "hooli"]] });
  const { origin } = rig.vault;
  system = await createSystem(origin, rig.adminToken, ORG);
  backup = await uploadBackup(origin, system, "umbrella.tar.gz");
  await api("POST", `/api/admin/systems/${system.system_key}/suspend`);
  await api("POST", `/api/admin/systems/${system.system_key}/resume`);
  for (let i = 0; i < LINKS; i++) await api("POST", `/api/admin/systems/${system.system_key}/backups/${backup.id}/link`);
  for (let i = 0; i < SEEDED_TOKENS; i++) {
    const made = await api("POST", "/api/admin/tokens", { name: `seeded-${String(i).padStart(3, "0")}`, role: "reader", organizations: [ORG] });
    if (made.status !== 201) throw new Error(`seeding tokens: ${made.status} ${JSON.stringify(made.body)}`);
  }
}, 600_000);

afterAll(async () => {
  await rig?.stop();
});

async function api(method: string, path: string, body?: unknown, token = rig.adminToken) {
  const answer = await operatorCall(rig.vault.origin, token, method, path, body);
  if (answer.status >= 500) throw new Error(`${method} ${path}: ${answer.status}`);
  return answer;
}

const view = (hash: string) => rig.page.goto(`${rig.vault.origin}/console/${hash}`);
const actionsShown = () => rig.page.locator("tbody td[data-label=Action]").allTextContents();

describe("operator tokens in the console", () => {
  it("offers tokens to admins only: a reader has no link, and the view says who manages tokens", async () => {
    const { page } = rig;
    await signIn(page, rig.vault.origin, rig.tokens["views-reader"]!);
    expect(await page.getByRole("link", { name: "Operator tokens" }).count()).toBe(0);
    await view("#/tokens");
    await heading(page, "Operator tokens");
    expect(await page.locator(".notice").textContent()).toContain("Only an admin makes, lists and revokes operator tokens");
    expect(await buttonTexts(page)).not.toContain("New token");
  });

  it("lists the tokens a page at a time, with their status, and filters them by status", async () => {
    const { page } = rig;
    await signIn(page, rig.vault.origin, rig.adminToken);
    await page.getByRole("link", { name: "Operator tokens" }).click();
    await heading(page, "Operator tokens");
    expect(await page.locator("#view-notice").count()).toBe(0);
    expect(await page.locator("p[aria-live]").textContent()).toBe("100 token(s) loaded; more can be loaded.");
    await page.getByRole("button", { name: "Load more tokens" }).click();
    await page.locator("p[aria-live]", { hasText: "all of them" }).waitFor();
    expect(await page.locator("p[aria-live]").textContent()).toBe(`${SEEDED_TOKENS + 3} token(s) loaded, all of them.`);
    await page.locator("#token-status").selectOption("revoked");
    expect(page.url()).toContain("status=revoked");
    expect(await page.locator(".table-block .empty").isVisible()).toBe(true);
  });

  it("makes a token, shows it once (Escape asks first), refuses a name in use in plain words, and revokes it", async () => {
    const { page } = rig;
    await view("#/tokens");
    await heading(page, "Operator tokens");
    await page.getByRole("button", { name: "New token" }).click();
    const form = page.locator("dialog[open]");
    await form.getByLabel("Name").fill("jo.support");
    await form.getByLabel("Role").selectOption("manager");
    await form.getByLabel("Only these:").check();
    await form.getByLabel("Organisation ids").fill(ORG);
    await form.getByLabel("Expires after (days)").fill("30");
    await checkAxe("new-token dialog");
    await form.getByRole("button", { name: "Create token" }).click();
    const secretDialog = page.locator("dialog.secret-dialog[open]");
    await secretDialog.waitFor();
    expect(await secretDialog.textContent()).toContain("Only its salted hash is stored");
    await page.keyboard.press("Escape");
    expect(await secretDialog.locator(".close-question").textContent()).toContain("Close without the token?");
    await secretDialog.getByRole("button", { name: "Keep it open" }).click();
    const token = (await secretDialog.locator(".secret-value").textContent())!;
    expect(token).toMatch(/^op_/);
    await secretDialog.getByRole("button", { name: /I have stored it/ }).click();
    await page.locator("#view-notice", { hasText: "Token jo.support created (manager, umbrella)" }).waitFor();
    expect(await page.content()).not.toContain(token);
    const who = await api("GET", "/api/admin/token", undefined, token);
    expect([who.status, who.body.data.name, who.body.data.role]).toEqual([200, "jo.support", "manager"]);

    await page.getByRole("button", { name: "New token" }).click();
    await form.getByLabel("Name").fill("jo.support");
    await form.getByRole("button", { name: "Create token" }).click();
    await page.locator("#action-problem", { hasText: "A live token is already called “jo.support”: choose another name, or revoke that token first." }).waitFor();

    await page.getByRole("button", { name: "Load more tokens" }).click();
    await page.getByRole("button", { name: "Revoke jo.support" }).click();
    await page.locator("dialog[open]").getByRole("button", { name: "Revoke jo.support" }).click();
    await page.locator("#view-notice", { hasText: "Token jo.support revoked" }).waitFor();
    expect((await api("GET", "/api/admin/token", undefined, token)).status).toBe(401);
    await page.locator("#token-status").selectOption("revoked");
    expect(await page.locator("tbody td[data-label=Name]").allTextContents()).toEqual(["jo.support"]);
    await page.locator("#token-status").selectOption("");
    await screenshot(page, shots, "tokens", { fullPage: false });
    await checkViews("tokens");
  });

  it("makes a token for every organisation, and finds its creation in the fleet-wide trail", async () => {
    const { page } = rig;
    await view("#/tokens");
    await heading(page, "Operator tokens");
    await page.getByRole("button", { name: "New token" }).click();
    await page.locator("dialog[open]").getByLabel("Name").fill("fleet.prometheus");
    await page.locator("dialog[open]").getByRole("button", { name: "Create token" }).click(); // every organisation is the default
    await page.locator("dialog.secret-dialog[open]").getByRole("button", { name: /I have stored it/ }).click();
    await page.locator("#view-notice", { hasText: "Token fleet.prometheus created (reader, every organisation)" }).waitFor();
    await page.getByRole("link", { name: "Audit trail of tokens for every organisation" }).click();
    await heading(page, "Audit trail of every organisation's tokens");
    const row = page.locator("tbody tr", { has: page.locator("td[data-label=Target]", { hasText: "fleet.prometheus" }) });
    expect(await row.locator("td[data-label=Action]").textContent()).toBe("token.create");
    expect(await row.locator("td[data-label=Target] a").getAttribute("href")).toBe("#/tokens");
  });
});

describe("operator tokens for an admin of some organisations", () => {
  it("offers a box per own organisation, never every organisation, and lists only tokens within its scope", async () => {
    const { page } = rig;
    await signIn(page, rig.vault.origin, rig.tokens["views-admin"]!);
    await view("#/tokens");
    await heading(page, "Operator tokens");
    await page.getByRole("button", { name: "Load more tokens" }).click(); // the seeded hundred and more
    await page.locator("p[aria-live]", { hasText: "all of them" }).waitFor();
    const names = () => page.locator("tbody td[data-label=Name]").allTextContents();
    expect(await names()).not.toContain("local-admin"); // by name, it would be on this first page: it reaches every organisation, beyond this admin's scope
    await page.getByRole("button", { name: /^Name/ }).click(); // descending
    expect(await names()).toContain("views-reader");

    await page.getByRole("button", { name: "New token" }).click();
    const form = page.locator("dialog[open]");
    expect(await form.getByLabel("Every organisation").count()).toBe(0);
    expect(await form.locator("input[type=checkbox]").evaluateAll((boxes) => boxes.map((b) => (b as unknown as { value: string }).value))).toEqual(["hooli", ORG]);
    await form.getByLabel("Name").fill("hooli.night-shift");
    await form.getByRole("button", { name: "Create token" }).click();
    expect(await form.getByRole("alert").textContent()).toBe("Choose at least one organisation."); // nothing sent
    await form.getByLabel("hooli").check();
    await form.getByRole("button", { name: "Create token" }).click();
    const secretDialog = page.locator("dialog.secret-dialog[open]");
    const token = (await secretDialog.locator(".secret-value").textContent())!;
    await secretDialog.getByRole("button", { name: /I have stored it/ }).click();
    await page.locator("#view-notice", { hasText: "Token hooli.night-shift created (reader, hooli)" }).waitFor();
    const who = await api("GET", "/api/admin/token", undefined, token);
    expect(who.body.data.organizations).toEqual(["hooli"]);
  });
});

describe("the audit trail, filtered by the vault", () => {
  it("finds an event beyond the first page by its action, and Back returns to the unfiltered trail", async () => {
    const { page } = rig;
    await view(`#/org/${ORG}/audit`);
    await heading(page, `Audit trail of ${ORG}`);
    expect(await page.locator("#audit-count").textContent()).toBe("100 event(s) loaded; older ones can be loaded.");
    expect(await actionsShown()).not.toContain("system.suspend"); // page 1 of the loaded events…
    await page.getByRole("button", { name: "Next" }).click();
    expect(await actionsShown()).not.toContain("system.suspend"); // …and page 2: not loaded at all

    await page.locator("#audit-action").fill("system.suspend");
    await page.locator("#audit-action").press("Enter");
    await page.locator("#audit-count", { hasText: "1 event(s) matching the filters loaded, all there are." }).waitFor();
    expect(page.url()).toContain("action=system.suspend");
    expect(await actionsShown()).toEqual(["system.suspend"]);
    expect(await page.locator("tbody td[data-label=Target] a").getAttribute("href")).toBe(`#/system/${system.system_key}`);

    await page.goBack();
    await page.locator("#audit-count", { hasText: "100 event(s) loaded" }).waitFor();
    expect(await page.locator("#audit-action").inputValue()).toBe("");
    await page.goForward();
    await page.locator("#audit-count", { hasText: "1 event(s) matching" }).waitFor();
    expect(await page.locator("#audit-action").inputValue()).toBe("system.suspend");
    await screenshot(page, shots, "audit-filtered", { fullPage: false });
    await checkViews("audit filtered");
  });

  it("filters by a backup as target over pages, links the backup, and keeps the filters for a bookmark", async () => {
    const { page } = rig;
    const target = `${system.system_key}/${backup.id}`;
    await view(`#/org/${ORG}/audit?action=backup.&target=${encodeURIComponent(target)}`);
    await heading(page, `Audit trail of ${ORG}`);
    expect(await page.locator("#audit-target").inputValue()).toBe(target);
    expect(await page.locator("#audit-count").textContent()).toBe("100 event(s) matching the filters loaded; older ones can be loaded.");
    await page.getByRole("button", { name: "Load older events" }).click();
    await page.locator("#audit-count", { hasText: `${LINKS} event(s) matching the filters loaded, all there are.` }).waitFor();
    expect(new Set(await actionsShown())).toEqual(new Set(["backup.link"]));

    const bookmark = page.url();
    const tab = await rig.context.newPage(); // a new tab: sign in, then the bookmarked filters
    try {
      await tab.goto(bookmark);
      await tab.locator("#token").fill(rig.adminToken);
      await tab.getByRole("button", { name: "Sign in" }).click();
      await tab.locator("#audit-count", { hasText: "100 event(s) matching the filters" }).waitFor();
      expect(await tab.locator("#audit-action").inputValue()).toBe("backup.");
    } finally {
      await tab.close();
    }

    await page.getByRole("link", { name: `backup ${backup.id} of ${system.system_key}` }).first().click();
    await heading(page, `System ${system.system_key}`);
    expect(await page.locator("#backups tr.marked").getAttribute("data-key")).toBe(backup.id);
  });

  it("filters by a date range in UTC days, and refuses an end before the start without a request", async () => {
    const { page } = rig;
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    await view(`#/org/${ORG}/audit?since=${day(1)}`);
    await heading(page, `Audit trail of ${ORG}`);
    expect(await page.locator(".empty").textContent()).toBe("No event in this organisation's whole trail matches the filters.");
    await view(`#/org/${ORG}/audit?action=system.resume&since=${day(-1)}&until=${day(1)}`);
    await page.locator("#audit-count", { hasText: "1 event(s) matching" }).waitFor();
    expect(await actionsShown()).toEqual(["system.resume"]);

    const before = page.url();
    await page.locator("#audit-since").fill(day(1));
    await page.locator("#audit-until").fill(day(-1));
    await page.getByRole("button", { name: "Apply" }).click();
    expect(await page.locator("#audit-until").evaluate((e) => (e as unknown as { validationMessage: string }).validationMessage)).toBe("The end date is before the start date.");
    expect(page.url()).toBe(before);
  });
});

/** axe-core on the page as it is, in both themes. */
async function checkAxe(name: string) {
  const found: string[] = [];
  for (const colorScheme of ["light", "dark"] as const) {
    await rig.page.emulateMedia({ colorScheme });
    found.push(...(await axeViolations(rig.page)).map((v) => `${colorScheme} ${name}: ${v}`));
  }
  await rig.page.emulateMedia({ colorScheme: null });
  expect(found).toEqual([]);
}

/** axe-core in both themes, and nothing scrolling sideways at 390 px. */
async function checkViews(name: string) {
  await checkAxe(name);
  const size = rig.page.viewportSize()!;
  await rig.page.setViewportSize({ width: 390, height: 844 });
  try {
    expect(await horizontalOverflow(rig.page), `${name} scrolls sideways at 390 px`).toBeLessThanOrEqual(0);
  } finally {
    await rig.page.setViewportSize(size);
  }
}

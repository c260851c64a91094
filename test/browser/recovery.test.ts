// The recovery window in the console, in Chromium against `npm start`: a deleted backup says until
// when it is recoverable, a manager restores it by keyboard alone, a reader sees the window but
// cannot restore, a refused restore (413, 409) reads in plain words, and an admin purges a system
// and undoes the purge, the new secret shown once (Escape asks first).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { axeViolations } from "./axe.ts";
import { horizontalOverflow, screenshot, screenshotDir } from "./browser.ts";
import { buttonTexts, type ConsoleRig, focusedText, heading, signIn, startRig, tabTo } from "./console-page.ts";
import { applianceListStatus, type CreatedSystem, createSystem, operatorCall, type SeededBackup, uploadBackup } from "./vault.ts";

const ORG = "initech";

let rig: ConsoleRig;
let kept: CreatedSystem; // three backups, one deleted and restored
let doomed: CreatedSystem; // two backups, purged and brought back
let backups: SeededBackup[]; // kept's, oldest first
let shots: string;

beforeAll(async () => {
  shots = await screenshotDir();
  rig = await startRig({ "recovery-manager": ["manager", [ORG]], "recovery-reader": ["reader", [ORG]] });
  kept = await createSystem(rig.vault.origin, rig.adminToken, ORG);
  doomed = await createSystem(rig.vault.origin, rig.adminToken, ORG);
  backups = [];
  for (const name of ["mon.tar.gz", "tue.tar.gz", "wed.tar.gz"]) backups.push(await uploadBackup(rig.vault.origin, kept, name));
  for (const name of ["doomed-1.tar.gz", "doomed-2.tar.gz"]) await uploadBackup(rig.vault.origin, doomed, name);
}, 600_000);

afterAll(async () => {
  await rig?.stop();
});

const systemUrl = (key: string) => `${rig.vault.origin}/console/#/system/${key}`;
const api = (method: string, path: string, token = rig.adminToken) => operatorCall(rig.vault.origin, token, method, path);

describe("the recovery window in the console", () => {
  it("says until when a deleted backup is recoverable, and lists it under Recoverable backups", async () => {
    const { page } = rig;
    await signIn(page, rig.vault.origin, rig.tokens["recovery-manager"]!);
    await page.goto(systemUrl(kept.system_key));
    await heading(page, `System ${kept.system_key}`);
    expect(await page.locator("#recoverable .empty").textContent()).toContain("Nothing of this system is in the recovery window");
    const victim = backups[0]!;
    await page.locator(`#backups tr[data-key="${victim.id}"]`).getByRole("button", { name: `Delete ${victim.filename}` }).click();
    const dialog = page.locator("dialog[open]");
    expect(await dialog.textContent()).toContain("recovery window");
    await dialog.getByRole("button", { name: `Delete ${victim.filename}` }).click();
    await page.locator(`#recoverable tr[data-key="${victim.id}"]`).waitFor();

    const recoverable = await api("GET", `/api/admin/systems/${kept.system_key}/recoverable`);
    const row = recoverable.body.data.backups.find((b: { id: string }) => b.id === victim.id);
    const until = `${new Date(row.erase_after).toISOString().slice(0, 16).replace("T", " ")} UTC`;
    expect(await page.locator("#view-notice").textContent()).toBe(`${victim.filename} was deleted. It is recoverable until ${until}: Restore it from Recoverable backups below until then.`);
    expect(await page.locator(`#recoverable tr[data-key="${victim.id}"] td[data-label="Erased after"]`).textContent()).toBe(until);
    expect(await page.locator(`#recoverable tr[data-key="${victim.id}"] td[data-label="Why"]`).textContent()).toBe("deleted by recovery-manager");
    expect(await page.locator(`#backups tr[data-key="${victim.id}"]`).count()).toBe(0);
  });

  it("shows a reader the recoverable backups, with no Restore", async () => {
    const { page } = rig;
    await signIn(page, rig.vault.origin, rig.tokens["recovery-reader"]!);
    await page.goto(systemUrl(kept.system_key));
    await heading(page, `System ${kept.system_key}`);
    await page.locator(`#recoverable tr[data-key="${backups[0]!.id}"]`).waitFor();
    expect((await buttonTexts(page)).filter((text) => /Restore|Delete|Undo/.test(text))).toEqual([]);
  });

  it("says in plain words why a restore was refused: the quota (413), or a conflicting state (409)", async () => {
    const { page } = rig;
    await signIn(page, rig.vault.origin, rig.tokens["recovery-manager"]!);
    const victim = backups[0]!;
    const answers = [
      [413, "organization storage quota exceeded", `${victim.filename} was not restored: the organisation's storage quota has no room for its`],
      [409, "another change to this system is in progress", `${victim.filename} was not restored: the system is busy with another change (another change to this system is in progress). Try again in a moment.`],
    ] as const;
    for (const [status, message, said] of answers) {
      // The vault's refusal, answered by the test: a full 100 GiB quota cannot be seeded here.
      await page.route("**/recoverable/*/restore", (route) => route.fulfill({ status, contentType: "application/json", body: JSON.stringify({ code: status, message, data: null }) }));
      try {
        await page.goto(systemUrl(kept.system_key));
        await page.reload(); // drawn afresh, without the previous refusal
        await heading(page, `System ${kept.system_key}`);
        await page.getByRole("button", { name: `Restore ${victim.filename}` }).click();
        const alert = page.locator("#action-problem");
        await alert.waitFor();
        expect(await alert.textContent()).toContain(said);
        expect(await alert.getAttribute("role")).toBe("alert");
      } finally {
        await page.unroute("**/recoverable/*/restore");
      }
    }
    expect(await page.locator(`#recoverable tr[data-key="${victim.id}"]`).count()).toBe(1); // nothing restored
  });

  it("restores a backup by keyboard alone: find the system, its recoverable backup, Restore, back in the list", async () => {
    const victim = backups[0]!;
    const fresh = await rig.browser.newContext({ viewport: { width: 1280, height: 860 } }); // signed out: no mouse needed at all
    const page = await fresh.newPage();
    try {
    await signIn(page, rig.vault.origin, rig.tokens["recovery-manager"]!); // typed, then Enter
    await tabTo(page, "All organisations");
    await page.keyboard.press("Enter");
    await heading(page, "Organisations");
    await tabTo(page, ORG);
    await page.keyboard.press("Enter");
    await heading(page, `Systems of ${ORG}`);
    await tabTo(page, "Filter", { byLabel: true });
    await page.keyboard.type(kept.system_key);
    await tabTo(page, kept.system_key);
    await page.keyboard.press("Enter");
    await heading(page, `System ${kept.system_key}`);
    await tabTo(page, `Restore ${victim.filename}`);
    await page.keyboard.press("Space");
    await page.locator(`#backups tr[data-key="${victim.id}"]`).waitFor();
    expect(await focusedText(page)).toBe(`System ${kept.system_key}`); // the redrawn view's heading has the focus
    expect(await page.locator("#view-notice").textContent()).toContain(`${victim.filename} was restored`);
    expect(await page.locator(`#recoverable tr[data-key="${victim.id}"]`).count()).toBe(0);
    expect(await page.locator("#backups tbody .filename").allTextContents()).toEqual(backups.map((b) => b.filename).reverse());
    const listing = await api("GET", `/api/admin/systems/${kept.system_key}/backups`);
    expect(listing.body.data.backups.find((b: { id: string }) => b.id === victim.id)?.sha256).toBe(victim.sha256);
    } finally {
      await fresh.close();
    }
  });

  it("purges a system, shows what the window keeps, and undoes the purge with a new secret shown once", async () => {
    const { page } = rig;
    await signIn(page, rig.vault.origin, rig.adminToken);
    await page.goto(systemUrl(doomed.system_key));
    await heading(page, `System ${doomed.system_key}`);
    await page.getByRole("button", { name: "Purge…" }).click();
    const purge = page.locator("dialog[open]");
    expect(await purge.textContent()).toContain("undo the purge");
    await purge.getByRole("textbox").fill(doomed.system_key);
    await purge.getByRole("button", { name: "Purge system" }).click();
    await page.locator(".notice", { hasText: "This system is purged." }).waitFor();
    await heading(page, `System ${doomed.system_key}`);
    expect(await page.locator("#view-notice").textContent()).toMatch(/^System .+ purged\. Its backups are recoverable until \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(await page.locator("#recoverable td[data-label=Why]").allTextContents()).toEqual([expect.stringMatching(/^purged with the system by /), expect.stringMatching(/^purged with the system by /)]);
    expect((await buttonTexts(page)).filter((text) => text.startsWith("Restore"))).toEqual([]); // a purge is undone as a whole
    expect(await applianceListStatus(rig.vault.origin, doomed)).toBe(401);
    await screenshot(page, shots, "purged", { fullPage: false });
    await checkViews(page, "purged");

    await page.getByRole("button", { name: "Undo purge" }).click();
    await page.locator("dialog[open]").getByRole("button", { name: "Undo purge" }).click();
    const secretDialog = page.locator("dialog.secret-dialog[open]");
    await secretDialog.waitFor();
    expect(await secretDialog.textContent()).toContain("will not be shown again");
    await page.keyboard.press("Escape"); // asks first: the old secret never works again
    await secretDialog.locator(".close-question").waitFor();
    expect(await secretDialog.isVisible()).toBe(true);
    await secretDialog.getByRole("button", { name: "Keep it open" }).click();
    const [key, secret] = await secretDialog.locator(".secret-value").allTextContents();
    expect(key).toBe(doomed.system_key);
    expect(await secretDialog.textContent()).toContain("2 backup(s) are back");
    await secretDialog.getByRole("button", { name: /I have stored it/ }).click();
    await secretDialog.waitFor({ state: "detached" });
    await page.locator(".facts .badge.active").waitFor();
    expect(await page.locator("#backups tbody .filename").allTextContents()).toEqual(["doomed-2.tar.gz", "doomed-1.tar.gz"]);
    expect(await page.content()).not.toContain(secret);
    await expect.poll(() => applianceListStatus(rig.vault.origin, { ...doomed, system_secret: secret! }), { timeout: 45_000, interval: 1_000 }).toBe(200);
    expect(await applianceListStatus(rig.vault.origin, doomed)).toBe(401); // the old secret never works again
  });

  it("has no axe-core violation and nothing scrolling sideways at 390 px on a system with recoverable backups", async () => {
    const { page } = rig;
    await api("DELETE", `/api/admin/systems/${kept.system_key}/backups/${backups[1]!.id}`);
    await page.goto(systemUrl(kept.system_key));
    await heading(page, `System ${kept.system_key}`);
    await page.locator(`#recoverable tr[data-key="${backups[1]!.id}"]`).waitFor();
    await page.locator("#recoverable").scrollIntoViewIfNeeded();
    await screenshot(page, shots, "recoverable", { fullPage: false });
    await checkViews(page, "recoverable");
  });

  it("shows on the fleet's health what each organisation's recovery window holds, beside its storage", async () => {
    const { page } = rig;
    // The hourly evaluation lists the organisation; the recoverable bytes are read live with each page.
    const cron = await fetch(`${rig.vault.origin}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("17 * * * *")}&time=${Date.now()}`);
    await cron.arrayBuffer();
    expect(cron.status).toBe(200);
    await page.goto(`${rig.vault.origin}/console/#/`);
    await page.reload();
    await heading(page, "Fleet health");
    expect(await page.locator(`tr[data-key="${ORG}"] .recoverable`).textContent()).toBe(`+ ${(backups[1]!.bytes.length / 1024).toFixed(1)} KiB recoverable`);
  });
});

/** axe-core in both themes, and the same view at 390 px wide (it must not scroll sideways). */
async function checkViews(page: ConsoleRig["page"], name: string) {
  const found: string[] = [];
  for (const colorScheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme });
    found.push(...(await axeViolations(page)).map((v) => `${colorScheme} ${name}: ${v}`));
  }
  await page.emulateMedia({ colorScheme: null });
  const size = page.viewportSize()!;
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    expect(await horizontalOverflow(page), `${name} scrolls sideways at 390 px`).toBeLessThanOrEqual(0);
  } finally {
    await page.setViewportSize(size);
  }
  expect(found).toEqual([]);
}

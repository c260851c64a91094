// `npm start`: make sure a demo system exists in local KV, print how to call the API with it
// the way the appliances do, then run `wrangler dev` (extra arguments are passed through).
import { constants } from "node:os";
import { relative } from "node:path";
import { demoFileFor, ensureDemoSystem } from "./lib/demo.mjs";
import { apiBase, consoleUrl, DEV_DEFAULTS, devArguments, flagValue, hasFlag, operatorWalkthrough, walkthrough } from "./lib/dev.mjs";
import { ensureLocalAdminToken, ensureLocalLinkSecret, localTokenFileFor } from "./lib/local-operator.mjs";
import { operatorDb } from "./lib/d1.mjs";
import { describeTarget, kvTarget, systemsKv } from "./lib/kv.mjs";
import { spawnWrangler } from "./harness/wrangler.mjs";

/** Runs wrangler dev in the foreground; resolves with its exit status (128 + signal number if killed). */
function runDev(args) {
  const child = spawnWrangler(args, { cwd: process.cwd(), stdio: "inherit" });
  const forward = (signal) => child.kill(signal);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, forward);
  return new Promise((resolve) => {
    child.on("error", (error) => {
      process.stderr.write(`start: cannot run wrangler: ${error.message}\n`);
      resolve(1);
    });
    child.on("exit", (code, signal) => resolve(code ?? 128 + (constants.signals[signal] ?? 0)));
  });
}

async function main(userArgs) {
  if (hasFlag(userArgs, "remote", "r")) {
    process.stderr.write("start: --remote uses the deployed KV namespace; no local demo system is made (see `npm run system -- create --remote`).\n");
    process.stdout.write(`Operator console: ${consoleUrl(userArgs)}\n\n`);
  } else {
    const persistTo = flagValue(userArgs, "persist-to") ?? DEV_DEFAULTS["persist-to"];
    const kv = systemsKv(kvTarget({ persistTo, env: flagValue(userArgs, "env", "e") }));
    const file = demoFileFor(persistTo);
    const wroteSecret = await ensureLocalLinkSecret();
    const operator = await ensureLocalAdminToken({ persistTo, env: flagValue(userArgs, "env", "e") });
    const { credentials, reused } = await ensureDemoSystem(kv, file, operatorDb(kv.target));
    const tokenFile = localTokenFileFor(persistTo);
    process.stdout.write(
      [
        ``,
        `Demo system in ${describeTarget(kv.target)}, credentials ${reused ? "reused from" : "new, saved in"} ${displayPath(file)}:`,
        `  system_key       ${credentials.system_key}`,
        `  system_secret    ${credentials.system_secret}`,
        `  organization_id  ${credentials.organization_id}`,
        ``,
        `Call the API as the appliances do, from another terminal once wrangler says "Ready":`,
        ``,
        walkthrough(credentials, apiBase(userArgs), flagValue(userArgs, "local-protocol") === "https"),
        ``,
        `Operator API: an all-organisation admin token, ${operator.reused ? "reused from" : "new, saved in"} ${displayPath(tokenFile)}:`,
        ``,
        operatorWalkthrough(operator.token, apiBase(userArgs), credentials),
        ``,
        `Operator console: ${consoleUrl(userArgs)}   (sign in with the admin token above)`,
        ``,
        wroteSecret ? `Download links are signed with a new local secret in .dev.vars (DOWNLOAD_LINK_SECRET).\n` : ``,
        `More systems: npm run system -- create --org ORG   (npm run system -- --help)`,
        ``,
      ].join("\n"),
    );
  }
  return runDev(devArguments(userArgs));
}

/** A path relative to the working directory when it lies inside it, absolute otherwise. */
function displayPath(path) {
  const shown = relative(process.cwd(), path);
  return shown && !shown.startsWith("..") ? shown : path;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`start: ${error?.message ?? error}\n`);
  process.exitCode = 1;
}

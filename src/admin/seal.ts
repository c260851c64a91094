// The first step of a purge or a move: seal the system in every ledger it may upload to, and
// wait until none of its upload reservations is open (each ends committed, released, or refused
// because of the seal, its object taken back). A purge or move never empties a prefix into
// which an upload could still be answered 201.

import type { SystemScope } from "../backups/keys";
import { UnavailableError } from "../errors";
import { sealSystem } from "../ledger/client";
import type { OrgLedger } from "../ledger/org-ledger";
import type { SealReason } from "../ledger/seals";

/** How long a purge or move waits for the system's uploads in flight before it answers 503 (to be repeated). */
export const DRAIN_WAIT_MS = 3_000;
const POLL_MS = 100;

/** Seals the system in each scope's ledger and waits for its open reservations to end; 503 (repeat) when they do not in time. */
export async function sealAndDrain(ledger: DurableObjectNamespace<OrgLedger>, scopes: SystemScope[], reason: SealReason, waitMs = DRAIN_WAIT_MS): Promise<void> {
  const giveUpAt = Date.now() + waitMs;
  for (;;) {
    let open = 0;
    for (const scope of scopes) open += await sealSystem(ledger, scope, reason);
    if (open === 0) return;
    if (Date.now() + POLL_MS > giveUpAt) throw new UnavailableError("uploads to this system are still in progress: repeat the request");
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

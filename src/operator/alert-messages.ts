// Alert webhooks (docs/fleet-health.md, "Receiving an alert"): the JSON each target receives and
// its signature, `X-Vault-Signature: sha256=<hex HMAC-SHA-256 of timestamp + "." + body>` under
// the target's own secret (its UTF-8 bytes), with the timestamp in `X-Vault-Timestamp`.

import { bytesToHex } from "../platform/codec";
import type { HealthTransition } from "./health-sweep";

/** What a webhook receives. */
export interface AlertPayload {
  /** One id per alert: a firing alert and the resolution that ends it carry the same. */
  alert: string;
  status: "firing" | "resolved";
  organization_id: string;
  system_key: string | null;
  name: string | null;
  health: string;
  since: string;
  /** The system in the operator API (a path on the vault's own origin). */
  url: string | null;
}

/** A queued delivery: one payload to one target, retried until 24 hours after `first_at`. */
export interface AlertDelivery {
  organization_id: string;
  target_id: string;
  /** The JSON body, exactly as it is sent and signed. */
  body: string;
  /** When the alert was raised (ms): retries stop 24 hours later. */
  first_at: number;
}

/** How long a delivery is retried (FLEET: 24 hours). */
export const DELIVERY_WINDOW_MS = 24 * 3_600_000;

/** The payload of a health transition; `firingSince` is when the alert it ends began (for resolved). */
export function transitionPayload(t: HealthTransition): AlertPayload {
  return {
    alert: `${t.system_key}@${t.alert_since}`,
    status: t.status,
    organization_id: t.organization_id,
    system_key: t.system_key,
    name: t.name,
    health: t.health,
    since: t.since,
    url: `/api/admin/systems/${t.system_key}`,
  };
}

/** The hex HMAC-SHA-256 of `timestamp + "." + body` under the secret's UTF-8 bytes. */
export async function alertSignature(secret: string, timestamp: string, body: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return bytesToHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${body}`))));
}

/** The headers of a signed delivery sent at `now` (ms): the timestamp is in seconds since the epoch. */
export async function signedHeaders(secret: string, body: string, now: number): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(now / 1000));
  return {
    "Content-Type": "application/json",
    "User-Agent": "backup-vault-alerts/1",
    "X-Vault-Timestamp": timestamp,
    "X-Vault-Signature": `sha256=${await alertSignature(secret, timestamp, body)}`,
  };
}

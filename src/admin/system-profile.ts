// The operator's name and notes of a system: validated here, stored in `system_profile` with
// their audit event in one D1 batch. Never set by the appliance.

import { ApiError } from "../errors";
import { auditStatement } from "../operator/audit";
import { d1 } from "../operator/d1";
import { NAME_MAX, NOTES_MAX, profileTextStatement } from "../operator/system-profile";
import type { Actor, RecordStores } from "./system-records";

/** The name/notes change a PATCH body asks for (null: none); 400 when a value is not a bounded string or null. */
export function profileChange(body: Record<string, unknown>): { name?: string | null; notes?: string | null } | null {
  const change: { name?: string | null; notes?: string | null } = {};
  if (body.name !== undefined) change.name = boundedText(body.name, "name", NAME_MAX, false);
  if (body.notes !== undefined) change.notes = boundedText(body.notes, "notes", NOTES_MAX, true);
  return Object.keys(change).length > 0 ? change : null;
}

function boundedText(value: unknown, field: string, max: number, multiline: boolean): string | null {
  if (value === null) return null;
  if (typeof value !== "string") throw new ApiError(400, `${field} must be a string or null`);
  const text = value.trim();
  if ([...text].length > max) throw new ApiError(400, `${field} must be at most ${max} characters`);
  // Control characters would corrupt a console line or a metrics label; notes may hold line breaks.
  const forbidden = multiline ? /[\u0000-\u0008\u000b-\u001f\u007f]/ : /[\u0000-\u001f\u007f]/;
  if (forbidden.test(text)) throw new ApiError(400, `${field} must not contain control characters`);
  return text === "" ? null : text;
}

/** Writes the name and/or notes of a system with its audit event (`system.profile`), atomically. */
export async function changeSystemProfile(
  stores: RecordStores,
  actor: Actor,
  systemKey: string,
  organizationId: string,
  change: { name?: string | null; notes?: string | null },
): Promise<void> {
  await d1("profile change", () =>
    stores.db.batch([
      profileTextStatement(stores.db, systemKey, change),
      auditStatement(stores.db, { organizationId, actor: actor.name, action: "system.profile", target: systemKey, outcome: "ok", clientIp: actor.clientIp }),
    ]),
  );
}

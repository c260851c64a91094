// Uploads per organisation and result (`upload_counts` in D1): counted in the background as each
// upload is stored or refused, read by the metrics (vault_uploads_total).

import { d1 } from "./d1";

/** Adds one upload with `result` (`stored`, `size`, `quota`, `rate`, …) to the organisation's count. */
export function countUploadStatement(db: D1Database, organizationId: string, result: string): D1PreparedStatement {
  return db
    .prepare("INSERT INTO upload_counts (organization_id, result, count) VALUES (?, ?, 1) ON CONFLICT (organization_id, result) DO UPDATE SET count = count + 1")
    .bind(organizationId, result.slice(0, 40));
}

/** The counts of the organisations in `scope` (`*`: all), in one query. */
export async function readUploadCounts(db: D1Database, scope: string[] | "*"): Promise<{ organization_id: string; result: string; count: number }[]> {
  const statement =
    scope === "*"
      ? db.prepare("SELECT organization_id, result, count FROM upload_counts ORDER BY organization_id, result")
      : db.prepare("SELECT organization_id, result, count FROM upload_counts WHERE organization_id IN (SELECT value FROM json_each(?)) ORDER BY organization_id, result").bind(JSON.stringify(scope));
  const { results } = await d1("upload counts", () => statement.all<{ organization_id: string; result: string; count: number }>());
  return results;
}

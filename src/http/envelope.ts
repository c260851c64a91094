/** The JSON envelope every JSON answer of the API uses. */
export interface Envelope<T> {
  code: number;
  message: string;
  data: T | null;
}

/** Builds an envelope response with the status mirrored in `code`. */
export function envelope<T>(status: number, message: string, data: T | null, headers?: HeadersInit): Response {
  const body: Envelope<T> = { code: status, message, data };
  const h = new Headers(headers);
  h.set("Content-Type", "application/json; charset=utf-8");
  h.set("X-Content-Type-Options", "nosniff");
  // Answers carry backup metadata or credential verdicts: never kept by a shared cache.
  if (!h.has("Cache-Control")) h.set("Cache-Control", "no-store");
  return new Response(JSON.stringify(body), { status, headers: h });
}

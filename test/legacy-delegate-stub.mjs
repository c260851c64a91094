// A stand-in for the existing portal's auth endpoint (LEGACY_AUTH_URL), served to the worker
// tests through miniflare's outbound service (vitest.config.ts): every outbound fetch of the
// worker under test lands here, so nothing leaves the machine. Under http://legacy-auth.test/:
// a Basic password starting `good` is 200, `down` 503, `slow` answers after 6 s (past the
// worker's 5 s deadline), anything else 401. GET /__asked/<user> says how often <user> was asked.
const asked = new Map();

export async function legacyDelegateStub(request) {
  const url = new URL(request.url);
  if (url.hostname !== "legacy-auth.test") return new Response("no network in tests", { status: 502 });
  if (url.pathname.startsWith("/__asked/")) return Response.json({ asked: asked.get(decodeURIComponent(url.pathname.slice(9))) ?? 0 });
  const header = request.headers.get("Authorization") ?? "";
  const decoded = header.startsWith("Basic ") ? Buffer.from(header.slice(6), "base64").toString("utf8") : "";
  const colon = decoded.indexOf(":");
  const [user, password] = colon > 0 ? [decoded.slice(0, colon), decoded.slice(colon + 1)] : ["", ""];
  asked.set(user, (asked.get(user) ?? 0) + 1);
  if (password.startsWith("good")) return Response.json({ ok: true });
  if (password.startsWith("down")) return new Response("unavailable", { status: 503 });
  if (password.startsWith("slow")) {
    await new Promise((resolve) => setTimeout(resolve, 6000));
    return Response.json({ ok: true });
  }
  return new Response("unauthorized", { status: 401 });
}

// Which webhook URLs may receive alerts: https only (http only where ALERT_ALLOW_HTTP is set, for
// local development), no credentials in the URL, bounded length.

/** Why a URL cannot be an alert target, or null when it can. */
export function alertTargetUrlProblem(raw: string, allowHttp: boolean): string | null {
  if (raw.length > 2048) return "url must be at most 2048 characters";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "url must be an absolute URL";
  }
  if (url.protocol !== "https:" && !(allowHttp && url.protocol === "http:")) return allowHttp ? "url must be http or https" : "url must be https";
  if (url.username || url.password) return "url must not carry credentials";
  return null;
}

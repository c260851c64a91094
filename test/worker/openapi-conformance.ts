// Checks every response the worker tests receive against the OpenAPI document the worker
// serves (public/api/openapi.json), so that code and document cannot drift: the path and
// method must be documented (or the answer must be the envelope's 404 / 405), the status must
// be among the operation's responses, a JSON body must match its schema (with `code` equal to
// the status), and the headers the document declares must be present with allowed values.

import { Validator, type Schema } from "@cfworker/json-schema";
import document from "../../public/api/openapi.json";

type Json = Record<string, any>;
const doc = document as Json;

const templates = Object.keys(doc.paths).map((template) => ({
  template,
  pattern: new RegExp("^" + template.replace(/\{[^}]+\}/g, "[^/]+") + "$"),
}));
const validators = new Map<string, Validator>();

/** Throws an Error naming the first way the response departs from the document. Consumes nothing of `response`. */
export async function checkConformance(method: string, url: string, response: Response): Promise<void> {
  const raw = new URL(url).pathname;
  // Runs of slashes count as one and a trailing slash is ignored (docs/api/appliance.md, "Base
  // path"): such a spelling must answer as the documented path does, or as an unknown route.
  const path = raw.replace(/\/{2,}/g, "/").replace(/(.)\/$/, "$1");
  const where = `${method} ${raw} → ${response.status}`;
  const match = templates.find((t) => t.pattern.test(path));
  let spec: Json;
  if (match && path !== raw && response.status === 404) {
    spec = doc.components.responses.NotFound;
  } else if (!match) {
    if (response.status !== 404 && response.status !== 401) throw new Error(`${where}: undocumented path answered other than 404/401`);
    spec = doc.components.responses[response.status === 404 ? "NotFound" : "OperatorUnauthorized"];
  } else {
    const item = doc.paths[match.template];
    const operation = item[method.toLowerCase()] ?? (method === "HEAD" ? item.get : undefined);
    if (!operation) {
      // Not a documented method: 405 with Allow (or, before the route is reached, 401/404 of the plane).
      if (response.status === 405 && !response.headers.get("Allow")) throw new Error(`${where}: 405 without Allow`);
      if (![401, 404, 405, 429].includes(response.status)) throw new Error(`${where}: undocumented method answered ${response.status}`);
      spec = { content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorEnvelope" } } } };
    } else {
      spec = operation.responses[String(response.status)];
      if (!spec) throw new Error(`${where}: status not documented for this operation`);
    }
  }
  spec = resolve(spec);
  for (const [name, header] of Object.entries<Json>(spec.headers ?? {})) {
    const value = response.headers.get(name);
    if (value === null) throw new Error(`${where}: documented header ${name} missing`);
    const schema = resolve(header).schema;
    const instance = schema?.type === "integer" ? Number(value) : value;
    check(`${where} header ${name}`, schema, instance);
  }
  const media = spec.content ? Object.keys(spec.content)[0] : undefined;
  const contentType = response.headers.get("Content-Type") ?? "";
  if (method === "HEAD" || response.status === 304 || !media) return;
  if (media === "application/json") {
    if (!contentType.startsWith("application/json")) throw new Error(`${where}: expected JSON, got ${contentType}`);
    const body = await response.clone().json();
    check(where, spec.content[media].schema, body);
    // The older protocol's successful answers have its own shapes (`{"backups":[…]}`, `{"result":"success"}`), not the envelope.
    const legacyShape = /^\/(enterprise|community)\/api\/v2\/backup(\/|$)/.test(path) && response.status < 300;
    if (path !== "/api/openapi.json" && !legacyShape && (body as Json).code !== response.status) throw new Error(`${where}: envelope code ${(body as Json).code}`);
  } else if (!contentType.startsWith(media)) {
    throw new Error(`${where}: expected ${media}, got ${contentType}`);
  }
}

function check(where: string, schema: Json | undefined, instance: unknown): void {
  if (!schema) return;
  const key = JSON.stringify(schema);
  let validator = validators.get(key);
  if (!validator) {
    validator = new Validator({ ...schema, components: doc.components } as Schema, "2020-12", false);
    validators.set(key, validator);
  }
  const result = validator.validate(instance);
  if (!result.valid) {
    const errors = result.errors.slice(-3).map((e) => `${e.instanceLocation}: ${e.error}`);
    throw new Error(`${where}: does not match the OpenAPI document: ${errors.join("; ")} in ${JSON.stringify(instance).slice(0, 300)}`);
  }
}

function resolve(node: Json): Json {
  let out = node;
  while (out && typeof out.$ref === "string") out = out.$ref.slice(2).split("/").reduce((o: Json, k: string) => o[k], doc);
  return out;
}

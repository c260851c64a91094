import { describe, expect, it } from "vitest";
import { client, json, newOrg } from "./helpers";
import { admin, newOperator } from "./operator-helpers";

describe("smoke", () => {
  it("creates, uploads, lists, links, downloads", async () => {
    const org = newOrg();
    const op = await newOperator("admin", [org]);
    const created = await admin(op, "POST", `/organizations/${org}/systems`, {});
    const c = await json(created);
    console.log(created.status, c);
    const sys = { key: c.data.system_key, secret: c.data.system_secret, org, record: null as any, authorization: "Basic " + btoa(c.data.system_key + ":" + c.data.system_secret) };
    const up = await client(sys).upload("hello world", "b.tar.gz.gpg");
    const u = await json(up);
    console.log(up.status, u);
    const list = await admin(op, "GET", `/organizations/${org}/systems`);
    console.log(list.status, JSON.stringify(await json(list)));
    const link = await admin(op, "POST", `/systems/${sys.key}/backups/${u.data.id}/link`);
    const l = await json(link);
    console.log(link.status, l);
    const dl = await client(sys).list();
    await dl.arrayBuffer();
    const got = await fetchLink(l.data.download_url);
    console.log(got.status, await got.text());
    const audit = await admin(op, "GET", `/organizations/${org}/audit`);
    console.log(JSON.stringify(await json(audit)));
    expect(created.status).toBe(201);
  });
});

async function fetchLink(url: string) {
  const { send } = await import("./helpers");
  return send(new Request(url));
}

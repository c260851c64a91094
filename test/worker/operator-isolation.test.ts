// The isolation property, extended to operator tokens: random sequences of operator requests
// by tokens of random roles and scopes over three organisations, while systems move between
// them. A token reaches exactly the systems whose organisation is in its scope *now*: anything
// else is 404, and no answer ever names an organisation or system outside the scope.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OPERATOR_ROLES, roleAllows, type OperatorRole } from "../../src/auth/operator-token";
import { admin, newFleetOrg, newOperator, type TestOperator } from "./operator-helpers";
import { fcParameters } from "./seeds";

type Action = "show" | "backups" | "suspend" | "resume" | "link" | "move" | "systems" | "audit" | "organizations";
const NEEDS: Record<Action, OperatorRole> = {
  show: "reader", backups: "reader", link: "reader", systems: "reader", audit: "reader", organizations: "reader",
  suspend: "manager", resume: "manager", move: "admin",
};

const step = fc.record({
  token: fc.nat(3),
  action: fc.constantFrom<Action>(...(Object.keys(NEEDS) as Action[])),
  system: fc.nat(2),
  org: fc.nat(2),
});

describe("isolation between organisations, for operator tokens", () => {
  it("a token only ever reaches what is in its scope now", async () => {
    let requests = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 4, maxLength: 14 }), fc.array(fc.subarray([0, 1, 2]), { minLength: 4, maxLength: 4 }), fc.array(fc.constantFrom(...OPERATOR_ROLES), { minLength: 4, maxLength: 4 }), async (steps, scopes, roles) => {
        const fleets = await Promise.all([0, 1, 2].map(() => newFleetOrg()));
        const orgs = fleets.map((f) => f.org);
        const model = new Map(fleets.map((f) => [f.system.key, { org: f.org, backupId: f.backupId }]));
        const keys = [...model.keys()];
        const tokens: { operator: TestOperator; scope: Set<string> }[] = [];
        for (let i = 0; i < 4; i++) {
          const scope = scopes[i].map((n) => orgs[n]);
          tokens.push({ operator: await newOperator(roles[i], scope), scope: new Set(scope) });
        }
        for (const s of steps) {
          const { operator, scope } = tokens[s.token];
          const key = keys[s.system];
          const target = model.get(key)!;
          const org = orgs[s.org];
          const path = {
            show: ["GET", `/systems/${key}`], backups: ["GET", `/systems/${key}/backups`], suspend: ["POST", `/systems/${key}/suspend`],
            resume: ["POST", `/systems/${key}/resume`], link: ["POST", `/systems/${key}/backups/${target.backupId}/link`],
            move: ["POST", `/systems/${key}/move`], systems: ["GET", `/organizations/${org}/systems`], audit: ["GET", `/organizations/${org}/audit`],
            organizations: ["GET", "/organizations"],
          }[s.action];
          const onSystem = !["systems", "audit", "organizations"].includes(s.action);
          const reachable = s.action === "organizations" || (onSystem ? scope.has(target.org) : scope.has(org));
          const destinationOk = s.action !== "move" || scope.has(org);
          const response = await admin(operator, path[0], path[1], s.action === "move" ? { organization_id: org } : undefined);
          requests++;
          const text = await response.text();
          const expected = !reachable ? 404 : !roleAllows(operator.role, NEEDS[s.action]) ? 403 : !destinationOk ? 404 : 200;
          expect(response.status, `${operator.role} ${s.action} ${text}`).toBe(expected);
          if (response.status === 200 && s.action === "move") target.org = org;
          // Nothing outside the scope is ever named, not even in a refusal.
          for (const other of orgs) if (!scope.has(other)) expect(text, `${s.action} names ${other}`).not.toContain(other);
          // (An organisation's own audit trail may name a system that has since moved away.)
          for (const [k, m] of model) if (!scope.has(m.org) && s.action !== "audit") expect(text, `${s.action} names ${k}`).not.toContain(k);
        }
      }),
      fcParameters(12),
    );
    expect(requests).toBeGreaterThan(40);
  }, 240_000);
});

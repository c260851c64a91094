import type { OperatorRole } from "../auth/operator-token";

/** The operator a request authenticated as (set by `authenticateOperator`). */
export interface Operator {
  name: string;
  role: OperatorRole;
  /** `*` for every organisation, else the organisation ids in scope. */
  organizations: string[] | "*";
}

/** Hono's typing for the operator routes. */
export interface AdminEnv {
  Bindings: Env;
  /** `auditOrganization`: the organisation in scope the request resolved to, for the audit of a refusal. */
  Variables: { operator: Operator; auditOrganization?: string };
}

import type { AuthenticatedSystem } from "../auth/credentials";

/** Hono's typing for the appliance routes: the bindings, plus what the middleware puts on the context. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** Set by `authenticate`: the system whose credentials the request carried. */
    system: AuthenticatedSystem;
    /** Set by `requireBackupId`: an id that passed the allowlist. */
    backupId: string;
  };
}

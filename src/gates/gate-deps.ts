import type { Context } from "probot";
import type { Logger } from "pino";
import type { Database } from "../db/database.ts";
import type { Delivery } from "../webhooks/ledger.ts";
import type { AgentHints } from "./agent-hints.ts";

/** What every webhook handler gets, passed in explicitly. */
export interface GateDeps {
  db: Database;
  appId: number;
  now: () => Date;
  log: Logger;
  /** Base URL of this app as reviewers reach it (details links). */
  publicUrl: string;
  /** This app's guesses of who is an agent, to read reviews early (absent: never early). */
  agentHints?: AgentHints;
  /** Called once a handler's transaction that queued GitHub writes has committed. */
  queued?: () => void;
}

export function deliveryOf(context: Context, appId: number): Delivery {
  const payload = context.payload as {
    action?: string;
    installation?: { id: number };
    sender?: { login: string; type: string };
    repository?: { full_name: string };
  };
  return {
    appId,
    id: context.id,
    event: context.name,
    action: payload.action ?? null,
    installationId: payload.installation?.id ?? null,
    sender: payload.sender ? { login: payload.sender.login, type: payload.sender.type } : null,
    repo: payload.repository?.full_name ?? null,
  };
}

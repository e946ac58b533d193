import type { Settings } from "../config/settings.ts";
import type { Keyring } from "../crypto/keyring.ts";
import type { Database } from "../db/database.ts";
import type { DecisionWaiter } from "../proposals/wait.ts";
import type { DeniedUses } from "../tokens/denied-uses.ts";

export interface RequestLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** What an agent's request needs, whether it comes over the HTTP API or as an MCP tool call. */
export interface RequestDeps {
  db: Database;
  now: () => Date;
  settings: Settings;
  waiter: DecisionWaiter;
  log?: RequestLog;
  /** The keyring holding the receipt-signing key; without one (and no AGENT_GATE_KEYS) receipts are null. */
  keyring?: Keyring;
  /** How often a long-poll re-reads without a notification (default 5 s). */
  recheckMs?: number;
  /** The app's public URL as the server knows it once listening (AGENT_GATE_PUBLIC_URL, else its own address). */
  publicUrl?: () => string;
  /** Where denied uses of known tokens are gathered; see src/tokens/denied-uses.ts. */
  deniedUses?: DeniedUses;
}

import type { Database } from "../db/database.ts";
import { parseKeyring, type Keyring } from "../crypto/keyring.ts";
import { signReceipt } from "../crypto/receipts.ts";
import { currentSigner } from "../keys/store.ts";
import type { ProposalRow } from "../proposals/store.ts";

export interface ReceiptDeps {
  db: Database;
  now: () => Date;
  env: NodeJS.ProcessEnv;
  /** The keyring the app resolved at start; else AGENT_GATE_KEYS; else no receipts. */
  keyring?: Keyring;
}

export type ReceiptFor = (row: ProposalRow) => Promise<{ receipt: string; kid: string } | null>;

/**
 * Receipts for decided proposals: an Ed25519 signature by the current key over
 * the decision. Only approvals and rejections are signed; anything else
 * (pending, expired, superseded) has no receipt.
 */
export function receiptIssuer(deps: ReceiptDeps): ReceiptFor {
  const keyring = deps.keyring ?? (deps.env.AGENT_GATE_KEYS ? parseKeyring(deps.env.AGENT_GATE_KEYS) : null);
  return async (row) => {
    if (!keyring) return null;
    if ((row.status !== "approved" && row.status !== "rejected") || !row.decided_at) return null;
    const signer = await currentSigner(deps.db, keyring, deps.now());
    const receipt = signReceipt(
      {
        v: 1,
        proposal_id: row.id,
        installation_id: row.installation_id,
        repo: row.repo,
        kind: row.kind,
        digest: row.digest,
        decision: row.status,
        approvers: approverLogins(row.approvers),
        decided_at: row.decided_at.toISOString(),
        expires_at: row.expires_at.toISOString(),
      },
      signer,
    );
    return { receipt, kid: signer.keyId };
  };
}

/** Approvers as logins, whether stored as strings or as {login} objects. */
export function approverLogins(approvers: unknown): string[] {
  if (!Array.isArray(approvers)) return [];
  return approvers.flatMap((entry: unknown) => {
    if (typeof entry === "string") return [entry];
    if (entry && typeof entry === "object" && typeof (entry as { login?: unknown }).login === "string") {
      return [(entry as { login: string }).login];
    }
    return [];
  });
}

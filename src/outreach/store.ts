import type { Queryable } from "../db/database.ts";
import { openText, seal, type Keyring } from "../crypto/keyring.ts";
import { recordDecision } from "../proposals/recorder.ts";
import type { OutreachState } from "../proposals/state.ts";
import { findProposal, readProposal, type ProposalOf, type ProposalRow, type StoredRow } from "../proposals/store.ts";
import type { OutreachContent } from "./content.ts";

export const OUTREACH_PURPOSE = "outreach";

/** Store an outreach proposal's content sealed to its proposal row and installation. */
export async function insertOutreach(
  tx: Queryable,
  keyring: Keyring,
  proposal: { id: string; installationId: number },
  content: OutreachContent,
  now: Date,
): Promise<void> {
  const sealed = seal(
    keyring,
    { purpose: OUTREACH_PURPOSE, rowId: proposal.id, installationId: proposal.installationId },
    JSON.stringify({
      channel: content.channel,
      recipients: content.recipients,
      subject: content.subject,
      body: content.body,
    }),
  );
  await tx.query(
    `INSERT INTO proposals_outreach (proposal_id, installation_id, channel, recipient_count, sealed, created_at)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [proposal.id, proposal.installationId, content.channel, content.recipients.length, sealed, now],
  );
}

/** The content of an outreach proposal, opened; undefined when there is none. A ciphertext moved to another row fails to open. */
export async function readOutreach(
  tx: Queryable,
  keyring: Keyring,
  proposalId: string,
): Promise<OutreachContent | undefined> {
  const [row] = await tx.query<{ installation_id: number; sealed: string }>(
    "SELECT installation_id, sealed FROM proposals_outreach WHERE proposal_id = $1",
    [proposalId],
  );
  if (!row) return undefined;
  const text = openText(
    keyring,
    { purpose: OUTREACH_PURPOSE, rowId: proposalId, installationId: row.installation_id },
    row.sealed,
  );
  return JSON.parse(text) as OutreachContent;
}

/**
 * Where a proposal was put before reviewers: its pull request and head commit
 * (or base commit, for a check run), its state, and its expiry under the
 * repository's `expiry` (setting status again moves its tracked deadline).
 */
export async function recordPublished(
  tx: Queryable,
  proposal: ProposalRow,
  published: { prNumber: number | null; headSha: string; state: OutreachState; expiresAt: Date },
  now: Date,
): Promise<void> {
  await recordDecision(tx, proposal, { type: "published", ...published }, now);
}

/** Reject a pending outreach proposal with `reason`, audited; the GitHub side follows through the outbox. */
export async function rejectOutreach(
  tx: Queryable,
  proposal: ProposalRow,
  reason: string,
  actor: string | null,
  now: Date,
): Promise<void> {
  const current = await findProposal(tx, proposal.id, true);
  if (!current || current.status !== "pending") return;
  await recordDecision(tx, current, { type: "outreach_rejected", reason, actor }, now);
}

/** Outreach proposal `id` when it was published as pull request `prNumber` of `repo`; undefined otherwise. */
export async function findOutreachByPull(
  tx: Queryable,
  id: string,
  repo: string,
  prNumber: number,
): Promise<ProposalOf<"outreach"> | undefined> {
  const [row] = await tx.query<StoredRow>(
    `SELECT * FROM proposals
      WHERE id = $1 AND kind = 'outreach' AND repo = $2 AND pr_number = $3 AND state->>'mode' = 'pull_request'`,
    [id, repo, prNumber],
  );
  return row && (readProposal(row) as ProposalOf<"outreach">);
}

/** The channel of an outreach proposal (kept in the clear beside the sealed text), for approval rules. */
export async function outreachChannel(tx: Queryable, proposalId: string): Promise<string | null> {
  const [row] = await tx.query<{ channel: string }>("SELECT channel FROM proposals_outreach WHERE proposal_id = $1", [
    proposalId,
  ]);
  return row?.channel ?? null;
}

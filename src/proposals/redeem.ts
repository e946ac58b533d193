import { timingSafeEqual } from "node:crypto";
import type { Database } from "../db/database.ts";
import { appendAudit } from "../audit/log.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import { findProposal, type ProposalRow } from "./store.ts";

export type RedeemRefusal = "not_approved" | "expired" | "digest_mismatch" | "already_redeemed";

const MESSAGES: Record<RedeemRefusal, string> = {
  not_approved: "The proposal is not approved; nothing may be executed.",
  expired: "The approval has expired; submit a new proposal.",
  digest_mismatch: "The digest does not match what was approved; execute only what was approved.",
  already_redeemed: "The approval was already redeemed; it is single-use.",
};

export interface Redeemer {
  installationId: number;
  actor: string;
  /** When set, only proposals of these repositories are visible. */
  repos: string[] | null;
}

/**
 * The executor's single use of an approval. The proposal row is locked, so
 * concurrent tries queue; the redemptions primary key makes a second success
 * impossible even so. Every try, refused or not, is an audit event.
 */
export async function redeemProposal(
  db: Database,
  redeemer: Redeemer,
  id: string,
  digest: string,
  now: Date,
): Promise<{ proposal: ProposalRow; redeemed_at: Date }> {
  const outcome = await db.tenant(redeemer.installationId, async (tx) => {
    const proposal = await findProposal(tx, id, true);
    const visible =
      proposal &&
      proposal.installation_id === redeemer.installationId &&
      (!redeemer.repos || redeemer.repos.some((repo) => repo.toLowerCase() === proposal.repo.toLowerCase()));
    if (!proposal || !visible) return { refusal: "not_found" as const, proposal: null };
    let refusal: RedeemRefusal | null = null;
    if (proposal.status !== "approved") refusal = "not_approved";
    else if (now.getTime() >= proposal.expires_at.getTime()) refusal = "expired";
    else if (!sameDigest(proposal.digest, digest)) refusal = "digest_mismatch";
    else {
      const inserted = await tx.query(
        `INSERT INTO redemptions (proposal_id, installation_id, redeemed_at, actor) VALUES ($1, $2, $3, $4)
         ON CONFLICT (proposal_id) DO NOTHING RETURNING proposal_id`,
        [proposal.id, redeemer.installationId, now, redeemer.actor],
      );
      if (inserted.length === 0) refusal = "already_redeemed";
    }
    await appendAudit(tx, redeemer.installationId, {
      action: "proposal.redeem",
      outcome: refusal ?? "redeemed",
      actor: redeemer.actor,
      repo: proposal.repo,
      subject: proposal.id,
      data: { kind: proposal.kind, digest: proposal.digest, digest_matches: sameDigest(proposal.digest, digest), status: proposal.status },
    }, now);
    return { refusal, proposal };
  });
  if (outcome.refusal === "not_found" || !outcome.proposal) throw new NotFoundError(`Proposal ${id}`);
  if (outcome.refusal) throw new ConflictError(outcome.refusal, MESSAGES[outcome.refusal]);
  return { proposal: outcome.proposal, redeemed_at: now };
}

function sameDigest(expected: string, given: string): boolean {
  const a = Buffer.from(expected.toLowerCase(), "utf8");
  const b = Buffer.from(given.trim().toLowerCase(), "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}

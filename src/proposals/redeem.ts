import { timingSafeEqual } from "node:crypto";
import type { Database, Queryable } from "../db/database.ts";
import { appendAudit } from "../audit/log.ts";
import { currentTree } from "../audit/checkpoint-store.ts";
import type { DsseEnvelope } from "../crypto/dsse.ts";
import { signReceipt } from "../crypto/receipts.ts";
import type { Signer } from "../crypto/signer.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import { signAttestation, type AuditPosition } from "./attestation.ts";
import { randomBase62 } from "./ids.ts";
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
  /** The redeemer's identity, compared with the one that proposed (Submitter.identity). */
  identity: string;
  /** Whether the proposal is within the redeemer's scope (installation, repositories, kinds). */
  inScope: (proposal: ProposalRow) => boolean;
}

/**
 * Whether the redeemer proposed this: the identity recorded at submission,
 * or, for a proposal recorded before identities were, the same actor. A
 * proposal no agent submitted (a pull request, a deployment GitHub asked
 * about) has neither and is redeemed by nobody.
 */
function proposedBy(proposal: ProposalRow, redeemer: Redeemer): boolean {
  const recorded = (proposal.details as { proposer_identity?: unknown; submitted_by?: unknown }).proposer_identity;
  if (typeof recorded === "string") return recorded === redeemer.identity;
  const submittedBy = (proposal.details as { submitted_by?: unknown }).submitted_by;
  return typeof submittedBy === "string" && submittedBy === redeemer.actor && proposal.author === redeemer.actor;
}

export interface Redemption {
  proposal: ProposalRow;
  redemption_id: string;
  redeemed_at: Date;
  /** The signed receipt: the only one there is for this approval. */
  receipt: string;
  kid: string;
  /** The same approval as an in-toto Statement in a DSSE envelope (docs/attestation.md). */
  attestation: DsseEnvelope;
}

/**
 * The executor's single use of an approval, and the only place a receipt is
 * made. The signer is resolved by the caller first, so a missing key fails
 * before anything is used up. The proposal row is locked, so concurrent tries
 * queue; the redemptions primary key makes a second success impossible even
 * so. The receipt carries the redemption's id. Every try, refused or not, is
 * an audit event.
 */
export async function redeemProposal(
  db: Database,
  redeemer: Redeemer,
  id: string,
  digest: string,
  now: Date,
  signer: Signer,
): Promise<Redemption> {
  const outcome = await db.tenant(redeemer.installationId, async (tx) => {
    const proposal = await findProposal(tx, id, true);
    // Out of scope, or proposed by someone else: the same answer as no proposal at all, and nothing used up.
    if (!proposal || proposal.installation_id !== redeemer.installationId)
      return { refusal: "not_found" as const, proposal: null, redemptionId: "", audit: null };
    const scoped = redeemer.inScope(proposal);
    if (!scoped || !proposedBy(proposal, redeemer)) {
      // Audited (an agent reaching for what is not its own), answered as if it did not exist.
      await appendAudit(
        tx,
        redeemer.installationId,
        {
          action: "proposal.redeem",
          outcome: scoped ? "not_proposer" : "out_of_scope",
          actor: redeemer.actor,
          repo: proposal.repo,
          subject: proposal.id,
          data: { kind: proposal.kind, digest: proposal.digest, status: proposal.status },
        },
        now,
      );
      return { refusal: "not_found" as const, proposal: null, redemptionId: "", audit: null };
    }
    let refusal: RedeemRefusal | null = null;
    const redemptionId = `rdm_${randomBase62(24)}`;
    if (proposal.status !== "approved") refusal = "not_approved";
    else if (now.getTime() >= proposal.expires_at.getTime()) refusal = "expired";
    else if (!sameDigest(proposal.digest, digest)) refusal = "digest_mismatch";
    else {
      const inserted = await tx.query(
        `INSERT INTO redemptions (proposal_id, installation_id, redeemed_at, actor, id) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (proposal_id) DO NOTHING RETURNING proposal_id`,
        [proposal.id, redeemer.installationId, now, redeemer.actor, redemptionId],
      );
      if (inserted.length === 0) refusal = "already_redeemed";
    }
    const event = await appendAudit(
      tx,
      redeemer.installationId,
      {
        action: "proposal.redeem",
        outcome: refusal ?? "redeemed",
        actor: redeemer.actor,
        repo: proposal.repo,
        subject: proposal.id,
        data: {
          kind: proposal.kind,
          digest: proposal.digest,
          digest_matches: sameDigest(proposal.digest, digest),
          status: proposal.status,
          ...(refusal ? {} : { redemption_id: redemptionId, receipt_kid: signer.keyId }),
        },
      },
      now,
    );
    let audit: AuditPosition | null = null;
    if (!refusal) {
      // The tree was moved by this very append, so its size is the smallest that includes the event.
      const tree = await currentTree(tx, redeemer.installationId);
      const leafIndex = event.seq - tree.firstSeq;
      audit =
        leafIndex >= 0 && leafIndex < tree.size
          ? { event_hash: event.hash, leaf_index: leafIndex, tree_size: leafIndex + 1 }
          : { event_hash: event.hash, leaf_index: null, tree_size: null };
    }
    return { refusal, proposal, redemptionId, audit };
  });
  if (outcome.refusal === "not_found" || !outcome.proposal) throw new NotFoundError(`Proposal ${id}`);
  if (outcome.refusal) throw new ConflictError(outcome.refusal, MESSAGES[outcome.refusal]);
  const proposal = outcome.proposal;
  const redemptionId = outcome.redemptionId;
  if (!outcome.audit) throw new Error("a redemption without its audit event");
  const approvers = approverLogins(proposal.approvers);
  const decidedAt = proposal.decided_at ?? now;
  const receipt = signReceipt(
    {
      v: 2,
      proposal_id: proposal.id,
      redemption_id: redemptionId,
      installation_id: proposal.installation_id,
      repo: proposal.repo,
      kind: proposal.kind,
      digest: proposal.digest,
      decision: "approved",
      approvers,
      decided_at: decidedAt.toISOString(),
      redeemed_at: now.toISOString(),
      expires_at: proposal.expires_at.toISOString(),
    },
    signer,
  );
  const attestation = signAttestation(
    { proposal, approvers, redemptionId, redeemedAt: now, decidedAt, audit: outcome.audit },
    signer,
  );
  return { proposal, redemption_id: redemptionId, redeemed_at: now, receipt, kid: signer.keyId, attestation };
}

/** When an approval was redeemed, or null while it was not; inside the caller's tenant transaction. */
export async function findRedemption(tx: Queryable, proposalId: string): Promise<{ redeemed_at: Date } | null> {
  const [row] = await tx.query<{ redeemed_at: Date }>("SELECT redeemed_at FROM redemptions WHERE proposal_id = $1", [
    proposalId,
  ]);
  return row ?? null;
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

function sameDigest(expected: string, given: string): boolean {
  const a = Buffer.from(expected.toLowerCase(), "utf8");
  const b = Buffer.from(given.trim().toLowerCase(), "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}

import {
  APPROVAL_PREDICATE_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
  STATEMENT_TYPE,
  type ApprovalPredicate,
  type ApprovalStatement,
  type StatementSubject,
} from "../crypto/attestation.ts";
import { signEnvelope, type DsseEnvelope } from "../crypto/dsse.ts";
import type { Signer } from "../crypto/signer.ts";
import type { StoredDecision } from "./state.ts";
import type { ProposalRow } from "./store.ts";

/** Where the redemption's audit event sits: its chain hash, its leaf in the installation's tree, the tree size that includes it. */
export interface AuditPosition {
  event_hash: string;
  leaf_index: number | null;
  tree_size: number | null;
}

/**
 * What was approved, as in-toto subjects: a commit by its gitCommit, a deploy
 * by its commit in its environment, outreach content by its sha256.
 */
export function approvalSubjects(proposal: ProposalRow): StatementSubject[] {
  if (proposal.kind === "commit") {
    return [
      {
        name: `${proposal.repo}@${proposal.head_sha ?? proposal.digest}`,
        digest: { gitCommit: (proposal.head_sha ?? proposal.digest).toLowerCase() },
      },
    ];
  }
  if (proposal.kind === "deploy") {
    const sha = (proposal.head_sha ?? "").toLowerCase();
    return [{ name: `${proposal.repo}@${sha} to ${proposal.environment ?? ""}`, digest: { gitCommit: sha } }];
  }
  return [{ name: `${proposal.repo} outreach ${proposal.id}`, digest: { sha256: proposal.digest.toLowerCase() } }];
}

/** The approvers with the permission the decision recorded for them (votes, or the reviews it was decided on). */
function approversWithPermission(proposal: ProposalRow, logins: string[]): ApprovalPredicate["approvers"] {
  const known = new Map<string, string>();
  const state = proposal.state as {
    votes?: { actor: { login: string; permission: string } }[];
    facts?: { reviews?: { reviewer?: { login?: string; permission?: string } }[] } | null;
  };
  for (const review of state.facts?.reviews ?? []) {
    if (review.reviewer?.login && review.reviewer.permission)
      known.set(review.reviewer.login.toLowerCase(), review.reviewer.permission);
  }
  for (const vote of state.votes ?? []) known.set(vote.actor.login.toLowerCase(), vote.actor.permission);
  return logins.map((login) => ({ login, permission: known.get(login.toLowerCase()) ?? null }));
}

/** The rules the decision found satisfied (an empty list when it had none: the plain count decided). */
function rulesSatisfied(decision: StoredDecision | undefined): ApprovalPredicate["rules_satisfied"] {
  return (decision?.rules ?? [])
    .filter((rule) => rule.status === "satisfied")
    .map((rule) => ({ name: rule.name, needed: rule.needed, approved_by: rule.approvedBy }));
}

export interface AttestationInput {
  proposal: ProposalRow;
  approvers: string[];
  redemptionId: string;
  redeemedAt: Date;
  decidedAt: Date;
  audit: AuditPosition;
}

/** The in-toto Statement of one redemption. */
export function approvalStatement(input: AttestationInput): ApprovalStatement {
  const { proposal } = input;
  return {
    _type: STATEMENT_TYPE,
    subject: approvalSubjects(proposal),
    predicateType: APPROVAL_PREDICATE_TYPE,
    predicate: {
      proposal: {
        id: proposal.id,
        kind: proposal.kind,
        repo: proposal.repo,
        installation_id: proposal.installation_id,
        digest: proposal.digest,
        environment: proposal.environment,
        site: proposal.site,
      },
      decision: "approved",
      approvers: approversWithPermission(proposal, input.approvers),
      rules_satisfied: rulesSatisfied((proposal.state as { decision?: StoredDecision }).decision),
      decided_at: input.decidedAt.toISOString(),
      expires_at: proposal.expires_at.toISOString(),
      redemption: { id: input.redemptionId, redeemed_at: input.redeemedAt.toISOString() },
      audit: input.audit,
    },
  };
}

/** The Statement signed in a DSSE envelope with the receipt-signing key. */
export function signAttestation(input: AttestationInput, signer: Signer): DsseEnvelope {
  return signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(approvalStatement(input)), "utf8"), signer);
}

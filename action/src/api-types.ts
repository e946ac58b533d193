import { z } from "zod";
import type { OutreachContent } from "./outreach.ts";

/**
 * Shapes of the Agent Gate HTTP API (`/api/v1/proposals`) as the Action sees
 * them. Written by hand from the API contract: the Action talks to the app over
 * HTTP only and imports nothing from the app's code. Responses are parsed with
 * these schemas so a malformed answer fails the step instead of passing.
 */

export const proposalKinds = ["deploy", "outreach"] as const;
export type ProposalKind = (typeof proposalKinds)[number];

export interface CreateProposalRequest {
  kind: ProposalKind;
  repo: string;
  sha: string;
  environment?: string;
  site?: string;
  summary: string;
  content?: OutreachContent;
}

export const createdProposalSchema = z.object({
  id: z.string().min(1),
  kind: z.enum(proposalKinds),
  repo: z.string(),
  digest: z.string().min(1),
  status: z.literal("pending"),
  expires_at: z.string(),
  url: z.string().min(1),
});
export type CreatedProposal = z.infer<typeof createdProposalSchema>;

export const receiptSchema = z.object({ receipt: z.string().min(1), kid: z.string().min(1) });
export type Receipt = z.infer<typeof receiptSchema>;

export const proposalStatuses = ["pending", "approved", "rejected", "expired"] as const;
export type ProposalStatus = (typeof proposalStatuses)[number];

export const proposalStateSchema = z.object({
  id: z.string(),
  status: z.enum(proposalStatuses),
  kind: z.enum(proposalKinds),
  repo: z.string(),
  digest: z.string(),
  approvers: z.array(z.string()),
  decided_at: z.string().nullable(),
  reason: z.string().nullable(),
  expires_at: z.string(),
  /** An approval is "approved, not yet redeemed" until its one redemption; the state never carries a receipt. */
  redeemed: z.boolean(),
});
export type ProposalState = z.infer<typeof proposalStateSchema>;

/** The approval as an in-toto Statement in a DSSE envelope, signed with the app's key (docs/attestation.md). */
export const dsseEnvelopeSchema = z.object({
  payloadType: z.string(),
  payload: z.string().min(1),
  signatures: z.array(z.object({ keyid: z.string(), sig: z.string() })).min(1),
});
export type DsseEnvelope = z.infer<typeof dsseEnvelopeSchema>;

// The receipt exists only as the answer of the one successful redemption,
// and names that redemption. An app older than attestations answers none;
// only `attest: true` needs it.
export const redeemedSchema = z.object({
  redeemed: z.literal(true),
  redemption_id: z.string().min(1),
  digest: z.string().min(1),
  receipt: receiptSchema,
  attestation: dsseEnvelopeSchema.optional(),
});
export type Redeemed = z.infer<typeof redeemedSchema>;

export const apiErrorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    fields: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  }),
});
export type ApiErrorBody = z.infer<typeof apiErrorBodySchema>;

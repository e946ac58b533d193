import { z } from "zod";
import { contentSchema } from "../outreach/content.ts";
import { MAX_WAIT_SECONDS } from "../requests/limits.ts";
import { PROPOSAL_ID_PATTERN } from "../proposals/ids.ts";
import { proposalBodySchema } from "../proposals/submit.ts";

/*
 * Tool inputs, built from the HTTP API's own field schemas (the proposal body
 * of POST /api/v1/proposals, the outreach content), so a field means and
 * refuses the same on both. The handlers still pass every proposal through
 * parseProposalBody, which adds the rules that span fields.
 */
const field = proposalBodySchema.shape;

export const listSitesInput = z.strictObject({});

export const proposeDeployInput = z.strictObject({
  repo: field.repo.describe("The repository as owner/name; it must belong to the installation and the key's scope."),
  sha: field.sha.unwrap().describe("The full commit SHA to deploy (40 lowercase hex characters)."),
  environment: field.environment.unwrap().describe("The deployment environment, e.g. production."),
  site: field.site.unwrap().describe("The verified site the deploy targets (one list_sites returns)."),
  summary: field.summary.describe("What the deploy does, for the person who decides (at most 2000 characters)."),
});

export const proposeOutreachInput = z.strictObject({
  repo: field.repo.describe("The repository that records the outreach proposal, as owner/name."),
  site: field.site.unwrap().describe("The verified site the outreach is sent for (one list_sites returns)."),
  summary: field.summary.describe("Why this message is sent, for the person who decides (at most 2000 characters)."),
  content: contentSchema.describe("What will be sent. Stored encrypted; the approval binds its SHA-256 digest."),
});

/** Proposal ids as the API's path parameter documents them. */
const proposalId = z
  .string({ error: "must be a string" })
  .regex(PROPOSAL_ID_PATTERN, "must be a proposal id: prp_ and 20 letters or digits")
  .describe("The proposal id returned by propose_deploy or propose_outreach.");

export const getProposalInput = z.strictObject({
  id: proposalId,
  wait_seconds: z
    .number({ error: "must be a number of seconds" })
    .int("must be a whole number of seconds")
    .min(0, `must be from 0 to ${MAX_WAIT_SECONDS}`)
    .max(MAX_WAIT_SECONDS, `must be from 0 to ${MAX_WAIT_SECONDS}`)
    .optional()
    .describe(
      `Seconds to wait for a decision while the proposal is pending (0-${MAX_WAIT_SECONDS}, default 0). Progress is reported while waiting.`,
    ),
});

export const redeemApprovalInput = z.strictObject({
  id: proposalId,
  digest: z
    .string({ error: "is required: the hex digest of what is about to be executed" })
    .regex(/^[0-9a-fA-F]{40,64}$/, "must be the hex digest of what is about to be executed")
    .describe(
      "The digest of exactly what you are about to execute, computed as the proposal's digest was; it must equal the approved digest.",
    ),
});

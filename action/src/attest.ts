import { attest, type Attestation } from "@actions/attest";
import { z } from "zod";
import type { CreatedProposal, Redeemed } from "./api-types.ts";
import { ActionError } from "./errors.ts";
import type { Workflow } from "./inputs.ts";

/**
 * `attest: true`: the approval the app signed is recorded again with
 * Sigstore, keyless, under the job's own OIDC identity, and stored in
 * GitHub's attestation API, where `gh attestation verify --predicate-type`
 * and admission controllers find it. The Statement is the app's, unchanged:
 * its subjects and its predicate.
 */

export const APPROVAL_PREDICATE_TYPE = "https://agent-gate.dev/approval/v1";
const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";

const statementSchema = z.object({
  _type: z.literal(STATEMENT_TYPE),
  subject: z.array(z.object({ name: z.string().min(1), digest: z.record(z.string(), z.string().min(1)) })).min(1),
  predicateType: z.literal(APPROVAL_PREDICATE_TYPE),
  predicate: z.looseObject({
    proposal: z.looseObject({ id: z.string(), repo: z.string(), digest: z.string() }),
    decision: z.literal("approved"),
    redemption: z.looseObject({ id: z.string() }),
  }),
});

export interface ApprovalStatement {
  subject: { name: string; digest: Record<string, string> }[];
  predicateType: string;
  /** The app's predicate as it signed it, every field kept. */
  predicate: Record<string, unknown>;
}

/**
 * Checked before anything is proposed, so a job that cannot attest fails
 * before it spends an approval.
 */
export function checkCanAttest(env: NodeJS.ProcessEnv, githubToken: string | undefined): void {
  if (!env.ACTIONS_ID_TOKEN_REQUEST_URL || !env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
    throw new ActionError(
      "input 'attest' is true but the job has no OIDC identity to sign with: give the job `permissions: id-token: write` (and `attestations: write`)",
    );
  }
  if (githubToken === undefined) {
    throw new ActionError(
      "input 'github-token' is required when attest is true: a token with `attestations: write` (the default is the job's github.token)",
    );
  }
}

/**
 * The Statement of this step's own redemption, read from the envelope the
 * app answered: it must name this proposal, this redemption, and only what
 * this step proposed (the commit it runs for, or the digest it was approved).
 */
export function approvalStatement(
  redeemed: Redeemed,
  proposal: CreatedProposal,
  workflow: Workflow,
): ApprovalStatement {
  const envelope = redeemed.attestation;
  if (envelope === undefined) {
    throw new ActionError(
      `Agent Gate redeemed ${redeemed.redemption_id} but answered no attestation (an app without attestations); input 'attest' cannot record it`,
    );
  }
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new ActionError(`Agent Gate's attestation has payload type '${envelope.payloadType}', not in-toto's`);
  }
  const raw = parsePayload(envelope.payload);
  const parsed = statementSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "statement"}: ${issue.message}`);
    throw new ActionError(`Agent Gate's attestation is not an approval Statement: ${problems.join("; ")}`);
  }
  const { predicate, subject } = parsed.data;
  const about = predicate.proposal;
  if (about.id !== proposal.id || about.repo !== proposal.repo || about.digest !== proposal.digest) {
    throw new ActionError(
      `Agent Gate's attestation is about proposal ${about.id} (${about.repo}, digest ${about.digest}), not ${proposal.id}; refusing to attest it`,
    );
  }
  if (predicate.redemption.id !== redeemed.redemption_id) {
    throw new ActionError(
      `Agent Gate's attestation names redemption ${predicate.redemption.id}, not this step's ${redeemed.redemption_id}; refusing to attest it`,
    );
  }
  const proposed = (algorithm: string, value: string) =>
    (algorithm === "gitCommit" && value === workflow.sha) || (algorithm === "sha256" && value === proposal.digest);
  const foreign = subject.find(
    (s) => !Object.entries(s.digest).every(([algorithm, value]) => proposed(algorithm, value)),
  );
  if (foreign !== undefined) {
    throw new ActionError(
      `Agent Gate's attestation names subject '${foreign.name}', which is not what this step proposed; refusing to attest it`,
    );
  }
  const statement = raw as { subject: ApprovalStatement["subject"]; predicate: Record<string, unknown> };
  return { subject: statement.subject, predicateType: APPROVAL_PREDICATE_TYPE, predicate: statement.predicate };
}

/**
 * The artifact the job ships (input 'artifact-digest'), as one more subject
 * after the app's: `gh attestation verify` and admission controllers match a
 * file's or an image's digest, never a commit. That subject is the job's word
 * (its identity signs it), the app's subjects and predicate stay as signed.
 */
export function withArtifact(
  statement: ApprovalStatement,
  artifact: { name?: string; digest: Record<string, string> } | undefined,
  workflow: Workflow,
): ApprovalStatement {
  if (artifact === undefined) return statement;
  const name = artifact.name ?? `${workflow.repo}@${workflow.sha} artifact`;
  return { ...statement, subject: [...statement.subject, { name, digest: artifact.digest }] };
}

function parsePayload(payload: string): unknown {
  try {
    return JSON.parse(Buffer.from(payload, "base64").toString("utf8"));
  } catch {
    throw new ActionError("Agent Gate's attestation payload is not base64 JSON");
  }
}

/**
 * Signs the Statement with a Fulcio certificate for the job's OIDC identity,
 * has it witnessed (Rekor for a public repository, GitHub's timestamp
 * authority otherwise: @actions/attest chooses from the repository's
 * visibility) and stores the bundle with GitHub.
 */
export async function recordApproval(
  statement: ApprovalStatement,
  githubToken: string,
  redemptionId: string,
): Promise<Attestation> {
  try {
    return await attest({
      subjects: statement.subject,
      predicateType: statement.predicateType,
      predicate: statement.predicate,
      token: githubToken,
    });
  } catch (cause) {
    throw new ActionError(
      `Could not record the approval attestation (input 'attest'): ${causeChain(cause)}. The approval was redeemed as ${redemptionId} but is not attested; not proceeding`,
      { cause },
    );
  }
}

const JWT = /eyJ[\w-]*\.[\w-]+\.[\w-]*/g;

/** The messages of an error and its causes, without an identity token one of them may quote. */
function causeChain(thrown: unknown): string {
  const messages: string[] = [];
  let at: unknown = thrown;
  for (let depth = 0; depth < 4 && at !== undefined && at !== null; depth += 1) {
    const message = at instanceof Error ? at.message : String(at);
    messages.push(
      /invalid identity token/i.test(message)
        ? "the runner's OIDC token for audience sigstore is not a JWT"
        : message.replace(JWT, "[token]"),
    );
    at = at instanceof Error ? at.cause : undefined;
  }
  return messages.filter((m, i) => m !== "" && messages.indexOf(m) === i).join(": ");
}

import { z } from "zod";
import { GateError } from "../errors.ts";
import { PROPOSAL_ID_PATTERN } from "../proposals/ids.ts";

/**
 * The outbox's job kinds, one zod schema each. A job is parsed where the
 * worker reads it; a row that does not parse is never performed or retried.
 */
const proposalId = z.string().regex(PROPOSAL_ID_PATTERN, "a proposal id (prp_ and 20 letters or digits)");
const proposalJob = z.strictObject({ proposal_id: proposalId });
const headSha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, "a commit SHA");

export const JOB_SCHEMAS = {
  "check_run.sync": proposalJob,
  "deployment.review": proposalJob,
  "outreach.open": proposalJob,
  "merge_group.report": z.strictObject({
    repo: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, "owner/name"),
    repo_id: z.number().int().positive(),
    head_sha: headSha,
    decision: z.strictObject({
      conclusion: z.enum(["success", "failure"]),
      title: z.string().max(1024),
      summary: z.string().max(65535),
    }),
  }),
  /** Reviews requested on a waiting head's pull request (src/policy/reviewer-requests.ts decides whom). */
  "reviewers.request": z
    .strictObject({
      proposal_id: proposalId,
      pr_number: z.number().int().positive(),
      head_sha: headSha,
      reviewers: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/, "a GitHub login")).max(15),
      team_reviewers: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "a team slug")).max(15),
    })
    .refine((p) => p.reviewers.length + p.team_reviewers.length > 0, "names at least one reviewer or team")
    .refine((p) => p.reviewers.length + p.team_reviewers.length <= 15, "names at most 15 reviewers and teams together"),
} as const;

export type JobKind = keyof typeof JOB_SCHEMAS;

export type TypedJob = { [K in JobKind]: { kind: K; payload: z.infer<(typeof JOB_SCHEMAS)[K]> } }[JobKind];

/** A queued job that is not one of the kinds, or whose payload does not match its kind's schema. */
export class MalformedJobError extends GateError {
  constructor(message: string) {
    super("malformed_job", message, { status: 500 });
  }
}

/**
 * A job that cannot succeed until someone changes a configuration (the
 * repository's `.github/agent-gate.yml`, the app's keyring): reported on the
 * proposal and ended, not retried as a GitHub failure.
 */
export class JobConfigurationError extends GateError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("job_configuration", message, { status: 500, ...options });
  }
}

export function parseJob(operation: string, payload: unknown): TypedJob {
  if (!Object.hasOwn(JOB_SCHEMAS, operation))
    throw new MalformedJobError(`unknown outbox operation ${JSON.stringify(operation.slice(0, 64))}`);
  const kind = operation as JobKind;
  const parsed = JOB_SCHEMAS[kind].safeParse(payload);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((issue) => `payload.${issue.path.join(".") || "(root)"}: ${issue.message}`)
      .join("; ");
    throw new MalformedJobError(`outbox job ${kind} has a malformed payload: ${issues}`);
  }
  return { kind, payload: parsed.data } as TypedJob;
}

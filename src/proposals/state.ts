import { z } from "zod";
import { GateError } from "../errors.ts";
import type { GateConfig } from "../policy/config.ts";
import type { AgentFinding } from "../policy/agent-recognition.ts";
import type { CommitFacts } from "../policy/decide-commit.ts";
import type { RuleResult } from "../policy/decide-rules.ts";
import { PERMISSION_ORDER, type Permission } from "../policy/permission.ts";

/**
 * What `proposals.state` holds, one schema per kind, checked where rows are
 * read (src/proposals/store.ts). Every key is optional: a proposal submitted
 * through the API starts with an empty state, and an outreach proposal gets
 * its mode only once it is published. Keys not named here are kept as they
 * are at the top level (an older or newer version may have written them),
 * but a named key of the wrong type makes the row unreadable: the proposal is then neither
 * decided nor approved (ProposalStateError).
 */

const isObject = (value: unknown) => typeof value === "object" && value !== null && !Array.isArray(value);

/** A value the policy made and reads back whole (its own types): checked to be an object. */
const policyObject = <T>(what: string) => z.custom<T>(isObject, `expected ${what}`);

const permission = z.enum(PERMISSION_ORDER as [Permission, ...Permission[]]);

const refusal = z.object({ login: z.string(), reason: z.string() });

const configError = z.object({ path: z.string(), message: z.string() });

/** A vote as stored (src/policy/tally.ts `Vote`). */
const storedVote = z.object({
  actor: z.object({ login: z.string(), type: z.string(), permission }),
  vote: z.enum(["approve", "reject"]),
  at: z.string(),
  via: z.string().optional(),
});

/** The facts a commit decision was made on (src/policy/decide-commit.ts `CommitFacts`). */
const commitFacts = z.custom<CommitFacts>(
  (value) =>
    isObject(value) &&
    typeof (value as { headSha?: unknown }).headSha === "string" &&
    Array.isArray((value as { reviews?: unknown }).reviews),
  "expected the gathered facts (headSha, reviews)",
);

/** The decision as stored: the policy's Decision, or the part of it known before a tally. */
const storedDecision = z.object({
  status: z.enum(["pending", "approved", "rejected"]).optional(),
  required: z.number().int().nonnegative().optional(),
  approvers: z.array(z.string()).optional(),
  rejectedBy: z.array(z.string()).optional(),
  refused: z.array(refusal).optional(),
  reasons: z.array(z.string()).optional(),
  title: z.string().optional(),
  expired: z.literal(true).optional(),
  rules: z.array(policyObject<RuleResult>("a rule's result")).optional(),
  agentProposed: z.boolean().optional(),
  recognition: z.array(policyObject<AgentFinding>("an agent finding")).optional(),
});

/** A commit proposal's state (src/gates/commit-gate.ts): the decision and what it was decided under. */
export const commitStateSchema = z.looseObject({
  decision: storedDecision.optional(),
  config_errors: z.array(configError).optional(),
  facts: commitFacts.nullable().optional(),
  facts_digest: z.string().nullable().optional(),
  config_digest: z.string().nullable().optional(),
  config: policyObject<GateConfig>("the configuration decided under").nullable().optional(),
  config_present: z.boolean().optional(),
  required: z.number().int().nonnegative().optional(),
  min_permission: permission.optional(),
  /**
   * Pending again after a decision (a new base, a dismissed review): GitHub does not move a completed
   * check run back to in progress, so the run is completed as action_required instead.
   */
  reopened: z.boolean().optional(),
  /** The head that superseded this one (recordSuperseded). */
  superseded_by: z.string().optional(),
});

/** A deploy proposal's state (src/gates/deploy-gate.ts, the API): the votes, their tally and the config digest. */
export const deployStateSchema = z.looseObject({
  votes: z.array(storedVote).optional(),
  decision: storedDecision.optional(),
  required: z.number().int().nonnegative().optional(),
  min_permission: permission.optional(),
  config_errors: z.array(configError).optional(),
  config_digest: z.string().nullable().optional(),
});

/** An outreach proposal's state (src/outbox/outreach-publish.ts): how it was published, the votes or reviews' decision, a config error. */
export const outreachStateSchema = z.looseObject({
  mode: z.enum(["check_run", "pull_request"]).optional(),
  redacted: z.boolean().optional(),
  branch: z.string().optional(),
  path: z.string().optional(),
  file_sha: z.string().nullable().optional(),
  votes: z.array(storedVote).optional(),
  decision: storedDecision.optional(),
  required: z.number().int().nonnegative().optional(),
  min_permission: permission.optional(),
  config_error: z.string().optional(),
  /** Who pushed the head last reviewed, from its synchronize event (src/gates/outreach-gate.ts). */
  pushed: z.object({ head: z.string(), login: z.string() }).nullable().optional(),
});

export type StoredDecision = z.infer<typeof storedDecision>;
export type StoredVote = z.infer<typeof storedVote>;
export type CommitState = z.infer<typeof commitStateSchema>;
export type DeployState = z.infer<typeof deployStateSchema>;
export type OutreachState = z.infer<typeof outreachStateSchema>;

export interface StateOfKind {
  commit: CommitState;
  deploy: DeployState;
  outreach: OutreachState;
}

/** Any kind's state: what a writer may store (the recorder checks it against the row's kind). */
export type ProposalState = CommitState | DeployState | OutreachState;

const SCHEMAS = { commit: commitStateSchema, deploy: deployStateSchema, outreach: outreachStateSchema } as const;

/** A stored proposal state that does not match its kind's schema; nothing is decided from it. */
export class ProposalStateError extends GateError {
  constructor(id: string, kind: string, issues: string[]) {
    super(
      "proposal_state_unreadable",
      `Proposal ${id} has an unreadable ${kind} state (${issues.join("; ")}); it is neither decided nor approved until the row is repaired.`,
      { status: 500 },
    );
  }
}

/** The state of a proposal of `kind`, checked; throws ProposalStateError naming the fields at fault. */
export function parseState<K extends keyof StateOfKind>(id: string, kind: K, state: unknown): StateOfKind[K] {
  const schema = (SCHEMAS as Record<string, z.ZodType | undefined>)[kind];
  if (!schema) throw new ProposalStateError(id, String(kind), [`kind: unknown kind "${String(kind)}"`]);
  const parsed = schema.safeParse(state);
  if (!parsed.success) {
    throw new ProposalStateError(
      id,
      kind,
      parsed.error.issues.map((issue) => `${issue.path.length ? issue.path.join(".") : "state"}: ${issue.message}`),
    );
  }
  return parsed.data as StateOfKind[K];
}

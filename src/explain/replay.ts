import { canonicalJson } from "../canonical-json.ts";
import { configDigest, DEFAULT_CONFIG, type GateConfig } from "../policy/config.ts";
import { decideCommit, factsDigest, type CommitDecision, type CommitFacts } from "../policy/decision.ts";

/** What a commit proposal recorded in `proposals.state` (see src/gates/commit-gate.ts). */
export interface RecordedCommitState {
  decision?: CommitDecision;
  facts?: CommitFacts | null;
  facts_digest?: string | null;
  config?: GateConfig | null;
  config_digest?: string | null;
  config_present?: boolean;
  config_errors?: { path: string; message: string }[];
}

export interface Explanation {
  proposal: {
    id: string;
    repo: string;
    pr: number | null;
    headSha: string | null;
    status: string;
    decidedAt: string | null;
  };
  /** Who may approve under the recorded configuration. */
  mayApprove: { required: number; minPermission: string; agents: string[]; configPresent: boolean } | null;
  recorded: CommitDecision | null;
  replayed: CommitDecision | null;
  /** true: the policy gives the recorded decision again; false: it differs; null: it could not be replayed. */
  matches: boolean | null;
  /** Why the replay could not run or what failed a digest check; empty when all is well. */
  problems: string[];
}

export interface ProposalRow {
  id: string;
  repo: string;
  pr_number: number | null;
  head_sha: string | null;
  status: string;
  decided_at: Date | null;
  state: RecordedCommitState;
}

/**
 * Replays a commit proposal's recorded facts through the policy with the
 * recorded configuration and compares the result with the recorded decision.
 * Pure: the same row gives the same explanation.
 */
export function explainCommit(row: ProposalRow): Explanation {
  const state = row.state ?? {};
  const problems: string[] = [];
  const config = recordedConfig(state, problems);
  const facts = state.facts ?? null;
  if (!facts)
    problems.push(
      state.config_errors?.length
        ? "the configuration had errors, so no facts were gathered"
        : "no facts were recorded",
    );
  if (facts && state.facts_digest && factsDigest(facts) !== state.facts_digest) {
    problems.push("the recorded facts do not match their recorded digest");
  }
  const replayed = facts && config ? decideCommit(facts, config, state.config_present ?? true) : null;
  const recorded = state.decision ?? null;
  return {
    proposal: {
      id: row.id,
      repo: row.repo,
      pr: row.pr_number,
      headSha: row.head_sha,
      status: row.status,
      decidedAt: row.decided_at ? new Date(row.decided_at).toISOString() : null,
    },
    mayApprove: config
      ? {
          required: config.approvals.required,
          minPermission: config.approvals.minPermission,
          agents: [...config.agents],
          configPresent: state.config_present ?? true,
        }
      : null,
    recorded,
    replayed,
    matches: replayed && recorded ? canonicalJson(replayed) === canonicalJson(recorded) : null,
    problems,
  };
}

function recordedConfig(state: RecordedCommitState, problems: string[]): GateConfig | null {
  if (state.config) {
    if (state.config_digest && configDigest(state.config) !== state.config_digest) {
      problems.push("the recorded configuration does not match its recorded digest");
    }
    return state.config;
  }
  // Without a file the defaults applied; they are known, so the replay can still run.
  if (state.config_present === false) return DEFAULT_CONFIG;
  problems.push("the configuration was not recorded with this decision (recorded before explain existed)");
  return null;
}

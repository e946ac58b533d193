import type { Queryable } from "../db/database.ts";
import type { OutboxJob } from "../outbox/queue.ts";

// The outbox's queue, where the recorder and the gates queue GitHub writes (its SQL is the outbox's).
export { enqueue, OUTBOX_CHANNEL, type OutboxJob } from "../outbox/queue.ts";

export type ProposalKind = "commit" | "deploy" | "outreach";
export type ProposalStatus = "pending" | "approved" | "rejected" | "expired" | "superseded" | "exempt";

export interface ProposalRow {
  id: string;
  installation_id: number;
  repo: string;
  repo_id: number | null;
  kind: ProposalKind;
  status: ProposalStatus;
  digest: string;
  head_sha: string | null;
  pr_number: number | null;
  author: string | null;
  environment: string | null;
  site: string | null;
  summary: string;
  details: Record<string, unknown>;
  state: Record<string, unknown>;
  reason: string | null;
  approvers: string[];
  check_run_id: number | null;
  github: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  expires_at: Date;
  decided_at: Date | null;
}

/** Channel on which decisions are announced (payload: proposal id). */
export const DECIDED_CHANNEL = "agent_gate_decided";
/** Channel that wakes outbox workers. */

type Stored = ProposalRow & Record<string, unknown>;

export async function findProposal(tx: Queryable, id: string, forUpdate = false): Promise<ProposalRow | undefined> {
  const [row] = await tx.query<Stored>(
    `SELECT * FROM proposals WHERE id = $1${forUpdate ? " FOR UPDATE" : ""}`,
    [id],
  );
  return row;
}

export async function findCommitProposal(
  tx: Queryable,
  installationId: number,
  repo: string,
  prNumber: number,
  headSha: string,
): Promise<ProposalRow | undefined> {
  const [row] = await tx.query<Stored>(
    `SELECT * FROM proposals
      WHERE installation_id = $1 AND repo = $2 AND pr_number = $3 AND head_sha = $4 AND kind = 'commit'
      ORDER BY created_at DESC LIMIT 1 FOR UPDATE`,
    [installationId, repo, prNumber, headSha],
  );
  return row;
}

export interface NewProposal {
  id: string;
  installationId: number;
  repo: string;
  repoId: number | null;
  kind: ProposalKind;
  status: ProposalStatus;
  digest: string;
  headSha: string | null;
  prNumber: number | null;
  author: string | null;
  environment?: string | null;
  site?: string | null;
  summary: string;
  details: Record<string, unknown>;
  state: Record<string, unknown>;
  approvers?: string[];
  reason?: string | null;
  decidedAt?: Date | null;
  expiresAt: Date;
  now: Date;
}

export async function insertProposal(tx: Queryable, p: NewProposal): Promise<ProposalRow> {
  const [row] = await tx.query<Stored>(
    `INSERT INTO proposals (id, installation_id, repo, repo_id, kind, status, digest, head_sha, pr_number,
       author, environment, site, summary, details, state, approvers, reason, decided_at,
       created_at, updated_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19, $20)
     RETURNING *`,
    [
      p.id,
      p.installationId,
      p.repo,
      p.repoId,
      p.kind,
      p.status,
      p.digest,
      p.headSha,
      p.prNumber,
      p.author,
      p.environment ?? null,
      p.site ?? null,
      p.summary,
      JSON.stringify(p.details),
      JSON.stringify(p.state),
      JSON.stringify(p.approvers ?? []),
      p.reason ?? null,
      p.decidedAt ?? null,
      p.now,
      p.expiresAt,
    ],
  );
  if (!row) throw new Error("proposal insert returned no row");
  if (p.status !== "pending") await announceDecision(tx, row.id);
  return row;
}

export interface ProposalUpdate {
  status: ProposalStatus;
  state: Record<string, unknown>;
  approvers: string[];
  reason: string | null;
  decidedAt: Date | null;
  now: Date;
}

/** Update a proposal's state; announces a decision on DECIDED_CHANNEL when it leaves pending. */
export async function updateProposal(tx: Queryable, id: string, update: ProposalUpdate): Promise<void> {
  // Updated and, once decided, announced (to long polls, at commit) in one round trip.
  await tx.query(
    `WITH updated AS (
       UPDATE proposals SET status = $2, state = $3, approvers = $4, reason = $5, decided_at = $6, updated_at = $7
        WHERE id = $1 RETURNING id, status)
     SELECT pg_notify($8, id) FROM updated WHERE status <> 'pending'`,
    [
      id,
      update.status,
      JSON.stringify(update.state),
      JSON.stringify(update.approvers),
      update.reason,
      update.decidedAt,
      update.now,
      DECIDED_CHANNEL,
    ],
  );
}

export async function announceDecision(tx: Queryable, id: string): Promise<void> {
  await tx.query("SELECT pg_notify($1, $2)", [DECIDED_CHANNEL, id]);
}

/** The head of a pull request's latest commit proposal not superseded, or null when it has none. */
export async function newestCommitHead(tx: Queryable, installationId: number, repo: string, prNumber: number): Promise<string | null> {
  return (await knownHead(tx, installationId, repo, prNumber, "")).newest;
}

/**
 * In one round trip: the newest head known for a pull request (its latest
 * commit proposal not superseded) and the pusher recorded for `headSha`.
 */
export async function knownHead(
  tx: Queryable,
  installationId: number,
  repo: string,
  prNumber: number,
  headSha: string,
): Promise<{ newest: string | null; pusher: unknown }> {
  const [row] = await tx.query<{ newest: string | null; pusher: unknown }>(
    `SELECT
       (SELECT head_sha FROM proposals
         WHERE installation_id = $1 AND repo = $2 AND pr_number = $3 AND kind = 'commit' AND status <> 'superseded'
         ORDER BY created_at DESC LIMIT 1) AS newest,
       (SELECT state->'facts'->'pusher' FROM proposals
         WHERE installation_id = $1 AND repo = $2 AND pr_number = $3 AND kind = 'commit' AND head_sha = $4
         ORDER BY created_at DESC LIMIT 1) AS pusher`,
    [installationId, repo, prNumber, headSha],
  );
  return { newest: row?.newest ?? null, pusher: row?.pusher ?? null };
}

/** Commit proposals of a PR for other heads: a push invalidates them. */
export async function supersedeOtherHeads(
  tx: Queryable,
  installationId: number,
  repo: string,
  prNumber: number,
  headSha: string,
  now: Date,
): Promise<ProposalRow[]> {
  // Superseded and announced in one round trip.
  const rows = await tx.query<Stored & { announced?: unknown }>(
    `WITH superseded AS (
       UPDATE proposals SET status = 'superseded', reason = 'a new commit was pushed', updated_at = $5
        WHERE installation_id = $1 AND repo = $2 AND pr_number = $3 AND kind = 'commit'
          AND head_sha <> $4 AND status IN ('pending', 'approved', 'rejected')
        RETURNING *)
     SELECT superseded.*, pg_notify($6, superseded.id) AS announced FROM superseded`,
    [installationId, repo, prNumber, headSha, now, DECIDED_CHANNEL],
  );
  return rows.map(({ announced: _announced, ...row }) => row as Stored);
}

/** The check run of a proposal is brought to the proposal's current state by the outbox worker. */
export function syncCheckRun(proposal: { id: string; installation_id: number; status: ProposalStatus }): OutboxJob {
  return {
    installationId: proposal.installation_id,
    operation: "check_run.sync",
    coalesceKey: `proposal:${proposal.id}`,
    priority: proposal.status === "pending" ? 1 : 0,
    payload: { proposal_id: proposal.id },
  };
}

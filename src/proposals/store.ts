import type { Queryable } from "../db/database.ts";
import { parseState, type StateOfKind } from "./state.ts";

export type ProposalKind = "commit" | "deploy" | "outreach";
export type ProposalStatus = "pending" | "approved" | "rejected" | "expired" | "superseded" | "exempt";

/** The columns of a proposal row but its kind and state. */
export interface ProposalColumns {
  id: string;
  installation_id: number;
  repo: string;
  repo_id: number | null;
  status: ProposalStatus;
  digest: string;
  head_sha: string | null;
  pr_number: number | null;
  author: string | null;
  environment: string | null;
  site: string | null;
  summary: string;
  details: Record<string, unknown>;
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

/** A proposal of one kind, with that kind's typed state. */
export type ProposalOf<K extends ProposalKind> = ProposalColumns & { kind: K; state: StateOfKind[K] };

/** A proposal as read: a union by kind, its state checked against the kind's schema. */
export type ProposalRow = ProposalOf<"commit"> | ProposalOf<"deploy"> | ProposalOf<"outreach">;

/** A row as the database returns it, before its state is checked. */
export type StoredRow = ProposalColumns & { kind: string; state: unknown } & Record<string, unknown>;

/**
 * A proposal row read from the database, its state checked against its
 * kind's schema. An unreadable state throws ProposalStateError: whoever reads
 * the row to decide, vote or approve stops there, and the gate stays closed.
 */
export function readProposal(row: StoredRow): ProposalRow {
  const kind = row.kind as ProposalKind;
  return { ...row, kind, state: parseState(row.id, kind, row.state) } as ProposalRow;
}

export async function findProposal(tx: Queryable, id: string, forUpdate = false): Promise<ProposalRow | undefined> {
  const [row] = await tx.query<StoredRow>(`SELECT * FROM proposals WHERE id = $1${forUpdate ? " FOR UPDATE" : ""}`, [
    id,
  ]);
  return row && readProposal(row);
}

export async function findCommitProposal(
  tx: Queryable,
  installationId: number,
  repo: string,
  prNumber: number,
  headSha: string,
): Promise<ProposalOf<"commit"> | undefined> {
  const [row] = await tx.query<StoredRow>(
    `SELECT * FROM proposals
      WHERE installation_id = $1 AND repo = $2 AND pr_number = $3 AND head_sha = $4 AND kind = 'commit'
      ORDER BY created_at DESC LIMIT 1 FOR UPDATE`,
    [installationId, repo, prNumber, headSha],
  );
  return row && (readProposal(row) as ProposalOf<"commit">);
}

export interface NewProposal<K extends ProposalKind = ProposalKind> {
  id: string;
  installationId: number;
  repo: string;
  repoId: number | null;
  kind: K;
  status: ProposalStatus;
  digest: string;
  headSha: string | null;
  prNumber: number | null;
  author: string | null;
  environment?: string | null;
  site?: string | null;
  summary: string;
  details: Record<string, unknown>;
  state: StateOfKind[K];
  approvers?: string[];
  reason?: string | null;
  decidedAt?: Date | null;
  expiresAt: Date;
  now: Date;
}

/** The one INSERT of a proposal; a proposal decided at creation is announced. Later changes go through src/proposals/recorder.ts. */
export async function insertProposal<K extends ProposalKind>(tx: Queryable, p: NewProposal<K>): Promise<ProposalOf<K>> {
  const [row] = await tx.query<StoredRow>(
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
  return readProposal(row) as ProposalOf<K>;
}

export async function announceDecision(tx: Queryable, id: string): Promise<void> {
  await tx.query("SELECT pg_notify($1, $2)", [DECIDED_CHANNEL, id]);
}

/** The head of a pull request's latest commit proposal not superseded, or null when it has none. */
export async function newestCommitHead(
  tx: Queryable,
  installationId: number,
  repo: string,
  prNumber: number,
): Promise<string | null> {
  return (await knownHead(tx, installationId, repo, prNumber, "")).newest;
}

/**
 * In one round trip: the newest head known for a pull request (its latest
 * commit proposal not superseded), the pusher and the base recorded for
 * `headSha` (the base its decision was made for), and the commits recorded
 * with `headSha` and with `before` (the head a push moved from): a head's
 * commits are read from GitHub once and kept with it.
 */
export async function knownHead(
  tx: Queryable,
  installationId: number,
  repo: string,
  prNumber: number,
  headSha: string,
  before: string | null = null,
): Promise<{ newest: string | null; pusher: unknown; base: string | null; commits: unknown; beforeCommits: unknown }> {
  const [row] = await tx.query<{
    newest: string | null;
    pusher: unknown;
    base: string | null;
    commits: unknown;
    before_commits: unknown;
  }>(
    `WITH heads AS (
       SELECT DISTINCT ON (head_sha) head_sha, state->'facts' AS facts, coalesce(state->'facts'->>'base', details->>'base') AS base FROM proposals
        WHERE installation_id = $1 AND repo = $2 AND pr_number = $3 AND kind = 'commit' AND head_sha IN ($4, $5)
        ORDER BY head_sha, created_at DESC)
     SELECT
       (SELECT head_sha FROM proposals
         WHERE installation_id = $1 AND repo = $2 AND pr_number = $3 AND kind = 'commit' AND status <> 'superseded'
         ORDER BY created_at DESC LIMIT 1) AS newest,
       (SELECT facts->'pusher' FROM heads WHERE head_sha = $4) AS pusher,
       (SELECT base FROM heads WHERE head_sha = $4) AS base,
       (SELECT facts->'commits' FROM heads WHERE head_sha = $4) AS commits,
       (SELECT facts->'commits' FROM heads WHERE head_sha = $5) AS before_commits`,
    [installationId, repo, prNumber, headSha, before ?? headSha],
  );
  return {
    newest: row?.newest ?? null,
    pusher: row?.pusher ?? null,
    base: row?.base ?? null,
    commits: row?.commits ?? null,
    beforeCommits: before ? (row?.before_commits ?? null) : null,
  };
}

/** The check run GitHub created for a proposal, kept so later writes update it (unchanged when already known). */
export async function recordCheckRunId(tx: Queryable, id: string, checkRunId: number): Promise<void> {
  await tx.query("UPDATE proposals SET check_run_id = $2 WHERE id = $1 AND check_run_id IS DISTINCT FROM $2", [
    id,
    checkRunId,
  ]);
}

/**
 * A check run is about to be created for the proposal on `headSha`: recorded
 * (and committed) before GitHub is asked, so that when the answer is lost
 * with a crash or a dropped connection, the next try knows the outcome is
 * unknown and looks for the run first.
 */
export async function recordCheckRunCreating(tx: Queryable, id: string, headSha: string, now: Date): Promise<void> {
  await tx.query(
    `UPDATE proposals SET github = github || jsonb_build_object('check_run_create', jsonb_build_object('head_sha', $2::text, 'at', $3::timestamptz))
      WHERE id = $1`,
    [id, headSha, now],
  );
}

/** Whether a check-run create was ever tried for the proposal on `headSha` (see recordCheckRunCreating). */
export function checkRunCreateTried(proposal: Pick<ProposalColumns, "github">, headSha: string): boolean {
  const tried = (proposal.github as { check_run_create?: { head_sha?: unknown } } | null)?.check_run_create;
  return typeof tried?.head_sha === "string" && tried.head_sha === headSha;
}

/** An outreach pull request moved to a new head that keeps the file: the proposal follows it, with a check run of its own to come. */
export async function moveOutreachHead(tx: Queryable, id: string, headSha: string): Promise<void> {
  await tx.query("UPDATE proposals SET head_sha = $2, check_run_id = NULL WHERE id = $1", [id, headSha]);
}

/** Claim up to `limit` due deadlines for `claimMs` (FOR UPDATE SKIP LOCKED: each goes to one process). */
export async function claimDueDeadlines(
  tx: Queryable,
  now: Date,
  claimMs: number,
  limit: number,
): Promise<{ proposal_id: string; installation_id: number }[]> {
  return tx.query<{ proposal_id: string; installation_id: number }>(
    `UPDATE proposal_deadlines SET claimed_until = $2
      WHERE proposal_id IN (
        SELECT proposal_id FROM proposal_deadlines
         WHERE expires_at <= $1 AND (claimed_until IS NULL OR claimed_until < $1)
         ORDER BY expires_at LIMIT $3 FOR UPDATE SKIP LOCKED)
      RETURNING proposal_id, installation_id`,
    [now, new Date(now.getTime() + claimMs), limit],
  );
}

/** A claimed deadline is done with (the proposal expired, or was decided or moved meanwhile). */
export async function dropDeadline(tx: Queryable, id: string): Promise<void> {
  await tx.query("DELETE FROM proposal_deadlines WHERE proposal_id = $1", [id]);
}

import type { Database } from "../db/database.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import type { ProposalRow } from "./replay.ts";

const PULL_REF = /^([A-Za-z0-9-]{1,39})\/([A-Za-z0-9._-]{1,100})#([0-9]{1,9})$/;

/** Parses `owner/repo#12`. */
export function parsePullRef(ref: string): { repo: string; pr: number } {
  const match = PULL_REF.exec(ref.trim());
  if (!match) throw new ValidationError([{ field: "pull", message: `expected owner/repo#number, got "${ref}"` }]);
  return { repo: `${match[1]}/${match[2]}`, pr: Number(match[3]) };
}

const LATEST = `SELECT id, installation_id, repo, pr_number, head_sha, status, decided_at, state
                 FROM proposals
                WHERE lower(repo) = lower($1) AND pr_number = $2 AND kind = 'commit'
                ORDER BY created_at DESC, id DESC
                LIMIT 1`;

/**
 * The installations a repository is recorded under (from installation
 * webhooks); the operator's CLI reads proposals through them.
 */
export async function installationsOfRepo(db: Database, repo: string): Promise<number[]> {
  const rows = await db.query<{ installation_id: number }>(
    "SELECT installation_id FROM installation_repositories WHERE lower(full_name) = lower($1) AND removed_at IS NULL ORDER BY installation_id",
    [repo],
  );
  return rows.map((row) => row.installation_id);
}

/**
 * The latest commit proposal of a pull request. With an installation id the
 * read runs as the app role under row level security (the API, and the CLI
 * when it knows the installation); without one it runs as the owner, which
 * sees the rows only when it is exempt from row level security.
 */
export async function loadLatestCommitProposal(
  db: Database,
  repo: string,
  pr: number,
  installationId?: number,
): Promise<ProposalRow> {
  const rows =
    installationId === undefined
      ? await db.query<ProposalRow & Record<string, unknown>>(LATEST, [repo, pr])
      : await db.tenant(installationId, (tx) => tx.query<ProposalRow & Record<string, unknown>>(LATEST, [repo, pr]));
  const row = rows[0];
  if (!row) throw new NotFoundError(`A commit proposal for ${repo}#${pr}`);
  return row;
}

import type { Database } from "../db/database.ts";
import { checkpointOrigin } from "../audit/checkpoint.ts";
import {
  checkAgainstHeld,
  recordCommitResult,
  witnessFilePath,
  type CommitResult,
} from "../audit/witness-repository.ts";
import { claimDueWitnesses, type WitnessOutcome } from "../audit/witness-sweep.ts";
import type { Witness } from "../audit/witness-store.ts";
import type { GitHubClient } from "../github/client.ts";
import { narrowedClients, type GitHubFactory } from "../github/narrowed.ts";

export interface WitnessCommitDeps {
  db: Database;
  /** Installation clients (Probot's); each call narrows them to the witness's one repository. */
  github: GitHubFactory;
  now: () => Date;
  count?: (outcome: WitnessOutcome) => void;
}

/** Reads (the file, the branch, the default branch): contents and metadata read. */
const READS = ["repos.getContent", "git.getRef", "repos.get"] as const;
/** The writes (a missing branch, the file): contents write, on the witness's repository alone. */
const WRITES = ["git.createRef", "repos.createOrUpdateFileContents"] as const;

/**
 * Commit the latest checkpoint to every repository witness behind it: read
 * the checkpoint on the branch, refuse (an alert) when the latest does not
 * extend it, else commit the latest over it. A GitHub that is down or refuses
 * is tried again with backoff, and then sent the latest checkpoint, so the
 * branch misses none that matters: each commit extends the one before.
 */
export async function commitWitnessesDue(deps: WitnessCommitDeps, limit = 20): Promise<WitnessOutcome[]> {
  const claimed = await claimDueWitnesses(deps.db, deps.now(), limit, "repository");
  const outcomes: WitnessOutcome[] = [];
  for (const w of claimed) {
    const result = await commitOne(deps, w).catch((error: unknown) => failure(w, error));
    await recordCommitResult(deps.db, w, result, deps.now());
    deps.count?.(result.kind);
    outcomes.push(result.kind);
  }
  return outcomes;
}

async function commitOne(deps: WitnessCommitDeps, w: Witness): Promise<CommitResult> {
  if (w.repository === null || w.repository_id === null || w.branch === null)
    return { kind: "failed", reason: "not a repository witness" };
  const id = w.installation_id;
  const [owner, repo] = w.repository.split("/") as [string, string];
  const at = { owner, repo, branch: w.branch, path: witnessFilePath(id) };
  const narrowed = narrowedClients(deps.github, { now: deps.now });
  const reader = await narrowed(id, w.repository_id, READS);
  const held = await readHeld(reader, at);
  const check = await checkAgainstHeld(deps.db, w, held?.text ?? null);
  if (check.kind === "refused" || check.kind === "failed") return check;
  if (check.kind === "held") return { kind: "committed", size: check.checkpoint.size, commit: null };
  const writer = await narrowed(id, w.repository_id, WRITES);
  if (!held) await ensureBranch(reader, writer, at);
  const { data } = await writer.request("PUT /repos/{owner}/{repo}/contents/{path}", {
    ...at,
    message: `Checkpoint ${check.checkpoint.size} of ${checkpointOrigin(id)}`,
    content: Buffer.from(check.checkpoint.note, "utf8").toString("base64"),
    // The file read above: GitHub refuses the write (409) if the branch moved since, and the next try reads again.
    ...(held ? { sha: held.sha } : {}),
  });
  return { kind: "committed", size: check.checkpoint.size, commit: data.commit.sha ?? null };
}

const status = (error: unknown) => (error as { status?: unknown }).status;

interface Where {
  owner: string;
  repo: string;
  branch: string;
  path: string;
}

/** The checkpoint file on the branch (text and blob sha), or null when the branch or the file is not there. */
async function readHeld(reader: GitHubClient, at: Where): Promise<{ text: string; sha: string } | null> {
  try {
    const { data } = await reader.request("GET /repos/{owner}/{repo}/contents/{path}", {
      owner: at.owner,
      repo: at.repo,
      path: at.path,
      ref: `refs/heads/${at.branch}`,
    });
    if (Array.isArray(data) || data.type !== "file") throw new Error(`${at.path} on ${at.branch} is not a file`);
    return { text: Buffer.from(data.content ?? "", "base64").toString("utf8"), sha: data.sha };
  } catch (error) {
    if (status(error) === 404) return null;
    throw error;
  }
}

/** The branch, made at the default branch's head when it does not exist yet. */
async function ensureBranch(reader: GitHubClient, writer: GitHubClient, at: Where): Promise<void> {
  try {
    await reader.request("GET /repos/{owner}/{repo}/git/ref/{ref}", {
      owner: at.owner,
      repo: at.repo,
      ref: `heads/${at.branch}`,
    });
    return;
  } catch (error) {
    if (status(error) !== 404) throw error;
  }
  const { data: repository } = await reader.request("GET /repos/{owner}/{repo}", { owner: at.owner, repo: at.repo });
  const { data: base } = await reader.request("GET /repos/{owner}/{repo}/git/ref/{ref}", {
    owner: at.owner,
    repo: at.repo,
    ref: `heads/${repository.default_branch}`,
  });
  await writer.request("POST /repos/{owner}/{repo}/git/refs", {
    owner: at.owner,
    repo: at.repo,
    ref: `refs/heads/${at.branch}`,
    sha: base.object.sha,
  });
}

/** A call that failed: retried with backoff. A refused token names what the admin must grant. */
function failure(w: Witness, error: unknown): CommitResult {
  const message = error instanceof Error ? error.message : String(error);
  if (status(error) === 422 && /permission|repositor/i.test(message))
    return {
      kind: "failed",
      reason: `GitHub refused a token with contents: write on ${w.repository ?? "?"}: the App must be installed on it, with Contents: write (${message})`,
    };
  return { kind: "failed", reason: `GitHub: ${message}` };
}

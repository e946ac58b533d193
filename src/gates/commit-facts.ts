import type { Context } from "probot";
import type { EmitterWebhookEvent } from "@octokit/webhooks";
import { recognizeAgent, type AgentFacts, type PullCommitFact } from "../policy/agent-recognition.ts";
import type { CommitFacts } from "../policy/decision.ts";
import type { RepoConfig } from "../github/repo-config.ts";
import { gatherCommitRuleFacts } from "./rule-facts.ts";

/** The part of pull_request and pull_request_review payloads the gate reads (typed from @octokit/webhooks). */
export type PullPayload = Pick<
  EmitterWebhookEvent<"pull_request.opened">["payload"],
  "installation" | "repository" | "pull_request" | "sender"
> & { action?: string; before?: string };

export interface PullFacts {
  number: number;
  headSha: string;
  baseRef: string;
  author: { login: string; type: string };
}

function logins(list: ReadonlyArray<{ login?: string } | null | undefined> | null | undefined): string[] {
  return (list ?? []).flatMap((user) => (user && "login" in user && user.login ? [user.login] : []));
}

/**
 * Who and what made this head, as agent recognition reads it: the author,
 * the pusher (the sender of a `synchronize`, or as recorded for this head), the pull request's commits
 * (`listed`, asked of GitHub now, beside the config), its assignees and requested reviewers. Reviews are
 * read only when an agent is found: a person's own pull request costs none.
 */
export async function gatherCommitFacts(
  context: Context,
  config: Extract<RepoConfig, { ok: true }>,
  pull: PullFacts,
  reviews: () => Promise<CommitFacts["reviews"]>,
  recordedPusher: { login: string; type: string } | null,
  listed: Promise<PullCommitFact[]>,
): Promise<Omit<CommitFacts, "deadline" | "expired">> {
  const payload = context.payload as unknown as PullPayload;
  const pr = payload.pull_request;
  const commits = await listed;
  const agent: AgentFacts = {
    author: pull.author.login,
    authorType: pull.author.type,
    pusher:
      payload.action === "synchronize" && payload.sender
        ? { login: payload.sender.login, type: payload.sender.type }
        : recordedPusher,
    commits,
    ...(typeof pr.commits === "number" ? { commitCount: pr.commits } : {}),
    assignees: logins(pr.assignees),
    requestedReviewers: logins(pr.requested_reviewers as ReadonlyArray<{ login?: string }> | undefined),
  };
  const facts = { ...agent, headSha: pull.headSha, base: pull.baseRef, reviews: [] };
  if (!recognizeAgent(agent, config.config, config.present).agentProposed) return facts;
  const read = await reviews();
  // What the repository's rules need (changed files, CODEOWNERS, team memberships); nothing is read without rules.
  const rules = await gatherCommitRuleFacts(context, config.config, { ...pull, author: pull.author.login }, read);
  return { ...facts, reviews: read, ...(rules ? { rules } : {}) };
}

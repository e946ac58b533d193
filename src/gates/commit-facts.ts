import type { Context } from "probot";
import { recognizeAgent, type AgentFacts, type PullCommitFact } from "../policy/agent-recognition.ts";
import type { RepoConfig } from "../policy/config.ts";
import type { CommitFacts } from "../policy/decision.ts";
import { awaitedLater } from "../errors.ts";
import { currentBase } from "../github/pull-base.ts";
import { loadRepoConfig } from "./repo-config.ts";
import { gatherReviews } from "../github/reviews.ts";
import { neverApproves } from "../policy/logins.ts";
import type { GateDeps } from "./gate-deps.ts";
import { headCommits } from "./head-commits.ts";
import type { HeadEvent, PullFacts } from "./pull-event.ts";
import { headStanding, type HeadStanding } from "./pull-head.ts";
import { gatherCommitRuleFacts } from "./rule-facts.ts";

/** A head's facts, gathered before the decision: plain data, read from GitHub and the proposals. */
export interface GatheredHead {
  /** The pull request, its base as GitHub has it when the recorded one differs. */
  pull: PullFacts;
  standing: HeadStanding;
  /** The config read for this head; null for a stale event, which reads none. */
  config: RepoConfig | null;
  /** The facts the decision reads; null when the config does not parse (or was not read). */
  facts: Omit<CommitFacts, "deadline" | "expired"> | null;
}

/**
 * Everything the commit gate decides a head from, read outside the
 * transaction. An event older than the newest head known reads nothing more
 * (GitHub is asked when in doubt). The known head and the config are read at
 * once; a head's commits are read once (kept with the head; a push reads only
 * the commits it added). The review list is read beside the config when the
 * last config seen for this repository names the author an agent; the
 * decision uses only the config read now, and reads the list after it when
 * the guess was wrong.
 */
export async function gatherHead(context: Context, event: HeadEvent, deps: GateDeps): Promise<GatheredHead> {
  const { installationId, repo, fullName } = event;
  const pull = { ...event.pull };
  const early = deps.agentHints?.likelyAgent(installationId, fullName, pull.author) ? reviewsOf(context, event) : null;
  if (early) awaitedLater(early);
  const where = { installationId, repo: fullName, prNumber: pull.number };
  const before = event.push.before;
  const configRead = loadRepoConfig(context);
  awaitedLater(configRead);
  const standing = await headStanding(context, (fn) => deps.db.tenant(installationId, fn), where, pull.headSha, before);
  // A base other than the one this head was decided for (an edit, or an event older than it) is asked of GitHub.
  if (standing.kind !== "stale" && standing.recordedBase !== null && standing.recordedBase !== pull.baseRef) {
    pull.baseRef = await currentBase(context, repo, pull.number);
  }
  const commits =
    standing.kind === "stale"
      ? Promise.resolve([])
      : headCommits(
          context,
          repo,
          { number: pull.number, headSha: pull.headSha, commitCount: event.commitCount },
          standing,
          before,
        );
  awaitedLater(commits);
  const config = standing.kind === "stale" ? null : await configRead;
  if (config?.ok) deps.agentHints?.remember(installationId, fullName, config);
  const facts = config?.ok
    ? await gatherCommitFacts(
        context,
        config,
        { ...event, pull },
        () => early ?? reviewsOf(context, event),
        standing.pusher,
        commits,
      )
    : null;
  return { pull, standing, config, facts };
}

/** The pull request's reviews; the author of an approval or change request the event reports is asked about at once. */
function reviewsOf(context: Context, event: HeadEvent): Promise<CommitFacts["reviews"]> {
  const proposer = event.pull.author.login;
  return gatherReviews(context, event.repo, event.pull.number, (login, type) => neverApproves(login, type, proposer), {
    expectedReviewer: event.reviewer,
  });
}

/**
 * Who and what made this head, as agent recognition reads it: the author,
 * the pusher (the sender of a `synchronize`, or as recorded for this head), the pull request's commits
 * (`listed`, asked of GitHub now, beside the config), its assignees and requested reviewers. Reviews are
 * read only when an agent is found: a person's own pull request costs none.
 */
async function gatherCommitFacts(
  context: Context,
  config: Extract<RepoConfig, { ok: true }>,
  event: HeadEvent,
  reviews: () => Promise<CommitFacts["reviews"]>,
  recordedPusher: { login: string; type: string } | null,
  listed: Promise<PullCommitFact[]>,
): Promise<Omit<CommitFacts, "deadline" | "expired">> {
  const { pull } = event;
  const commits = await listed;
  const agent: AgentFacts = {
    author: pull.author.login,
    authorType: pull.author.type,
    pusher: event.push.pusher ?? recordedPusher,
    commits,
    ...(event.commitCount !== undefined ? { commitCount: event.commitCount } : {}),
    assignees: event.assignees,
    requestedReviewers: event.requestedReviewers,
  };
  const facts = { ...agent, headSha: pull.headSha, base: pull.baseRef, reviews: [] };
  if (!recognizeAgent(agent, config.config, config.present).agentProposed) return facts;
  const read = await reviews();
  // What the repository's rules need (changed files, CODEOWNERS, team memberships); nothing is read without rules.
  const rules = await gatherCommitRuleFacts(context, config.config, { ...pull, author: pull.author.login }, read);
  return { ...facts, reviews: read, ...(rules ? { rules } : {}) };
}

import type { Context } from "probot";
import { ownersOf, parseCodeowners } from "../policy/codeowners.ts";
import type { GateConfig } from "../policy/config.ts";
import type { ReviewFact, RuleFacts } from "../policy/decision.ts";
import { neverApproves } from "../policy/logins.ts";
import { LISTED_FILES_CAP, matchRule, needsChangedFiles, unlistedFiles, type RuleSubject } from "../policy/rules.ts";
import { changedFilesCount, changedFilesOf } from "../github/changed-files.ts";
import { readCodeowners } from "../github/codeowners-read.ts";
import { teamMemberships } from "../github/team-membership.ts";

export interface RulePull {
  number: number;
  baseRef: string;
  headSha: string;
  author: string;
}

/**
 * What a pull request's rules need, gathered before the decision: its
 * changed files (when a rule matches paths or needs code owners), CODEOWNERS
 * at the base (when an applying rule needs code owners), and whether each
 * approver of the head belongs to the teams the applying rules and the
 * changed files' owners name. Nothing is read for a repository without rules.
 */
export async function gatherCommitRuleFacts(
  context: Context,
  config: GateConfig,
  pull: RulePull,
  reviews: readonly ReviewFact[],
): Promise<RuleFacts | undefined> {
  const rules = config.rules ?? [];
  if (rules.length === 0) return undefined;
  const repo = context.repo();
  const listing = needsChangedFiles(rules) ? await changedFilesOf(context, repo, pull.number) : null;
  // GitHub lists at most 3,000 files: a listing that may be short is compared with the pull request's count.
  const unlisted =
    listing && listing.listed >= LISTED_FILES_CAP
      ? unlistedFiles(listing.listed, await changedFilesCount(context, repo, pull.number, pull.headSha))
      : null;
  const subject: RuleSubject = {
    kind: "commit",
    baseBranch: pull.baseRef,
    changedFiles: listing?.files ?? null,
    ...(unlisted ? { unlistedFiles: unlisted } : {}),
  };
  const applying = rules.flatMap((rule) => {
    const match = matchRule(rule, subject);
    return match.applies === true ? [{ rule, files: match.files ?? [] }] : [];
  });
  const codeowners = applying.some(({ rule }) => rule.require.codeowners)
    ? await readCodeowners(context, repo, pull.baseRef)
    : undefined;
  const teams = new Set(applying.flatMap(({ rule }) => rule.require.teams ?? []));
  if (codeowners) {
    const lookup = ownersOf(parseCodeowners(codeowners.text));
    for (const { rule, files } of applying) {
      if (!rule.require.codeowners) continue;
      for (const file of files) {
        for (const owner of lookup(file).entry?.owners ?? []) if (owner.kind === "team") teams.add(owner.team);
      }
    }
  }
  const approvers = [
    ...new Map(
      reviews
        .filter(
          (review) => review.state === "APPROVED" && review.commitId?.toLowerCase() === pull.headSha.toLowerCase(),
        )
        .filter((review) => !neverApproves(review.reviewer.login, review.reviewer.type, pull.author))
        .map((review) => [review.reviewer.login.toLowerCase(), review.reviewer.login]),
    ).values(),
  ];
  const { memberships, teamErrors } = await teamMemberships(context, [...teams].sort(), approvers);
  return {
    subject,
    ...(codeowners !== undefined ? { codeowners } : {}),
    ...(memberships.length ? { memberships } : {}),
    ...(teamErrors.length ? { teamErrors } : {}),
  };
}

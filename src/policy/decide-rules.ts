import { ownersOf, parseCodeowners, type Owner } from "./codeowners.ts";
import { checkApprover, type Actor } from "./eligibility.ts";
import { sameLogin } from "./logins.ts";
import type { Permission } from "./permission.ts";
import { matchRule, type Rule, type RuleSubject } from "./rules.ts";
import { latestPerLogin, listLogins, type Decision, type Vote, type VoteContext } from "./tally.ts";

/** A team membership asked of GitHub at decision time. */
export interface MembershipFact {
  team: string;
  login: string;
  member: boolean;
}

/** Everything rules need beyond the votes, gathered before the decision. */
export interface RuleFacts {
  subject: RuleSubject;
  /** CODEOWNERS at the base (the first of GitHub's three places); null: none there; absent: not read. */
  codeowners?: { path: string; text: string } | null;
  memberships?: MembershipFact[];
  /** Teams whose members could not be asked, and why. */
  teamErrors?: { team: string; reason: "no_permission" | "unavailable" }[];
}

/** One rule's result: whether it applies, what it needs, who satisfied it, what is missing. */
export interface RuleResult {
  name: string;
  status: "satisfied" | "pending" | "error" | "skipped";
  /** Why it applies (or not). */
  when: string;
  needed: string;
  approvedBy: string[];
  missing: string | null;
}

const MAX_FILES_NAMED = 5;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function ownerText(owner: Owner): string {
  return owner.kind === "user" ? `@${owner.login}` : `@${owner.team}`;
}

function teamErrorText(team: string, reason: "no_permission" | "unavailable"): string {
  return reason === "no_permission"
    ? `the members of ${team} cannot be read: the installation lacks the organization permission "members: read"; grant it to the app (organization settings → GitHub Apps → Agent Gate → permissions) to use team rules`
    : `the members of ${team} could not be read from GitHub`;
}

/** The approving votes of each person's latest vote, as actors. */
function approvingActors(votes: readonly Vote[]): Actor[] {
  return latestPerLogin(
    votes,
    (v) => v.actor.login,
    (v) => v.at,
  )
    .filter((vote) => vote.vote === "approve")
    .map((vote) => vote.actor);
}

type Tri = true | false | "unknown";

/**
 * Evaluates each rule against the approving votes. Self-approval rules apply
 * to every rule (eligibility.ts: never the author, the pusher of the head,
 * the user who triggered the run, a configured agent or a bot, whatever the
 * rule lists: users, teams, code owners); a rule's `min_permission` replaces
 * `approvals.min_permission` for its own count. A rule that needs a fact not
 * gathered (changed files, CODEOWNERS, a team's members) is an error: it is
 * never satisfied.
 */
export function evaluateRules(
  rules: readonly Rule[],
  votes: readonly Vote[],
  context: VoteContext,
  facts: RuleFacts,
): RuleResult[] {
  const approving = approvingActors(votes);
  const membership = (team: string, login: string): Tri => {
    const fact = facts.memberships?.find((m) => m.team === team && sameLogin(m.login, login));
    return fact ? fact.member : "unknown";
  };
  const teamError = (team: string): string =>
    teamErrorText(team, facts.teamErrors?.find((e) => e.team === team)?.reason ?? "unavailable");

  return rules.map((rule): RuleResult => {
    const match = matchRule(rule, facts.subject);
    const need = rule.require;
    const permission: Permission = need.minPermission ?? context.config.approvals.minPermission;
    const who = [
      ...(need.users ?? []).map((login) => `@${login}`),
      ...(need.teams ?? []).map((team) => `members of @${team}`),
    ];
    const neededParts = [
      `${plural(need.approvals, "approval")}${who.length ? ` from ${listLogins(who).replace(/ and /, " or ")}` : ""} with ${permission} or higher`,
      ...(need.codeowners ? ["an approval by a code owner of every changed file"] : []),
    ];
    const base = { name: rule.name, needed: neededParts.join("; ") };
    if (match.applies === false)
      return { ...base, status: "skipped", when: `does not apply: ${match.why}`, approvedBy: [], missing: null };
    if (match.applies === "unknown")
      return { ...base, status: "error", when: "cannot tell", approvedBy: [], missing: match.why };

    const eligibleContext = {
      ...context,
      config: { ...context.config, approvals: { ...context.config.approvals, minPermission: permission } },
    };
    const eligible = approving.filter((actor) => checkApprover(actor, eligibleContext).eligible);
    const errors = new Set<string>();
    const listed = (actor: Actor): Tri => {
      if (!need.users && !need.teams) return true;
      if (need.users?.some((login) => sameLogin(login, actor.login))) return true;
      let unknown = false;
      for (const team of need.teams ?? []) {
        const member = membership(team, actor.login);
        if (member === true) return true;
        if (member === "unknown") {
          unknown = true;
          errors.add(teamError(team));
        }
      }
      return unknown ? "unknown" : false;
    };
    const verdicts = eligible.map((actor) => ({ actor, listed: listed(actor) }));
    const counted = verdicts.filter((v) => v.listed === true).map((v) => v.actor.login);
    const undecided = verdicts.some((v) => v.listed === "unknown");
    const missing: string[] = [];
    let blocked = false;
    if (counted.length < need.approvals) {
      missing.push(
        `${need.approvals - counted.length} more approval${need.approvals - counted.length === 1 ? "" : "s"}${who.length ? ` from ${listLogins(who).replace(/ and /, " or ")}` : ""} with ${permission} or higher`,
      );
      if (undecided) blocked = true;
    }
    const owners = new Set<string>();
    if (need.codeowners && facts.subject.kind === "commit") {
      const found = ownersFor(match.files ?? [], facts, eligible, membership, teamError, errors);
      if (found.error) {
        missing.push(found.error);
        blocked = true;
      } else {
        for (const login of found.approvedBy) owners.add(login);
        if (found.unowned.length) missing.push(found.unowned.join("; "));
        if (found.undecided) blocked = true;
      }
    }
    const approvedBy = [...new Set([...counted, ...owners])].sort((a, b) =>
      a.toLowerCase().localeCompare(b.toLowerCase()),
    );
    if (missing.length === 0)
      return { ...base, status: "satisfied", when: match.why.join("; "), approvedBy, missing: null };
    const because = [...errors];
    return {
      ...base,
      status: blocked ? "error" : "pending",
      when: match.why.join("; "),
      approvedBy,
      missing: [...missing, ...(blocked ? because : [])].join("; "),
    };
  });
}

function ownersFor(
  files: readonly string[],
  facts: RuleFacts,
  eligible: readonly Actor[],
  membership: (team: string, login: string) => Tri,
  teamError: (team: string) => string,
  errors: Set<string>,
): { error?: string; approvedBy: string[]; unowned: string[]; undecided: boolean } {
  if (facts.codeowners === undefined)
    return { error: "CODEOWNERS was not read", approvedBy: [], unowned: [], undecided: false };
  if (facts.codeowners === null) {
    return {
      error: "no CODEOWNERS file at the base (.github/CODEOWNERS, CODEOWNERS or docs/CODEOWNERS)",
      approvedBy: [],
      unowned: [],
      undecided: false,
    };
  }
  const lookup = ownersOf(parseCodeowners(facts.codeowners.text));
  const approvedBy = new Set<string>();
  const missingFiles: string[] = [];
  let undecided = false;
  for (const file of files) {
    const { entry } = lookup(file);
    if (!entry || entry.owners.length === 0) continue;
    let approved = false;
    let unknown = false;
    for (const actor of eligible) {
      for (const owner of entry.owners) {
        const is: Tri =
          owner.kind === "user" ? sameLogin(owner.login, actor.login) : membership(owner.team, actor.login);
        if (is === true) {
          approved = true;
          approvedBy.add(actor.login);
        } else if (is === "unknown" && owner.kind === "team") {
          unknown = true;
          errors.add(teamError(owner.team));
        }
      }
    }
    if (!approved) {
      if (unknown) undecided = true;
      missingFiles.push(`${file} (${entry.owners.map(ownerText).join(", ")})`);
    }
  }
  const shown = missingFiles.slice(0, MAX_FILES_NAMED);
  const more = missingFiles.length > MAX_FILES_NAMED ? ` and ${missingFiles.length - MAX_FILES_NAMED} more files` : "";
  return {
    approvedBy: [...approvedBy],
    unowned: shown.length ? [`an approval by a code owner of ${shown.join(", ")}${more}`] : [],
    undecided,
  };
}

/** The always-applying rule, `approvals:`, as a row of the table. */
function approvalsRow(decision: Decision, context: VoteContext): RuleResult {
  const { required, minPermission } = context.config.approvals;
  const short = required - decision.approvers.length;
  return {
    name: "approvals",
    status: short <= 0 ? "satisfied" : "pending",
    when: "always",
    needed: `${plural(required, "approval")} with ${minPermission} or higher`,
    approvedBy: [...decision.approvers],
    missing: short <= 0 ? null : `${short} more approval${short === 1 ? "" : "s"}`,
  };
}

/**
 * The tally's decision with the rules' results: every applying rule must be
 * satisfied for an approval; an eligible rejection still wins; a proposal
 * past its expiry with a rule unsatisfied is rejected. Without rules the
 * decision is returned as it is.
 */
export function withRules(decision: Decision, results: readonly RuleResult[], context: VoteContext): Decision {
  if (results.length === 0) return decision;
  const table = [approvalsRow(decision, context), ...results];
  const open = results.filter((result) => result.status === "pending" || result.status === "error");
  const notes = open.map((result) =>
    result.status === "error"
      ? `Rule "${result.name}" cannot be evaluated: ${result.missing}.`
      : `Rule "${result.name}" needs ${result.missing}.`,
  );
  const decided = { ...decision, reasons: [...decision.reasons, ...notes], rules: table };
  if (decision.status !== "approved" || open.length === 0) return decided;
  const first = open[0]!;
  if (context.expired) {
    return { ...decided, status: "rejected", title: `Expired without satisfying rule "${first.name}"` };
  }
  return {
    ...decided,
    status: "pending",
    title: first.status === "error" ? `Cannot evaluate rule "${first.name}"` : `Waiting for rule "${first.name}"`,
  };
}

/**
 * A gate's tally with the repository's rules applied (none configured: the
 * tally unchanged). Rules without gathered facts cannot be evaluated, so none
 * of them is satisfied: the gate stays closed.
 */
export function applyRules(
  decision: Decision,
  votes: readonly Vote[],
  context: VoteContext,
  facts: RuleFacts | undefined,
  kind: RuleSubject["kind"],
): Decision {
  const rules = context.config.rules ?? [];
  if (rules.length === 0) return decision;
  const results: RuleResult[] = facts
    ? evaluateRules(rules, votes, context, facts)
    : rules.map((rule) => ({
        name: rule.name,
        status: "error",
        when: "cannot tell",
        needed: "",
        approvedBy: [],
        missing: `the facts this ${kind} rule needs were not gathered`,
      }));
  return withRules(decision, results, context);
}

import picomatch from "picomatch";
import type { Permission } from "./permission.ts";
import type { RuleFile } from "./rules-schema.ts";

export type ProposalKind = "commit" | "deploy" | "outreach";

/** One approval rule, validated and normalised (camel case). */
export interface Rule {
  name: string;
  if: {
    paths?: string[];
    branches?: string[];
    kinds?: ProposalKind[];
    environments?: string[];
    sites?: string[];
    channels?: string[];
  };
  require: {
    approvals: number;
    minPermission?: Permission;
    users?: string[];
    teams?: string[];
    codeowners: boolean;
  };
}

export function ruleFromFile(file: RuleFile): Rule {
  const when = file.if ?? {};
  const need = file.require;
  return {
    name: file.name,
    if: Object.fromEntries(
      Object.entries(when)
        .filter(([, value]) => value !== undefined)
        .map(([k, v]) => [k, [...(v as string[])]]),
    ),
    require: {
      approvals: need.approvals,
      ...(need.min_permission ? { minPermission: need.min_permission } : {}),
      ...(need.users ? { users: [...need.users] } : {}),
      ...(need.teams ? { teams: need.teams.map((team) => team.toLowerCase()) } : {}),
      codeowners: need.codeowners,
    },
  };
}

/** What a proposal is, as rules see it: gathered before the decision. */
export interface RuleSubject {
  kind: ProposalKind;
  /** The pull request's base branch. */
  baseBranch?: string | null;
  /** The pull request's changed files (renames give both names); null: not read. */
  changedFiles?: string[] | null;
  /** Set when GitHub listed fewer changed files than the pull request has (it lists at most 3,000). */
  unlistedFiles?: UnlistedFiles | null;
  environment?: string | null;
  site?: string | null;
  channel?: string | null;
}

/** GitHub lists at most this many files of a pull request (GET /pulls/{n}/files). */
export const LISTED_FILES_CAP = 3000;

export interface UnlistedFiles {
  /** Files GitHub listed. */
  listed: number;
  /** Files the pull request changes (its `changed_files`); null: not known. */
  total: number | null;
}

/**
 * Whether GitHub's listing of changed files is short of the pull request:
 * fewer files listed than it changes, or the listing at GitHub's cap with
 * no count to tell that nothing is missing.
 */
export function unlistedFiles(listed: number, total: number | null): UnlistedFiles | null {
  if (total !== null) return total > listed ? { listed, total } : null;
  return listed >= LISTED_FILES_CAP ? { listed, total: null } : null;
}

function unlistedWhy(unlisted: UnlistedFiles): string {
  const changes = unlisted.total === null ? "may change more" : `changes ${unlisted.total.toLocaleString("en-US")}`;
  return `GitHub lists ${unlisted.listed.toLocaleString("en-US")} changed files (at most ${LISTED_FILES_CAP.toLocaleString("en-US")}) and this pull request ${changes}, so the files it did not list cannot be checked against path rules; split the pull request`;
}

/**
 * A path filter from globs: a path passes when it matches a glob without "!"
 * (or there is none) and no glob with "!". Dotfiles match like any file.
 */
export function pathFilter(globs: readonly string[]): (path: string) => boolean {
  const include = globs.filter((glob) => !glob.startsWith("!"));
  const exclude = globs.filter((glob) => glob.startsWith("!")).map((glob) => glob.slice(1));
  const included = include.length ? picomatch(include, { dot: true }) : () => true;
  const excluded = exclude.length ? picomatch(exclude, { dot: true }) : () => false;
  return (path) => included(path) && !excluded(path);
}

export type RuleMatch =
  | { applies: true; why: string[]; files: string[] | null }
  | { applies: false; why: string }
  /** The rule needs a fact that was not gathered: it cannot be decided. */
  | { applies: "unknown"; why: string };

const MAX_LISTED = 5;

function listed(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).join(", ");
  return items.length > MAX_LISTED ? `${shown} and ${items.length - MAX_LISTED} more` : shown;
}

function exact(
  key: string,
  wanted: readonly string[] | undefined,
  value: string | null | undefined,
  why: string[],
): string | null {
  if (!wanted) return null;
  if (!value) return `no ${key}`;
  if (!wanted.some((item) => item.toLowerCase() === value.toLowerCase())) return `${key} ${value} is not listed`;
  why.push(`${key} ${value}`);
  return null;
}

/**
 * Whether a rule applies to a proposal: every key of its `if` must match. A
 * key the proposal has no value for (paths of a deploy, an environment of a
 * commit) does not match. `files` are the changed files the rule covers: the
 * ones its paths matched, or all of them.
 */
export function matchRule(rule: Rule, subject: RuleSubject): RuleMatch {
  const why: string[] = [];
  const when = rule.if;
  if (when.kinds) {
    if (!when.kinds.includes(subject.kind)) return { applies: false, why: `kind ${subject.kind} is not listed` };
    why.push(`kind ${subject.kind}`);
  }
  if (when.branches) {
    if (!subject.baseBranch) return { applies: false, why: "no base branch" };
    if (!pathFilter(when.branches)(subject.baseBranch))
      return { applies: false, why: `base branch ${subject.baseBranch} does not match` };
    why.push(`base branch ${subject.baseBranch}`);
  }
  for (const [key, wanted, value] of [
    ["environment", when.environments, subject.environment],
    ["site", when.sites, subject.site],
    ["channel", when.channels, subject.channel],
  ] as const) {
    const miss = exact(key, wanted, value, why);
    if (miss) return { applies: false, why: miss };
  }
  const changed = subject.changedFiles;
  let files: string[] | null = changed ?? null;
  if (when.paths) {
    if (subject.kind !== "commit") return { applies: false, why: `a ${subject.kind} changes no files` };
    if (!changed) return { applies: "unknown", why: "the changed files were not read" };
    files = changed.filter(pathFilter(when.paths));
    // A listed file that matches decides that the rule applies; none matching decides nothing when files are unlisted.
    if (files.length === 0 && subject.unlistedFiles)
      return { applies: "unknown", why: unlistedWhy(subject.unlistedFiles) };
    if (files.length === 0) return { applies: false, why: "no changed file matches" };
    why.push(`changed ${listed(files)}`);
  }
  if (rule.require.codeowners && subject.kind === "commit" && !changed) {
    return { applies: "unknown", why: "the changed files were not read" };
  }
  // Code owners are needed for every changed file: an unlisted one has owners nobody can ask for.
  if (rule.require.codeowners && subject.kind === "commit" && subject.unlistedFiles) {
    return { applies: "unknown", why: unlistedWhy(subject.unlistedFiles) };
  }
  return { applies: true, why: why.length ? why : ["always"], files };
}

/** Whether any of the rules can match a proposal of `kind` and needs its changed files or CODEOWNERS. */
export function needsChangedFiles(rules: readonly Rule[]): boolean {
  return rules.some((rule) => rule.if.paths !== undefined || rule.require.codeowners);
}

export function needsCodeowners(rules: readonly Rule[]): boolean {
  return rules.some((rule) => rule.require.codeowners);
}

/** The teams named by rules (lower case, org/slug). */
export function ruleTeams(rules: readonly Rule[]): string[] {
  return [...new Set(rules.flatMap((rule) => rule.require.teams ?? []))];
}

/**
 * The teams whose members must be asked of GitHub to decide a subject: those
 * named by the rules that apply to it (or might: a rule that cannot be
 * matched yet still counts). Lower case, sorted.
 */
export function teamsToAsk(rules: readonly Rule[], subject: RuleSubject): string[] {
  const teams = rules
    .filter((rule) => matchRule(rule, subject).applies !== false)
    .flatMap((rule) => rule.require.teams ?? []);
  return [...new Set(teams)].sort();
}

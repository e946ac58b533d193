import { z } from "zod";
import picomatch from "picomatch";

/** A GitHub login, optionally with the "[bot]" suffix (the same as `agents`). */
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/;
/** An organization team as GitHub names it in CODEOWNERS: org/team-slug. */
const TEAM = /^[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkGlob(glob: string, ctx: z.RefinementCtx): void {
  try {
    picomatch.makeRe(glob.startsWith("!") ? glob.slice(1) : glob);
  } catch (error) {
    ctx.addIssue({
      code: "custom",
      message: `"${glob}" is not a glob picomatch can read: ${(error as Error).message}`,
    });
  }
  if (glob === "!" || glob === "") ctx.addIssue({ code: "custom", message: "a glob must not be empty" });
}

const globs = (what: string) =>
  z
    .array(
      z.string('must be a glob such as "src/**"').superRefine(checkGlob),
      `must be a list of globs, e.g. ["${what}"]`,
    )
    .min(1, "must list at least one glob");

const names = (example: string) =>
  z
    .array(z.string("must be a name").min(1, "must not be empty"), `must be a list, e.g. [${example}]`)
    .min(1, "must list at least one name");

const ruleIf = z
  .strictObject(
    {
      paths: globs(".github/workflows/**")
        .optional()
        .describe(
          'Changed files of the pull request (picomatch globs; a glob starting with "!" excludes). The rule applies when any changed file matches.',
        ),
      branches: globs("main").optional().describe("Base branches of the pull request (globs)."),
      kinds: z
        .array(
          z.enum(["commit", "deploy", "outreach"], 'must be "commit", "deploy" or "outreach"'),
          "must be a list of kinds",
        )
        .min(1, "must list at least one kind")
        .optional()
        .describe("Proposal kinds: commit, deploy, outreach."),
      environments: names("production").optional().describe("Deploy environments (exact names)."),
      sites: names("example.com").optional().describe("Target sites of a deploy or outreach proposal (exact domains)."),
      channels: z
        .array(
          z.enum(["email", "post", "message", "api"], 'must be one of "email", "post", "message" or "api"'),
          "must be a list of channels",
        )
        .min(1, "must list at least one channel")
        .optional()
        .describe("Outreach channels: email, post, message, api."),
    },
    "must be a mapping with the keys paths, branches, kinds, environments, sites or channels",
  )
  .describe("When the rule applies: every key given must match. Absent: always.");

const ruleRequire = z
  .strictObject(
    {
      approvals: z
        .number("must be a whole number from 1 to 20")
        .int("must be a whole number from 1 to 20")
        .min(1, "must be at least 1")
        .max(20, "must be at most 20")
        .default(1)
        .describe("Distinct eligible approvers this rule needs (of the listed users and teams, when given)."),
      min_permission: z
        .enum(["write", "maintain", "admin"], 'must be one of "write", "maintain" or "admin"')
        .optional()
        .describe("Lowest repository permission a counting approver holds (default: approvals.min_permission)."),
      users: z
        .array(z.string().regex(LOGIN, 'must be a GitHub login such as "alice"'), "must be a list of GitHub logins")
        .min(1, "must list at least one login")
        .optional()
        .describe("Only these users count (with teams: members of either)."),
      teams: z
        .array(
          z.string().regex(TEAM, 'must be an organization team such as "my-org/security"'),
          "must be a list of teams, e.g. [my-org/security]",
        )
        .min(1, "must list at least one team")
        .optional()
        .describe(
          "Only members of these teams count (org/team-slug). Needs the organization permission members: read.",
        ),
      codeowners: z
        .boolean("must be true or false")
        .default(false)
        .describe(
          "Every changed file needs an approval from one of its code owners (CODEOWNERS at the base; last matching pattern wins).",
        ),
    },
    "must be a mapping with the keys approvals, min_permission, users, teams or codeowners",
  )
  .describe("What the rule needs.");

export const ruleSchema = z.strictObject(
  {
    name: z
      .string("must be a name for the rule")
      .trim()
      .min(1, "must not be empty")
      .max(100, "must be at most 100 characters")
      .describe("Shown in the table of rules."),
    if: ruleIf.optional(),
    require: ruleRequire.prefault({}),
  },
  "each rule must be a mapping with the keys name, if and require",
);

export const rulesSchema = z
  .array(ruleSchema, "must be a list of rules, each with name, if and require")
  .max(50, "must hold at most 50 rules")
  .superRefine((rules, ctx) => {
    const seen = new Set<string>();
    rules.forEach((rule, index) => {
      const key = rule.name.toLowerCase();
      if (seen.has(key))
        ctx.addIssue({
          code: "custom",
          path: [index, "name"],
          message: `"${rule.name}" names two rules; names must be unique`,
        });
      seen.add(key);
    });
  })
  .default([])
  .describe("Approval rules: every rule whose `if` matches must be satisfied, besides `approvals`.");

export type RuleFile = z.output<typeof ruleSchema>;

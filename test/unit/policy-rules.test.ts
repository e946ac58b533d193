import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, parseConfig, type GateConfig, type Permission } from "../../src/policy/config.ts";
import {
  decideCommit,
  decideVotes,
  type CommitFacts,
  type ReviewFact,
  type RuleFacts,
} from "../../src/policy/decision.ts";
import { matchRule, pathFilter, teamsToAsk, unlistedFiles, type Rule } from "../../src/policy/rules.ts";

const HEAD = "c".repeat(40);
const AGENT = "seo-agent";

function configWith(yaml: object): GateConfig {
  const parsed = parseConfig({ agents: [AGENT], ...yaml }, true);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.config;
}

let minute = 0;
function approval(login: string, permission: Permission = "write", type = "User"): ReviewFact {
  minute += 1;
  return {
    reviewer: { login, type, permission },
    state: "APPROVED",
    commitId: HEAD,
    submittedAt: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(),
  };
}

function facts(reviews: ReviewFact[], rules: Partial<RuleFacts> & { files?: string[] } = {}): CommitFacts {
  const { files, ...rest } = rules;
  return {
    author: AGENT,
    authorType: "User",
    headSha: HEAD,
    reviews,
    rules: { subject: { kind: "commit", baseBranch: "main", changedFiles: files ?? ["src/index.ts"] }, ...rest },
  };
}

const WORKFLOWS = {
  name: "workflows need an admin",
  if: { paths: [".github/workflows/**"] },
  require: { min_permission: "admin" },
};

describe("rule matching", () => {
  const rule = (when: Rule["if"]): Rule => ({ name: "r", if: when, require: { approvals: 1, codeowners: false } });
  it.each<[string, Rule["if"], Parameters<typeof matchRule>[1], true | false | "unknown"]>([
    ["a path glob", { paths: ["infra/**"] }, { kind: "commit", changedFiles: ["infra/main.tf"] }, true],
    ["no changed file matches", { paths: ["infra/**"] }, { kind: "commit", changedFiles: ["src/a.ts"] }, false],
    [
      "a negated glob excludes",
      { paths: ["docs/**", "!docs/drafts/**"] },
      { kind: "commit", changedFiles: ["docs/drafts/x.md"] },
      false,
    ],
    [
      "a negated glob alone keeps the rest",
      { paths: ["!**/*.md"] },
      { kind: "commit", changedFiles: ["README.md", "src/a.ts"] },
      true,
    ],
    ["dotfiles match", { paths: [".github/**"] }, { kind: "commit", changedFiles: [".github/CODEOWNERS"] }, true],
    ["changed files not read", { paths: ["**"] }, { kind: "commit", changedFiles: null }, "unknown"],
    ["a deploy changes no files", { paths: ["**"] }, { kind: "deploy", environment: "production" }, false],
    [
      "base branch glob",
      { branches: ["release/*"] },
      { kind: "commit", baseBranch: "release/1.2", changedFiles: [] },
      true,
    ],
    ["another base branch", { branches: ["main"] }, { kind: "commit", baseBranch: "dev", changedFiles: [] }, false],
    ["kind", { kinds: ["deploy"] }, { kind: "commit", changedFiles: [] }, false],
    ["environment", { environments: ["production"] }, { kind: "deploy", environment: "Production" }, true],
    ["environment of a commit", { environments: ["production"] }, { kind: "commit", changedFiles: [] }, false],
    [
      "site and channel together",
      { sites: ["example.com"], channels: ["email"] },
      { kind: "outreach", site: "example.com", channel: "email" },
      true,
    ],
    [
      "site matches, channel not",
      { sites: ["example.com"], channels: ["email"] },
      { kind: "outreach", site: "example.com", channel: "post" },
      false,
    ],
    ["always", {}, { kind: "outreach", site: "example.com", channel: "post" }, true],
    [
      "GitHub listed fewer files than changed, none matching",
      { paths: ["infra/**"] },
      { kind: "commit", changedFiles: ["src/a.ts"], unlistedFiles: { listed: 3000, total: 3200 } },
      "unknown",
    ],
    [
      "GitHub listed fewer files than changed, one matching",
      { paths: ["infra/**"] },
      { kind: "commit", changedFiles: ["infra/a.tf"], unlistedFiles: { listed: 3000, total: 3200 } },
      true,
    ],
    [
      "unlisted files do not matter to a rule without paths",
      { branches: ["main"] },
      { kind: "commit", baseBranch: "main", changedFiles: ["src/a.ts"], unlistedFiles: { listed: 3000, total: null } },
      true,
    ],
  ])("%s", (_name, when, subject, applies) => {
    expect(matchRule(rule(when), subject).applies).toBe(applies);
  });

  it("code owners of a pull request with unlisted files cannot be checked, and the message says why", () => {
    const owners: Rule = { name: "owners", if: {}, require: { approvals: 1, codeowners: true } };
    const match = matchRule(owners, {
      kind: "commit",
      changedFiles: ["src/a.ts"],
      unlistedFiles: { listed: 3000, total: 4100 },
    });
    expect(match).toEqual({
      applies: "unknown",
      why: "GitHub lists 3,000 changed files (at most 3,000) and this pull request changes 4,100, so the files it did not list cannot be checked against path rules; split the pull request",
    });
  });

  it.each<[number, number | null, boolean]>([
    [120, 120, false],
    [2999, null, false],
    [3000, 3000, false],
    [3000, null, true],
    [3000, 3001, true],
    [40, 41, true],
  ])("%i files listed of %s changed: short of the pull request: %s", (listed, total, short) => {
    expect(unlistedFiles(listed, total) !== null).toBe(short);
  });

  it("teamsToAsk names the teams of the rules that apply to a deploy, an outreach or a commit whose files are not read", () => {
    const team = (name: string, when: Rule["if"], teams: string[]): Rule => ({
      name,
      if: when,
      require: { approvals: 1, teams, codeowners: false },
    });
    const rules = [
      team("prod", { environments: ["production"] }, ["my-org/release"]),
      team("email", { channels: ["email"] }, ["my-org/comms"]),
      team("auth", { paths: ["auth/**"] }, ["my-org/security"]),
      team("always", {}, ["my-org/release", "my-org/leads"]),
    ];
    expect(teamsToAsk(rules, { kind: "deploy", environment: "production" })).toEqual([
      "my-org/leads",
      "my-org/release",
    ]);
    expect(teamsToAsk(rules, { kind: "outreach", channel: "email" })).toEqual([
      "my-org/comms",
      "my-org/leads",
      "my-org/release",
    ]);
    expect(teamsToAsk(rules, { kind: "commit", changedFiles: null })).toEqual([
      "my-org/leads",
      "my-org/release",
      "my-org/security",
    ]);
    expect(teamsToAsk(rules, { kind: "commit", changedFiles: ["src/a.ts"] })).toEqual([
      "my-org/leads",
      "my-org/release",
    ]);
  });

  it("pathFilter takes positive and negative globs", () => {
    const filter = pathFilter(["src/**", "!src/**/*.test.ts"]);
    expect(["src/a.ts", "src/a.test.ts", "lib/b.ts"].filter(filter)).toEqual(["src/a.ts"]);
  });
});

describe("rule tally (decideCommit with rules)", () => {
  const infra = { name: "infra needs two", if: { paths: ["infra/**"] }, require: { approvals: 2 } };
  const security = { name: "security team", if: { paths: ["auth/**"] }, require: { teams: ["my-org/security"] } };
  const named = { name: "release managers", if: { branches: ["release/*"] }, require: { users: ["rita", "ravi"] } };
  const owners = { name: "code owners", require: { codeowners: true } };
  const CODEOWNERS = { path: ".github/CODEOWNERS", text: "* @lead\n/src/ @alice @my-org/web\n/src/vendor/\n" };

  it.each<[string, object[], CommitFacts, string, string, Record<string, string>]>([
    [
      "a workflow change waits for an admin",
      [WORKFLOWS],
      facts([approval("maintainer")], { files: [".github/workflows/ci.yml"] }),
      "pending",
      'Waiting for rule "workflows need an admin"',
      { "workflows need an admin": "pending" },
    ],
    [
      "an admin approves a workflow change",
      [WORKFLOWS],
      facts([approval("boss", "admin")], { files: [".github/workflows/ci.yml"] }),
      "approved",
      "Approved by boss",
      { "workflows need an admin": "satisfied" },
    ],
    [
      "a rule that does not match is skipped",
      [WORKFLOWS],
      facts([approval("maintainer")], { files: ["src/a.ts"] }),
      "approved",
      "Approved by maintainer",
      { "workflows need an admin": "skipped" },
    ],
    [
      "several rules at once: one satisfied, one not",
      [WORKFLOWS, infra],
      facts([approval("boss", "admin")], { files: [".github/workflows/ci.yml", "infra/main.tf"] }),
      "pending",
      'Waiting for rule "infra needs two"',
      { "workflows need an admin": "satisfied", "infra needs two": "pending" },
    ],
    [
      "several rules at once: both satisfied",
      [WORKFLOWS, infra],
      facts([approval("boss", "admin"), approval("maintainer")], {
        files: [".github/workflows/ci.yml", "infra/main.tf"],
      }),
      "approved",
      "Approved by boss and maintainer",
      { "workflows need an admin": "satisfied", "infra needs two": "satisfied" },
    ],
    [
      "the author's approval never counts for a rule",
      [WORKFLOWS],
      facts([approval(AGENT, "admin"), approval("maintainer")], { files: [".github/workflows/ci.yml"] }),
      "pending",
      'Waiting for rule "workflows need an admin"',
      {},
    ],
    [
      "a bot admin never counts",
      [WORKFLOWS],
      facts([approval("ci[bot]", "admin", "Bot"), approval("maintainer")], { files: [".github/workflows/ci.yml"] }),
      "pending",
      'Waiting for rule "workflows need an admin"',
      {},
    ],
    [
      "listed users",
      [named],
      {
        ...facts([approval("maintainer")]),
        rules: { subject: { kind: "commit", baseBranch: "release/2", changedFiles: [] } },
      },
      "pending",
      'Waiting for rule "release managers"',
      { "release managers": "pending" },
    ],
    [
      "a listed user approves",
      [named],
      {
        ...facts([approval("Ravi")]),
        rules: { subject: { kind: "commit", baseBranch: "release/2", changedFiles: [] } },
      },
      "approved",
      "Approved by Ravi",
      { "release managers": "satisfied" },
    ],
    [
      "a team member approves",
      [security],
      facts([approval("sam")], {
        files: ["auth/login.ts"],
        memberships: [{ team: "my-org/security", login: "sam", member: true }],
      }),
      "approved",
      "Approved by sam",
      { "security team": "satisfied" },
    ],
    [
      "a non-member does not count",
      [security],
      facts([approval("sam")], {
        files: ["auth/login.ts"],
        memberships: [{ team: "my-org/security", login: "sam", member: false }],
      }),
      "pending",
      'Waiting for rule "security team"',
      { "security team": "pending" },
    ],
    [
      "a team that cannot be read: the rule cannot be evaluated",
      [security],
      facts([approval("sam")], {
        files: ["auth/login.ts"],
        teamErrors: [{ team: "my-org/security", reason: "no_permission" }],
      }),
      "pending",
      'Cannot evaluate rule "security team"',
      { "security team": "error" },
    ],
    [
      "code owners: the last matching pattern owns src/",
      [owners],
      facts([approval("lead")], {
        files: ["src/a.ts"],
        codeowners: CODEOWNERS,
        memberships: [{ team: "my-org/web", login: "lead", member: false }],
      }),
      "pending",
      'Waiting for rule "code owners"',
      { "code owners": "pending" },
    ],
    [
      "code owners: an owner approves",
      [owners],
      facts([approval("alice")], {
        files: ["src/a.ts", "README.md"],
        codeowners: CODEOWNERS,
        memberships: [{ team: "my-org/web", login: "alice", member: false }],
      }),
      "pending",
      'Waiting for rule "code owners"',
      { "code owners": "pending" },
    ],
    [
      "code owners: owners of every file approve",
      [owners],
      facts([approval("alice"), approval("lead")], { files: ["src/a.ts", "README.md"], codeowners: CODEOWNERS }),
      "approved",
      "Approved by alice and lead",
      { "code owners": "satisfied" },
    ],
    [
      "code owners: a member of an owning team approves",
      [owners],
      facts([approval("wes")], {
        files: ["src/a.ts"],
        codeowners: CODEOWNERS,
        memberships: [{ team: "my-org/web", login: "wes", member: true }],
      }),
      "approved",
      "Approved by wes",
      { "code owners": "satisfied" },
    ],
    [
      "code owners: an unowned path needs no owner",
      [owners],
      facts([approval("maintainer")], { files: ["src/vendor/lib.js"], codeowners: CODEOWNERS }),
      "approved",
      "Approved by maintainer",
      { "code owners": "satisfied" },
    ],
    [
      "code owners: no CODEOWNERS file fails closed",
      [owners],
      facts([approval("maintainer")], { files: ["src/a.ts"], codeowners: null }),
      "pending",
      'Cannot evaluate rule "code owners"',
      { "code owners": "error" },
    ],
    [
      "changed files not read fail closed",
      [WORKFLOWS],
      { ...facts([approval("boss", "admin")]), rules: { subject: { kind: "commit", changedFiles: null } } },
      "pending",
      'Cannot evaluate rule "workflows need an admin"',
      { "workflows need an admin": "error" },
    ],
  ])("%s", (_name, rules, input, status, title, rows) => {
    const decision = decideCommit(input, configWith({ rules }), true);
    expect(decision.status).toBe(status);
    expect(decision.title).toBe(title);
    expect(decision.rules?.[0]?.name).toBe("approvals");
    for (const [name, rowStatus] of Object.entries(rows)) {
      expect(decision.rules?.find((row) => row.name === name)?.status, name).toBe(rowStatus);
    }
  });

  it("names the missing owners and the permission to grant", () => {
    const missingOwner = decideCommit(
      facts([approval("lead")], {
        files: ["src/a.ts"],
        codeowners: CODEOWNERS,
        memberships: [{ team: "my-org/web", login: "lead", member: false }],
      }),
      configWith({ rules: [owners] }),
      true,
    );
    expect(missingOwner.rules?.[1]?.missing).toBe("an approval by a code owner of src/a.ts (@alice, @my-org/web)");
    const noTeam = decideCommit(
      facts([approval("sam")], {
        files: ["auth/x"],
        teamErrors: [{ team: "my-org/security", reason: "no_permission" }],
      }),
      configWith({ rules: [security] }),
      true,
    );
    expect(noTeam.reasons.join(" ")).toMatch(/organization permission "members: read"/);
  });

  it("an eligible rejection still wins, and a rule unsatisfied at expiry rejects", () => {
    const config = configWith({
      rules: [{ name: "deploys need two", if: { environments: ["production"] }, require: { approvals: 2 } }],
    });
    const subject: RuleFacts = { subject: { kind: "deploy", environment: "production", site: "example.com" } };
    const vote = (login: string, v: "approve" | "reject") => ({
      actor: { login, type: "User", permission: "write" as const },
      vote: v,
      at: "2026-01-01T00:00:00Z",
    });
    const context = { author: AGENT, config, configPresent: true };
    expect(decideVotes([vote("a", "approve")], context, subject)).toMatchObject({
      status: "pending",
      title: 'Waiting for rule "deploys need two"',
    });
    expect(decideVotes([vote("a", "approve"), vote("b", "approve")], context, subject).status).toBe("approved");
    expect(decideVotes([vote("a", "approve"), vote("b", "reject")], context, subject).status).toBe("rejected");
    expect(decideVotes([vote("a", "approve")], { ...context, expired: true }, subject)).toMatchObject({
      status: "rejected",
      title: 'Expired without satisfying rule "deploys need two"',
    });
    // Rules configured but no facts gathered: nothing is approved.
    expect(decideVotes([vote("a", "approve"), vote("b", "approve")], context).status).toBe("pending");
  });

  it("a repository without rules decides as before, without a table", () => {
    const decision = decideCommit(facts([approval("maintainer")]), { ...DEFAULT_CONFIG, agents: [AGENT] }, true);
    expect(decision.status).toBe("approved");
    expect(decision.rules).toBeUndefined();
  });
});

describe("rules in .github/agent-gate.yml", () => {
  const recipes = (file: string) =>
    [
      ...readFileSync(new URL(`../../${file}`, import.meta.url), "utf8").matchAll(/```yaml\n(rules:\n[\s\S]*?)```/g),
    ].map((m) => m[1]!);
  it.each([["README.md"], ["docs/config.md"]])("every rules: recipe in %s is a valid config", (file) => {
    const blocks = recipes(file);
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      const parsed = parseConfig(parse(block), true);
      expect(parsed.ok ? [] : parsed.errors, block).toEqual([]);
      if (parsed.ok) expect(parsed.config.rules?.length).toBeGreaterThan(0);
    }
  });

  it.each<[string, unknown, string]>([
    ["an unknown key in require", [{ name: "x", require: { admins: 1 } }], "rules[0].require.admins"],
    ["a rule without a name", [{ require: { approvals: 2 } }], "rules[0].name"],
    ["a bad team", [{ name: "x", require: { teams: ["security"] } }], "rules[0].require.teams[0]"],
    ["a bad kind", [{ name: "x", if: { kinds: ["merge"] }, require: {} }], "rules[0].if.kinds[0]"],
    ["two rules with one name", [{ name: "x" }, { name: "X" }], "rules[1].name"],
    ["not a list", { name: "x" }, "rules"],
  ])("%s is an error naming %s", (_name, rules, path) => {
    const parsed = parseConfig({ rules }, true);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.errors.map((e) => e.path)).toContain(path);
  });
});

describe("self-approval under every rule", () => {
  // Each rule names the login under test (as a user, a team member or a code
  // owner), so only the self-approval rules can keep it from counting.
  const TEAM = "my-org/approvers";
  const ruleKinds = (login: string) =>
    [
      ["a count", { name: "rule", require: { approvals: 1 } }],
      ["a minimum permission", { name: "rule", require: { min_permission: "admin" } }],
      ["listed users", { name: "rule", require: { users: [login] } }],
      ["a team", { name: "rule", require: { teams: [TEAM] } }],
      ["code owners (a user)", { name: "rule", require: { codeowners: true } }],
      ["code owners (a team)", { name: "rule", require: { codeowners: true } }],
    ] as const;
  const codeowners = (kind: string, login: string) =>
    kind === "code owners (a team)" ? `* @${TEAM}\n` : `* @${login.replace(/\[bot\]$/, "")}\n`;
  const commitCases = [
    ["the author", AGENT, "User"],
    ["the pusher", "pushy", "User"],
    ["a configured agent", "helper-agent", "User"],
    ["a bot", "ci[bot]", "Bot"],
  ] as const;

  const commitDecision = (kind: string, rule: object, login: string, type: string) =>
    decideCommit(
      {
        ...facts([approval(login, "admin", type)], {
          files: ["src/a.ts"],
          codeowners: { path: ".github/CODEOWNERS", text: codeowners(kind, login) },
          memberships: [{ team: TEAM, login, member: true }],
        }),
        pusher: { login: "pushy", type: "User" },
      },
      configWith({ agents: [AGENT, "helper-agent"], rules: [rule] }),
      true,
    );

  for (const [who, login, type] of commitCases) {
    it.each(ruleKinds(login))(`commit: ${who} never satisfies %s`, (kind, rule) => {
      const decision = commitDecision(kind, rule, login, type);
      expect(decision.status).toBe("pending");
      const row = decision.rules?.find((r) => r.name === "rule");
      expect(row?.status).toBe("pending");
      expect(row?.approvedBy).toEqual([]);
      expect(decision.refused.map((r) => r.login)).toContain(login);
    });
  }

  it.each(ruleKinds("rita"))(
    "commit: an eligible person named the same way satisfies %s (the control)",
    (kind, rule) => {
      const decision = commitDecision(kind, rule, "rita", "User");
      expect(decision.status).toBe("approved");
      expect(decision.rules?.find((r) => r.name === "rule")).toMatchObject({
        status: "satisfied",
        approvedBy: ["rita"],
      });
    },
  );

  const deployCases = [
    ["the run's actor (the proposal's author)", "carol", "User"],
    ["the user who triggered the run (a re-run)", "runner", "User"],
    ["a configured agent", "helper-agent", "User"],
    ["a bot", "deployer[bot]", "Bot"],
  ] as const;
  const deployDecision = (rule: object, login: string, type: string) =>
    decideVotes(
      [{ actor: { login, type, permission: "admin" }, vote: "approve", at: "2026-01-01T00:00:00Z" }],
      {
        author: "carol",
        triggeredBy: "runner",
        config: configWith({ agents: [AGENT, "helper-agent"], rules: [rule] }),
        configPresent: true,
      },
      {
        subject: { kind: "deploy", environment: "production", site: "example.com" },
        memberships: [{ team: TEAM, login, member: true }],
      },
    );
  for (const [who, login, type] of deployCases) {
    it.each(ruleKinds(login).slice(0, 4))(`deploy: ${who} never satisfies %s`, (_kind, rule) => {
      const decision = deployDecision(rule, login, type);
      expect(decision.status).toBe("pending");
      expect(decision.rules?.find((r) => r.name === "rule")).toMatchObject({ status: "pending", approvedBy: [] });
      expect(decision.refused.map((r) => r.login)).toContain(login);
    });
  }
  it.each(ruleKinds("rita").slice(0, 4))("deploy: an eligible person satisfies %s (the control)", (_kind, rule) => {
    expect(deployDecision(rule, "rita", "User")).toMatchObject({ status: "approved" });
  });
});

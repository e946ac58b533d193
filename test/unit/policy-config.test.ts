import { describe, expect, it } from "vitest";
import {
  configDigest,
  configSchemaDescription,
  DEFAULT_CONFIG,
  formatDuration,
  parseConfig,
  parseDuration,
} from "../../src/policy/config.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe("parseConfig defaults", () => {
  it.each([
    ["no file", undefined, false],
    ["no file (null)", null, false],
    ["an empty file", null, true],
    ["an empty mapping", {}, true],
  ])("%s gives the defaults", (_name, raw, present) => {
    const result = parseConfig(raw, present);
    expect(result).toEqual({ ok: true, config: DEFAULT_CONFIG, present });
  });

  it("defaults are one approval with write, 72h, pull request outreach, the known agents, no environments", () => {
    expect(DEFAULT_CONFIG).toEqual({
      agents: [],
      knownAgents: true,
      agentExclusions: [],
      approvals: { required: 1, minPermission: "write", allowDirectingHuman: false },
      expiryMs: 72 * HOUR,
      deploy: { environments: {} },
      outreach: { mode: "pull_request" },
    });
    expect(Object.isFrozen(DEFAULT_CONFIG.approvals)).toBe(true);
  });

  it("fills the keys a file leaves out", () => {
    const result = parseConfig({ agents: ["seo-agent", "my-agent[bot]"], approvals: { required: 2 } }, true);
    expect(result).toEqual({
      ok: true,
      present: true,
      config: {
        ...DEFAULT_CONFIG,
        agents: ["seo-agent", "my-agent[bot]"],
        knownAgents: false,
        approvals: { required: 2, minPermission: "write", allowDirectingHuman: false },
      },
    });
  });

  it("reads every key of a full file", () => {
    const result = parseConfig(
      {
        agents: ["known", "seo-agent", "!copilot"],
        approvals: { required: 3, min_permission: "maintain", allow_directing_human: true },
        expiry: "1d12h",
        deploy: { environments: { production: "example.com", staging: "staging.example.com" } },
        outreach: { mode: "check_run" },
      },
      true,
    );
    expect(result).toEqual({
      ok: true,
      present: true,
      config: {
        agents: ["seo-agent"],
        knownAgents: true,
        agentExclusions: ["copilot"],
        approvals: { required: 3, minPermission: "maintain", allowDirectingHuman: true },
        expiryMs: 36 * HOUR,
        deploy: { environments: { production: "example.com", staging: "staging.example.com" } },
        outreach: { mode: "check_run" },
      },
    });
  });
});

describe("notify.reviewers", () => {
  it("takes logins and @org/team slugs; a config without notify keeps its digest", () => {
    const result = parseConfig({ notify: { reviewers: ["alice", "@acme/release"] } }, true);
    expect(result.ok && result.config.notify).toMatchObject({ reviewers: ["alice", "@acme/release"] });
    const empty = parseConfig({ notify: { reviewers: [] } }, true);
    expect(empty.ok && empty.config.notify && "reviewers" in empty.config.notify).toBe(false);
    const none = parseConfig({}, true);
    expect(none.ok && configDigest(none.config)).toBe(configDigest(DEFAULT_CONFIG));
    expect(none.ok && "notify" in none.config).toBe(false);
  });
});

describe("parseConfig errors name the path and the fix", () => {
  it.each<[string, unknown, string, RegExp]>([
    ["unknown top-level key", { agent: ["x"] }, "agent", /unknown key "agent"\. Did you mean "agents"\?/],
    [
      "unknown nested key",
      { approvals: { requird: 2 } },
      "approvals.requird",
      /Did you mean "required"\?.*required, min_permission/,
    ],
    [
      "unrelated key",
      { colour: "blue" },
      "colour",
      /^unknown key "colour"\. Allowed keys here: agents, approvals, rules, expiry, deploy, outreach, notify\.$/,
    ],
    ["notify.reviewers not a list", { notify: { reviewers: "alice" } }, "notify.reviewers", /list of logins and teams/],
    [
      "notify.reviewers with a bot",
      { notify: { reviewers: ["deploy-bot[bot]"] } },
      "notify.reviewers[0]",
      /GitHub login such as "alice" or an organization team such as "@acme\/release"/,
    ],
    [
      "notify.reviewers team without @",
      { notify: { reviewers: ["acme/release"] } },
      "notify.reviewers[0]",
      /organization team such as "@acme\/release"/,
    ],
    [
      "notify with an unknown key",
      { notify: { reviewer: ["alice"] } },
      "notify.reviewer",
      /unknown key "reviewer". Did you mean "reviewers"/,
    ],
    ["agents not a list", { agents: "seo-agent" }, "agents", /list of GitHub logins.*found a string/],
    ["agent with a space", { agents: ["ok", "bad name"] }, "agents[1]", /GitHub login/],
    ["an exclusion without a name", { agents: ["known", "!"] }, "agents[1]", /exclusion such as "!my-agent\[bot\]"/],
    ["an exclusion written twice", { agents: ["!!copilot"] }, "agents[0]", /known, a GitHub login.*or an exclusion/],
    [
      "allow_directing_human as text",
      { approvals: { allow_directing_human: "yes" } },
      "approvals.allow_directing_human",
      /true or false.*found a string/,
    ],
    ["required zero", { approvals: { required: 0 } }, "approvals.required", /at least 1/],
    ["required 21", { approvals: { required: 21 } }, "approvals.required", /at most 20/],
    ["required fraction", { approvals: { required: 1.5 } }, "approvals.required", /whole number/],
    ["required as text", { approvals: { required: "two" } }, "approvals.required", /whole number.*found a string/],
    [
      "min_permission read",
      { approvals: { min_permission: "read" } },
      "approvals.min_permission",
      /"write", "maintain" or "admin"/,
    ],
    ["approvals empty in YAML", { approvals: null }, "approvals", /mapping.*found nothing \(null\)/],
    ["expiry without unit", { expiry: "72" }, "expiry", /without a unit/],
    ["expiry as number", { expiry: 72 }, "expiry", /duration with a unit.*found a number/],
    ["expiry unknown unit", { expiry: "3w" }, "expiry", /unknown unit "w"/],
    ["expiry below 1m", { expiry: "30s" }, "expiry", /between 1m and 90d/],
    ["expiry above 90d", { expiry: "91d" }, "expiry", /between 1m and 90d/],
    [
      "environment with scheme",
      { deploy: { environments: { production: "https://example.com" } } },
      "deploy.environments.production",
      /bare domain name/,
    ],
    [
      "environment not a string",
      { deploy: { environments: { production: 1 } } },
      "deploy.environments.production",
      /domain name/,
    ],
    [
      "environments a list",
      { deploy: { environments: ["example.com"] } },
      "deploy.environments",
      /mapping of environment name to domain/,
    ],
    ["outreach mode unknown", { outreach: { mode: "email" } }, "outreach.mode", /"pull_request" or "check_run"/],
    ["file is a list", ["agents"], "(root)", /mapping of keys.*found a list/],
    ["file is text", "agents: x", "(root)", /mapping of keys.*found a string/],
  ])("%s", (_name, raw, path, message) => {
    const result = parseConfig(raw, true);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]!.path).toBe(path);
    expect(result.errors[0]!.message).toMatch(message);
  });

  it("reports every problem at once, one error per unknown key", () => {
    const result = parseConfig({ approvals: { required: 0, x: 1, y: 2 }, expiry: "1s", extra: true }, true);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((error) => error.path).sort()).toEqual(
      ["approvals.required", "approvals.x", "approvals.y", "expiry", "extra"].sort(),
    );
  });
});

describe("parseDuration", () => {
  it.each([
    ["72h", 72 * HOUR],
    ["3d", 3 * DAY],
    ["90m", 90 * MINUTE],
    ["1d12h", 36 * HOUR],
    ["1d2h3m4s", DAY + 2 * HOUR + 3 * MINUTE + 4_000],
    ["45s", 45_000],
    [" 2H ", 2 * HOUR],
    ["0m", 0],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ["", /not a duration/],
    ["72", /without a unit/],
    ["h", /not a duration/],
    ["3w", /unknown unit "w"/],
    ["1h1d", /largest first/],
    ["1h2h", /at most once/],
    ["-1h", /not a duration/],
    ["1.5h", /not a duration/],
    ["1 h", /not a duration/],
    ["99999999999999999999d", /too long/],
  ])("%j is refused", (text, message) => {
    expect(() => parseDuration(text)).toThrow(message);
  });

  it.each([
    [72 * HOUR, "3d"],
    [36 * HOUR, "1d12h"],
    [90 * MINUTE, "1h30m"],
    [0, "0s"],
  ])("formatDuration(%d) is %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("configDigest", () => {
  it("is stable and independent of key order", () => {
    const reordered = {
      outreach: { mode: "pull_request" as const },
      expiryMs: 72 * HOUR,
      deploy: { environments: {} },
      approvals: { allowDirectingHuman: false, minPermission: "write" as const, required: 1 },
      agentExclusions: [],
      knownAgents: true,
      agents: [],
    };
    expect(configDigest(DEFAULT_CONFIG)).toMatch(/^[0-9a-f]{64}$/);
    expect(configDigest(reordered)).toBe(configDigest(DEFAULT_CONFIG));
  });

  it("changes with any setting", () => {
    const changed = { ...DEFAULT_CONFIG, approvals: { required: 2, minPermission: "write" as const } };
    expect(configDigest(changed)).not.toBe(configDigest(DEFAULT_CONFIG));
  });
});

describe("configSchemaDescription", () => {
  it("documents every key with its type and default, from the schema", () => {
    const rows = configSchemaDescription();
    expect(rows.map((row) => [row.key, row.type, row.default])).toEqual([
      ["agents", "list of string", '["known"]'],
      ["approvals.required", "integer 1..20", "1"],
      ["approvals.min_permission", "one of: write, maintain, admin", "write"],
      ["approvals.allow_directing_human", "boolean", "false"],
      ["rules", "list of mappings", "[]"],
      ["rules[].name", "string", ""],
      ["rules[].if.paths", "list of string", ""],
      ["rules[].if.branches", "list of string", ""],
      ["rules[].if.kinds", "list of one of: commit, deploy, outreach", ""],
      ["rules[].if.environments", "list of string", ""],
      ["rules[].if.sites", "list of string", ""],
      ["rules[].if.channels", "list of one of: email, post, message, api", ""],
      ["rules[].require.approvals", "integer 1..20", "1"],
      ["rules[].require.min_permission", "one of: write, maintain, admin", ""],
      ["rules[].require.users", "list of string", ""],
      ["rules[].require.teams", "list of string", ""],
      ["rules[].require.codeowners", "boolean", "false"],
      ["expiry", "duration (e.g. 72h, 3d, 1d12h)", "72h"],
      ["deploy.environments", "map of name → domain", "{}"],
      ["outreach.mode", "one of: pull_request, check_run", "pull_request"],
      ["notify.reviewers", "list of string", "[]"],
      ["notify.channels", "list of string", "[]"],
      ["notify.routes", "list of mappings", "[]"],
      ["notify.routes[].kinds", "list of one of: commit, deploy, outreach", ""],
      ["notify.routes[].environments", "list of string", ""],
      ["notify.routes[].channels", "list of string", ""],
      ["notify.escalate_after", "duration (e.g. 72h, 3d, 1d12h)", ""],
      ["notify.escalate_to", "list of string", "[]"],
      ["notify.remind_every", "duration (e.g. 72h, 3d, 1d12h)", ""],
    ]);
    for (const row of rows) expect(row.description.length).toBeGreaterThan(20);
  });
});

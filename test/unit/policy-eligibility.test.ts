import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, type GateConfig, type Permission } from "../../src/policy/config.ts";
import { checkApprover, isAgent, type Actor } from "../../src/policy/eligibility.ts";

const config: GateConfig = { ...DEFAULT_CONFIG, agents: ["seo-agent", "My-Agent[bot]"] };

function withMinimum(minPermission: Permission): GateConfig {
  return { ...config, approvals: { required: 1, minPermission } };
}

const user = (login: string, permission: Permission = "write"): Actor => ({ login, type: "User", permission });

describe("isAgent", () => {
  it.each<[string, string, boolean, boolean]>([
    ["seo-agent", "User", true, true],
    ["SEO-Agent", "User", true, true],
    ["seo-agent[bot]", "Bot", true, true],
    ["my-agent", "User", true, true],
    ["my-agent[bot]", "Bot", true, true],
    ["alice", "User", true, false],
    ["dependabot[bot]", "Bot", true, false],
    ["dependabot[bot]", "Bot", false, true],
    ["some-app", "Bot", false, true],
    ["alice", "User", false, false],
    ["seo-agent-two", "User", true, false],
  ])("%s (%s), config present %s → %s", (login, type, present, expected) => {
    const agents = present ? config : DEFAULT_CONFIG;
    expect(isAgent(login, type, agents, present)).toBe(expected);
  });
});

describe("checkApprover refusals", () => {
  const context = { author: "seo-agent[bot]", triggeredBy: "Trigger-Happy", config, configPresent: true };

  it.each<[string, Actor, string]>([
    [
      "the author",
      { login: "SEO-Agent[bot]", type: "Bot", permission: "admin" },
      "the author cannot approve their own proposal",
    ],
    ["the author without [bot]", user("seo-agent", "admin"), "the author cannot approve their own proposal"],
    ["the triggering user", user("trigger-happy", "admin"), "the user who triggered the run cannot approve it"],
    ["a configured agent", user("my-agent", "admin"), "a configured agent cannot approve"],
    [
      "a configured agent with [bot]",
      { login: "my-agent[bot]", type: "Bot", permission: "admin" },
      "a configured agent cannot approve",
    ],
    ["a bot by type", { login: "helper", type: "Bot", permission: "admin" }, "a bot cannot approve"],
    ["a bot by [bot] suffix", { login: "renovate[bot]", type: "User", permission: "admin" }, "a bot cannot approve"],
    [
      "a read-only user",
      user("reader", "read"),
      "read permission on the repository is not enough (approving needs write or higher)",
    ],
    [
      "a user without access",
      user("stranger", "none"),
      "no permission on the repository is not enough (approving needs write or higher)",
    ],
  ])("%s", (_name, actor, reason) => {
    expect(checkApprover(actor, context)).toEqual({ eligible: false, reason });
  });

  it("a maintainer who is none of these may approve", () => {
    expect(checkApprover(user("alice"), context)).toEqual({ eligible: true });
  });

  it("without a config file any bot is an agent and refused", () => {
    const noFile = { author: "someone", config: DEFAULT_CONFIG, configPresent: false };
    expect(checkApprover({ login: "ci-app[bot]", type: "Bot", permission: "write" }, noFile)).toEqual({
      eligible: false,
      reason: "a bot cannot approve",
    });
  });

  it("no triggering user refuses nobody for that reason", () => {
    expect(checkApprover(user("alice"), { ...context, triggeredBy: null })).toEqual({ eligible: true });
  });
});

describe("checkApprover permission against min_permission", () => {
  const table: [Permission, Permission, boolean][] = [
    ["none", "write", false],
    ["read", "write", false],
    ["triage", "write", false],
    ["write", "write", true],
    ["maintain", "write", true],
    ["admin", "write", true],
    ["none", "maintain", false],
    ["read", "maintain", false],
    ["triage", "maintain", false],
    ["write", "maintain", false],
    ["maintain", "maintain", true],
    ["admin", "maintain", true],
    ["none", "admin", false],
    ["read", "admin", false],
    ["triage", "admin", false],
    ["write", "admin", false],
    ["maintain", "admin", false],
    ["admin", "admin", true],
  ];

  it.each(table)("%s against minimum %s → eligible %s", (permission, minimum, eligible) => {
    const result = checkApprover(user("alice", permission), {
      author: "seo-agent",
      config: withMinimum(minimum),
      configPresent: true,
    });
    if (eligible) {
      expect(result).toEqual({ eligible: true });
    } else {
      expect(result.eligible).toBe(false);
      expect(result.eligible === false && result.reason).toMatch(
        new RegExp(`^${permission === "none" ? "no" : permission} permission .* needs ${minimum} or higher`),
      );
    }
  });
});

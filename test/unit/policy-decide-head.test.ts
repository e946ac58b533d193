import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, configDigest, type GateConfig, type RepoConfig } from "../../src/policy/config.ts";
import { factsDigest } from "../../src/policy/decision.ts";
import { decideHead, type HeadInput } from "../../src/policy/decide-head.ts";

const HEAD = "b".repeat(40);
const AGENT = "seo-agent[bot]";
const NOW = new Date("2026-01-01T00:00:00Z");
const config: GateConfig = { ...DEFAULT_CONFIG, agents: ["seo-agent"] };
const parsed: RepoConfig = { ok: true, config, present: true, digest: configDigest(config) };
const broken: RepoConfig = { ok: false, errors: [{ path: "approvals.required", message: "expected a number" }] };

function input(over: Partial<HeadInput> = {}, author = AGENT, authorType = "Bot"): HeadInput {
  return {
    config: parsed,
    gathered: { author, authorType, headSha: HEAD, base: "main", reviews: [] },
    recorded: null,
    owner: "acme",
    author,
    sender: { login: author, type: authorType },
    now: NOW,
    ...over,
  };
}

describe("decideHead", () => {
  it.each<[string, HeadInput, string, string | null]>([
    ["an agent's head without reviews waits", input(), "pending", null],
    ["a person's own head is exempt", input({}, "octocat", "User"), "exempt", null],
    [
      "a config that does not parse rejects",
      input({ config: broken, gathered: null }),
      "rejected",
      "configuration error",
    ],
    [
      "a head past its proposal's deadline is rejected as expired",
      input({ recorded: { expiresAt: new Date(NOW.getTime() - 1), status: "pending", reopened: false } }),
      "rejected",
      "expired",
    ],
  ])("%s", (_name, head, status, reason) => {
    const outcome = decideHead(head);
    expect(outcome.status).toBe(status);
    expect(outcome.reason).toBe(reason);
  });

  it("records the facts with their deadline and digest, so the decision can be replayed", () => {
    const outcome = decideHead(input());
    expect(outcome.expiresAt.getTime()).toBe(NOW.getTime() + config.expiryMs);
    expect(outcome.state.facts).toMatchObject({ deadline: outcome.expiresAt.toISOString(), expired: false });
    expect(outcome.state.facts_digest).toBe(factsDigest(outcome.state.facts));
    expect(outcome.state.config_digest).toBe(parsed.ok ? parsed.digest : null);
    expect(outcome.senderIsAgent).toBe(true);
    expect(outcome.reviewers).toBeDefined();
  });

  it("names the config errors on a rejected head, with the default approvals", () => {
    const outcome = decideHead(input({ config: broken, gathered: null }));
    expect(outcome.state.decision.reasons).toEqual(["approvals.required: expected a number"]);
    expect(outcome.state.required).toBe(DEFAULT_CONFIG.approvals.required);
    expect(outcome.senderIsAgent).toBe(false);
  });

  it("marks a decided head waiting again as reopened, and a first wait not", () => {
    const decided = { expiresAt: new Date(NOW.getTime() + 60_000), status: "rejected", reopened: false };
    expect(decideHead(input({ recorded: decided })).state).toMatchObject({ reopened: true });
    expect(decideHead(input()).state).not.toHaveProperty("reopened");
  });
});

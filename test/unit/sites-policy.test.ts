import { describe, expect, it } from "vitest";
import { nextState, siteStanding, type SiteStatus } from "../../src/sites/policy.ts";
import { newChallengeToken, challengeFor, tokenDigest } from "../../src/sites/challenge.ts";

const DAY = 24 * 60 * 60 * 1000;
const now = new Date("2026-11-23T12:00:00Z");
const ago = (days: number) => new Date(now.getTime() - days * DAY);

describe("siteStanding", () => {
  it.each<[string, SiteStatus, string]>([
    ["pending", { state: "pending", verified_at: null, failing_since: null }, "pending"],
    ["verified just now", { state: "verified", verified_at: now, failing_since: null }, "verified"],
    [
      "verified 7 days ago, not re-checked",
      { state: "verified", verified_at: ago(7), failing_since: null },
      "verified",
    ],
    ["verified 8 days ago, not re-checked", { state: "verified", verified_at: ago(8), failing_since: null }, "lapsed"],
    ["failing for 6 days", { state: "failing", verified_at: ago(7), failing_since: ago(6) }, "verified"],
    ["failing for 7 days", { state: "failing", verified_at: ago(7), failing_since: ago(7) }, "lapsed"],
    ["lapsed", { state: "lapsed", verified_at: ago(1), failing_since: null }, "lapsed"],
  ])("%s → %s", (_label, site, standing) => {
    expect(siteStanding(site, now)).toBe(standing);
  });
});

describe("nextState", () => {
  it.each<[string, SiteStatus, boolean, Partial<ReturnType<typeof nextState>>]>([
    [
      "pending, success",
      { state: "pending", verified_at: null, failing_since: null },
      true,
      { state: "verified", verified_at: now, failing_since: null },
    ],
    [
      "pending, failure",
      { state: "pending", verified_at: null, failing_since: null },
      false,
      { state: "pending", failing_since: null, lapsed_now: false },
    ],
    [
      "verified, first failure",
      { state: "verified", verified_at: ago(1), failing_since: null },
      false,
      { state: "failing", failing_since: now, lapsed_now: false },
    ],
    [
      "failing 3 days, failure",
      { state: "failing", verified_at: ago(4), failing_since: ago(3) },
      false,
      { state: "failing", failing_since: ago(3) },
    ],
    [
      "failing 7 days, failure",
      { state: "failing", verified_at: ago(8), failing_since: ago(7) },
      false,
      { state: "lapsed", lapsed_now: true },
    ],
    [
      "failing, success",
      { state: "failing", verified_at: ago(4), failing_since: ago(3) },
      true,
      { state: "verified", failing_since: null },
    ],
    [
      "lapsed, failure",
      { state: "lapsed", verified_at: ago(9), failing_since: ago(8) },
      false,
      { state: "lapsed", lapsed_now: false },
    ],
    [
      "lapsed, success",
      { state: "lapsed", verified_at: ago(9), failing_since: ago(8) },
      true,
      { state: "verified", verified_at: now },
    ],
    [
      "verified 9 days ago, failure",
      { state: "verified", verified_at: ago(9), failing_since: null },
      false,
      { state: "lapsed", lapsed_now: true },
    ],
  ])("%s", (_label, site, verified, expected) => {
    expect(nextState(site, verified, now)).toMatchObject(expected);
  });
});

describe("challenge", () => {
  it("draws 32 base62 characters, different each time", () => {
    const tokens = new Set(Array.from({ length: 200 }, () => newChallengeToken()));
    expect(tokens.size).toBe(200);
    for (const token of tokens) expect(token).toMatch(/^[0-9A-Za-z]{32}$/);
  });

  it("names the record, its value and the file", () => {
    expect(challengeFor("example.com", "file", "T".repeat(32))).toEqual({
      domain: "example.com",
      method: "file",
      record_name: "_agent-gate.example.com",
      record_value: `agent-gate-verification=${"T".repeat(32)}`,
      file_url: "https://example.com/.well-known/agent-gate-verification.txt",
      token: "T".repeat(32),
    });
    expect(tokenDigest("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});

import { describe, expect, it } from "vitest";
import type { Permission } from "../../src/policy/permission.ts";
import { needsEligibility, pageAccess, type PageFacts } from "../../src/policy/review-access.ts";

const base: PageFacts = {
  repoPermission: "write",
  repoPrivate: true,
  kind: "deploy",
  status: "pending",
  decidedByVotes: true,
  minPermission: "write",
  eligibility: { eligible: true },
  prNumber: null,
};

describe("pageAccess", () => {
  it.each<[string, Partial<PageFacts>, { visible: boolean; fullContent: boolean; buttons: boolean }]>([
    ["eligible writer", {}, { visible: true, fullContent: true, buttons: true }],
    ["cannot see the repository", { repoPermission: null }, { visible: false, fullContent: false, buttons: false }],
    ["no permission reported", { repoPermission: "none" }, { visible: false, fullContent: false, buttons: false }],
    [
      "reader, not eligible",
      { repoPermission: "read", eligibility: { eligible: false, reason: "read permission is not enough" } },
      { visible: true, fullContent: true, buttons: false },
    ],
    [
      "reader of a public repository sees the redacted outreach",
      { kind: "outreach", repoPermission: "read", repoPrivate: false, eligibility: { eligible: false, reason: "x" } },
      { visible: true, fullContent: false, buttons: false },
    ],
    [
      "writer of a public repository sees the outreach",
      { kind: "outreach", repoPrivate: false },
      { visible: true, fullContent: true, buttons: true },
    ],
    [
      "maintain needed, write held, public",
      { repoPrivate: false, minPermission: "maintain" as Permission, eligibility: { eligible: false, reason: "x" } },
      { visible: true, fullContent: false, buttons: false },
    ],
    ["decided already", { status: "approved" }, { visible: true, fullContent: true, buttons: false }],
    [
      "decided by a pull request review",
      { kind: "commit", decidedByVotes: false, prNumber: 7 },
      { visible: true, fullContent: true, buttons: false },
    ],
    ["eligibility not asked", { eligibility: null }, { visible: true, fullContent: true, buttons: false }],
  ])("%s", (_name, change, expected) => {
    const access = pageAccess({ ...base, ...change });
    expect({ visible: access.visible, fullContent: access.fullContent, buttons: access.buttons }).toEqual(expected);
    expect(access.note === "").toBe(access.buttons || !access.visible);
  });

  it("says why there are no buttons", () => {
    expect(pageAccess({ ...base, kind: "commit", decidedByVotes: false, prNumber: 7 }).note).toBe(
      "Commits are decided by a pull request review of the head commit: review pull request #7 on GitHub.",
    );
    expect(
      pageAccess({ ...base, eligibility: { eligible: false, reason: "the author cannot approve their own proposal" } })
        .note,
    ).toBe("You cannot decide this proposal: the author cannot approve their own proposal.");
    expect(pageAccess({ ...base, status: "rejected" }).note).toBe(
      "This proposal is rejected: there is nothing left to decide.",
    );
  });

  it.each([
    ["pending", true, true],
    ["pending", false, false],
    ["approved", true, false],
  ] as const)(
    "asks GitHub for eligibility only when buttons could be offered (%s, by votes %s)",
    (status, decidedByVotes, expected) => {
      expect(needsEligibility({ status, decidedByVotes })).toBe(expected);
    },
  );
});

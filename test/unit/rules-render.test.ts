import { describe, expect, it } from "vitest";
import type { RuleResult } from "../../src/policy/decide-rules.ts";
import { escapeMarkdown } from "../../src/outbox/render-check.ts";
import { rulesTable } from "../../src/outbox/render-rules.ts";
import { rulesTableHtml } from "../../src/review/rules-table.ts";
import { renderExplanation } from "../../src/explain/render.ts";

const RULES: RuleResult[] = [
  {
    name: "approvals",
    status: "satisfied",
    when: "always",
    needed: "1 approval with write or higher",
    approvedBy: ["maintainer"],
    missing: null,
  },
  {
    name: "workflows | *admins*",
    status: "pending",
    when: "changed .github/workflows/ci.yml",
    needed: "1 approval with admin or higher",
    approvedBy: [],
    missing: "1 more approval with admin or higher",
  },
  {
    name: "<b>team</b>",
    status: "error",
    when: "always",
    needed: "1 approval from members of @org/sec with write or higher",
    approvedBy: [],
    missing: 'organization permission "members: read"',
  },
];

describe("the table of rules", () => {
  it("on the check run: one row per rule, markup in names escaped", () => {
    const lines = rulesTable(RULES, escapeMarkdown);
    expect(lines).toContain("| rule | status | applies because | needs | approved by | missing |");
    expect(lines).toContain(
      "| approvals | ✅ satisfied | always | 1 approval with write or higher | @maintainer | — |",
    );
    expect(lines.find((line) => line.includes("workflows"))).toBe(
      "| workflows \\| \\*admins\\* | ⏳ waiting | changed .github/workflows/ci.yml | 1 approval with admin or higher | — | 1 more approval with admin or higher |",
    );
    expect(rulesTable(undefined, escapeMarkdown)).toEqual([]);
  });

  it("on the review page: escaped HTML", () => {
    const html = rulesTableHtml(RULES);
    expect(html).toContain("<td>&#60;b&#62;team&#60;/b&#62;</td><td>cannot evaluate</td>");
    expect(html).not.toContain("<b>team</b>");
    expect(rulesTableHtml([])).toBe("");
  });

  it("in agent-gate explain", () => {
    const decision = {
      status: "pending" as const,
      required: 1,
      approvers: ["maintainer"],
      rejectedBy: [],
      refused: [],
      reasons: [],
      title: 'Waiting for rule "x"',
      rules: RULES,
      agentProposed: true,
    };
    const text = renderExplanation({
      proposal: { id: "prp_1", repo: "o/r", pr: 1, headSha: "a".repeat(40), status: "pending" },
      mayApprove: null,
      recorded: decision,
      replayed: decision,
      matches: true,
      problems: [],
    } as unknown as Parameters<typeof renderExplanation>[0]);
    expect(text).toContain(
      "Rule workflows | *admins*: pending — changed .github/workflows/ci.yml; needs 1 approval with admin or higher; approved by nobody; missing 1 more approval with admin or higher",
    );
  });
});

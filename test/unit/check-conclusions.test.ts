import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderCheckRun } from "../../src/outbox/render-check.ts";
import { decideMergeGroup } from "../../src/policy/merge-group.ts";
import type { ProposalKind, ProposalRow, ProposalStatus } from "../../src/proposals/store.ts";

// Every conclusion the app can write on a head an agent proposed, as a table.
// GitHub's required checks pass on `success`, `neutral` and `skipped`: only an
// approval (or a pull request that is no agent's) may carry one of them.

const PASSING = new Set(["success", "neutral", "skipped"]);
const HEAD = "a".repeat(40);
const NEWER = "b".repeat(40);

function proposal(kind: ProposalKind, status: ProposalStatus, state: Record<string, unknown> = {}): ProposalRow {
  const at = new Date("2026-01-01T00:00:00Z");
  return {
    id: "prp_table",
    installation_id: 1,
    repo: "octo/repo",
    repo_id: 1,
    kind,
    status,
    digest: kind === "commit" ? HEAD : "f".repeat(64),
    head_sha: HEAD,
    pr_number: 7,
    author: kind === "commit" ? "agent-bot" : "token:agt_abcd",
    environment: kind === "deploy" ? "production" : null,
    site: kind === "commit" ? null : "example.com",
    summary: "s",
    details: kind === "outreach" ? {} : { ref: "main" },
    reason: null,
    approvers: status === "approved" ? ["maintainer"] : [],
    check_run_id: null,
    github: {},
    created_at: at,
    updated_at: at,
    expires_at: at,
    decided_at: null,
    state: { ...(kind === "outreach" ? { mode: "check_run" } : {}), ...state },
  } as ProposalRow;
}

const STATUSES: ProposalStatus[] = ["pending", "approved", "rejected", "expired", "superseded", "exempt"];

describe("the conclusions Agent Gate writes on an agent's head", () => {
  const table: [ProposalKind, ProposalStatus, string | undefined][] = [
    ["commit", "pending", undefined],
    ["commit", "approved", "success"],
    ["commit", "rejected", "failure"],
    ["commit", "expired", "failure"],
    ["commit", "superseded", "cancelled"],
    ["commit", "exempt", "success"], // not an agent's pull request
    ["deploy", "pending", "action_required"],
    ["deploy", "approved", "success"],
    ["deploy", "rejected", "failure"],
    ["deploy", "expired", "failure"],
    ["deploy", "superseded", "failure"],
    ["outreach", "pending", "action_required"],
    ["outreach", "approved", "success"],
    ["outreach", "rejected", "failure"],
    ["outreach", "expired", "failure"],
    ["outreach", "superseded", "failure"],
  ];

  it.each(table)("%s proposal %s → %s", (kind, status, conclusion) => {
    const run = renderCheckRun(proposal(kind, status), "https://gate.example");
    expect(run.conclusion).toBe(conclusion);
    expect(run.status).toBe(conclusion === undefined ? "in_progress" : "completed");
  });

  it("covers every status of every kind, and only an approval (or no agent at all) passes", () => {
    for (const kind of ["commit", "deploy", "outreach"] as const) {
      for (const status of STATUSES) {
        if (status === "exempt" && kind !== "commit") continue;
        const run = renderCheckRun(proposal(kind, status), "https://gate.example");
        expect(
          table.some(([k, s]) => k === kind && s === status),
          `${kind} ${status} is in the table`,
        ).toBe(true);
        if (PASSING.has(run.conclusion ?? "")) expect(["approved", "exempt"], `${kind} ${status}`).toContain(status);
      }
    }
  });

  it("titles a superseded head's failing run with the commit that replaced it", () => {
    const run = renderCheckRun(proposal("commit", "superseded", { superseded_by: NEWER }), "https://gate.example");
    expect(run).toMatchObject({
      status: "completed",
      conclusion: "cancelled",
      output: { title: `Superseded by ${NEWER.slice(0, 7)}` },
    });
    // An approval given before the push does not make the superseded head pass.
    const approved = renderCheckRun(
      { ...proposal("commit", "superseded", { superseded_by: NEWER }), approvers: ["maintainer"] },
      "https://gate.example",
    );
    expect(approved.conclusion).toBe("cancelled");
    expect(renderCheckRun(proposal("commit", "superseded"), "https://gate.example").output.title).toBe(
      "Superseded by a newer commit",
    );
  });

  it("a head pending again after a decision is completed as action_required (GitHub keeps a completed run's conclusion)", () => {
    const run = renderCheckRun(proposal("commit", "pending", { reopened: true }), "https://gate.example");
    expect(run).toMatchObject({ status: "completed", conclusion: "action_required" });
  });

  it("a configuration error is a failure, never a pass", () => {
    const run = renderCheckRun(
      proposal("commit", "rejected", {
        config_errors: [{ path: "approvals", message: "bad" }],
        decision: { status: "rejected", title: "Configuration error" },
      }),
      "https://gate.example",
    );
    expect(run.conclusion).toBe("failure");
  });

  it("a merge group passes only when every pull request was approved", () => {
    expect(decideMergeGroup([{ number: 1, headSha: HEAD, status: "superseded" }], null, "main").conclusion).toBe(
      "failure",
    );
    expect(decideMergeGroup([{ number: 1, headSha: HEAD, status: "pending" }], null, "main").conclusion).toBe(
      "failure",
    );
    expect(decideMergeGroup([], null, "main").conclusion).toBe("failure");
  });

  it("no source file writes `neutral` or `skipped` as a conclusion", () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (
          path.endsWith(".ts") &&
          /conclusion[^\n]{0,40}["'](neutral|skipped)["']/.test(readFileSync(path, "utf8"))
        )
          offenders.push(path);
      }
    };
    walk(join(import.meta.dirname, "../../src"));
    expect(offenders).toEqual([]);
  });
});

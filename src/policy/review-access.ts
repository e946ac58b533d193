import type { Permission } from "./permission.ts";
import { permissionAtLeast } from "./permission.ts";
import type { Eligibility } from "./eligibility.ts";

/** What the review page knows when it decides what to show one signed-in person. */
export interface PageFacts {
  /** The person's permission as GitHub shows it to their own token; null when they cannot see the repository. */
  repoPermission: Permission | null;
  repoPrivate: boolean;
  kind: "commit" | "deploy" | "outreach";
  status: string;
  /** Deploys and check-run outreach are decided by votes; commits and outreach pull requests by reviews. */
  decidedByVotes: boolean;
  /** `approvals.min_permission` of the proposal. */
  minPermission: Permission;
  /** Whether the person may vote, asked at view time by the same rules as a vote; null when not asked. */
  eligibility: Eligibility | null;
  prNumber: number | null;
}

export interface PageAccess {
  /** The page exists for this person; otherwise they get the same 404 as for a missing proposal. */
  visible: boolean;
  /** Outreach recipients and text are shown; otherwise the redacted summary. */
  fullContent: boolean;
  /** Approve and Reject are offered. */
  buttons: boolean;
  /** Why there are no buttons (empty when there are). */
  note: string;
}

/** Whether the page must ask GitHub for the person's eligibility: only when buttons could be offered. */
export function needsEligibility(facts: Pick<PageFacts, "status" | "decidedByVotes">): boolean {
  return facts.status === "pending" && facts.decidedByVotes;
}

/**
 * Read permission shows the page. Outreach text, which may hold personal
 * data, is shown in full in a private repository to anyone who can read it
 * (they can read the proposal file there too); in a public repository only to
 * people holding the approval permission, others see the redacted summary.
 * Buttons follow the approval rules, for proposals decided by votes.
 */
export function pageAccess(facts: PageFacts): PageAccess {
  const visible = facts.repoPermission !== null && permissionAtLeast(facts.repoPermission, "read");
  if (!visible) return { visible: false, fullContent: false, buttons: false, note: "" };
  const fullContent = facts.repoPrivate || permissionAtLeast(facts.repoPermission ?? "none", facts.minPermission);
  let note = "";
  if (facts.status !== "pending") note = `This proposal is ${facts.status}: there is nothing left to decide.`;
  else if (!facts.decidedByVotes) {
    const where = facts.prNumber === null ? "its pull request" : `pull request #${facts.prNumber}`;
    note =
      facts.kind === "commit"
        ? `Commits are decided by a pull request review of the head commit: review ${where} on GitHub.`
        : `This proposal is decided by a review of ${where} on GitHub.`;
  } else if (!facts.eligibility) note = "Whether you may decide could not be checked.";
  else if (!facts.eligibility.eligible) note = `You cannot decide this proposal: ${facts.eligibility.reason}.`;
  return { visible, fullContent, buttons: note === "", note };
}

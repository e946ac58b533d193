/** The branch that carries an outreach proposal's file. */
export function outreachBranch(id: string): string {
  return `agent-gate/outreach/${id}`;
}

/** The proposal file on that branch. */
export function outreachPath(id: string): string {
  return `.agent-gate/outreach/${id}.md`;
}

const BRANCH = /^agent-gate\/outreach\/(prp_[0-9A-Za-z]{20})$/;

/** The proposal id of an outreach branch, or null for any other branch. */
export function proposalOfBranch(ref: string): string | null {
  return BRANCH.exec(ref)?.[1] ?? null;
}

export const PUBLIC_REPO_REFUSAL =
  "outreach is refused in public repositories: a pull request or check run there is readable by anyone, so it cannot show the recipients and body, and the review page that shows them only to eligible reviewers does not exist yet. Use a private repository.";

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

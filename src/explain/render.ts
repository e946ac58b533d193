import { describeFinding } from "../policy/agent-recognition.ts";
import type { Explanation } from "./replay.ts";

/** The explanation as text for a terminal. */
export function renderExplanation(e: Explanation): string {
  const lines = [
    `${e.proposal.repo}#${e.proposal.pr ?? "?"} at ${e.proposal.headSha?.slice(0, 7) ?? "?"} — ${e.proposal.status} (proposal ${e.proposal.id})`,
  ];
  if (e.mayApprove) {
    lines.push(
      `May approve: ${e.mayApprove.required} distinct human(s) with ${e.mayApprove.minPermission} permission or more, not the author, not an agent or bot` +
        (e.mayApprove.configPresent
          ? ` (agents: ${e.mayApprove.agents.join(", ") || "none listed"})`
          : " (no config file: every bot counts as an agent)"),
    );
  }
  const decision = e.replayed ?? e.recorded;
  if (decision) {
    lines.push(`Decision: ${decision.title}`);
    for (const finding of decision.recognition ?? []) {
      lines.push(`Agent-proposed by rule ${finding.rule}: ${describeFinding(finding)}`);
    }
    lines.push(`Approved by: ${decision.approvers.join(", ") || "nobody yet"}`);
    if (decision.rejectedBy.length) lines.push(`Changes requested by: ${decision.rejectedBy.join(", ")}`);
    for (const refusal of decision.refused) lines.push(`Not counted: ${refusal.login} — ${refusal.reason}`);
    for (const reason of decision.reasons) lines.push(`Why: ${reason}`);
    for (const rule of decision.rules ?? []) {
      lines.push(
        `Rule ${rule.name}: ${rule.status} — ${rule.when}; needs ${rule.needed}; approved by ${rule.approvedBy.join(", ") || "nobody"}${rule.missing ? `; missing ${rule.missing}` : ""}`,
      );
    }
  }
  lines.push(
    e.matches === true
      ? "Replay: the policy gives the recorded decision again."
      : e.matches === false
        ? "Replay: MISMATCH — the policy now decides differently from what was recorded."
        : "Replay: not possible.",
  );
  for (const problem of e.problems) lines.push(`Note: ${problem}`);
  return lines.join("\n");
}

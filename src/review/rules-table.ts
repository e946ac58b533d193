import type { RuleResult } from "../policy/decide-rules.ts";
import { escapeHtml as e } from "./html.ts";

const STATUS: Record<RuleResult["status"], string> = {
  satisfied: "satisfied",
  pending: "waiting",
  error: "cannot evaluate",
  skipped: "does not apply",
};

/** The table of rules on the review page: one row per rule, as the check run shows it. */
export function rulesTableHtml(rules: readonly RuleResult[] | undefined): string {
  if (!rules || rules.length === 0) return "";
  return [
    `<h2>Rules</h2>`,
    `<div class="scroll"><table class="rules"><thead><tr><th>Rule</th><th>Status</th><th>Applies because</th><th>Needs</th><th>Approved by</th><th>Missing</th></tr></thead><tbody>`,
    ...rules.map(
      (rule) =>
        `<tr class="rule-${e(rule.status)}"><td>${e(rule.name)}</td><td>${e(STATUS[rule.status] ?? rule.status)}</td><td>${e(rule.when)}</td><td>${e(rule.needed)}</td><td>${rule.approvedBy.map(e).join(", ") || "—"}</td><td>${rule.missing ? e(rule.missing) : "—"}</td></tr>`,
    ),
    `</tbody></table></div>`,
  ].join("");
}

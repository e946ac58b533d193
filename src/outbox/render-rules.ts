import type { RuleResult } from "../policy/decide-rules.ts";

const STATUS: Record<RuleResult["status"], string> = {
  satisfied: "✅ satisfied",
  pending: "⏳ waiting",
  error: "⛔ cannot evaluate",
  skipped: "➖ does not apply",
};

/** Markdown-safe cell text (escape comes from the caller, so the one escaper is used everywhere). */
export function rulesTable(rules: readonly RuleResult[] | undefined, escape: (text: string) => string): string[] {
  if (!rules || rules.length === 0) return [];
  const cell = (text: string) => escape(text).replace(/\n/g, " ");
  return [
    "",
    "**Rules:**",
    "",
    "| rule | status | applies because | needs | approved by | missing |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rules.map(
      (rule) =>
        `| ${cell(rule.name)} | ${STATUS[rule.status]} | ${cell(rule.when)} | ${cell(rule.needed)} | ${rule.approvedBy.map((login) => `@${cell(login)}`).join(", ") || "—"} | ${rule.missing ? cell(rule.missing) : "—"} |`,
    ),
  ];
}

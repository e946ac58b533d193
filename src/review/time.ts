import { escapeHtml as e } from "./html.ts";

const UNITS: [string, number][] = [
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
];

/** "just now", "5 minutes ago", "in 2 days": the largest whole unit between `at` and `now`. */
export function relativeTime(at: Date, now: Date): string {
  const delta = at.getTime() - now.getTime();
  const size = Math.abs(delta);
  for (const [unit, ms] of UNITS) {
    if (size >= ms) {
      const n = Math.floor(size / ms);
      const text = `${n} ${unit}${n === 1 ? "" : "s"}`;
      return delta < 0 ? `${text} ago` : `in ${text}`;
    }
  }
  return "just now";
}

/** A relative time, with the exact time (UTC) in the title and the datetime attribute. */
export function timeTag(at: Date | string, now: Date): string {
  const date = at instanceof Date ? at : new Date(at);
  if (Number.isNaN(date.getTime())) return e(String(at));
  const iso = date.toISOString();
  return `<time datetime="${e(iso)}" title="${e(iso.replace("T", " ").replace(/\.\d{3}Z$/, " UTC"))}">${e(relativeTime(date, now))}</time>`;
}

/** A long hex id (a SHA, a hash) shortened to 12 characters, the full value in the title. */
export function shortHex(value: string): string {
  return value.length <= 12 ? `<code>${e(value)}</code>` : `<code title="${e(value)}">${e(value.slice(0, 12))}</code>`;
}

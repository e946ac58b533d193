const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
type Unit = keyof typeof UNIT_MS;
const UNITS: readonly Unit[] = ["d", "h", "m", "s"];

/**
 * Parses a duration such as "72h", "3d", "90m" or "1d12h" into milliseconds.
 * Units are d, h, m and s, each at most once, largest first. Throws a
 * RangeError saying what is wrong on anything else.
 */
export function parseDuration(text: string): number {
  if (typeof text !== "string") throw new RangeError(`a duration must be text like "72h", not ${typeof text}`);
  const trimmed = text.trim().toLowerCase();
  const parts = [...trimmed.matchAll(/(\d+)([a-z]*)/g)];
  const rebuilt = parts.map((part) => part[0]).join("");
  if (trimmed === "" || parts.length === 0 || rebuilt !== trimmed) {
    throw new RangeError(
      `"${text}" is not a duration: use a number and a unit (d, h, m, s), for example "72h", "3d" or "1d12h"`,
    );
  }
  let total = 0;
  let lastIndex = -1;
  for (const [, digits, unit] of parts) {
    const index = UNITS.indexOf(unit as Unit);
    if (unit === "" || index < 0) {
      throw new RangeError(
        `"${text}" has ${unit === "" ? "a number without a unit" : `an unknown unit "${unit}"`}: use d, h, m or s, for example "72h"`,
      );
    }
    if (index <= lastIndex) {
      throw new RangeError(
        `"${text}" repeats or reorders units: write each of d, h, m, s at most once, largest first, like "1d12h"`,
      );
    }
    lastIndex = index;
    total += Number(digits) * UNIT_MS[unit as Unit];
  }
  if (!Number.isSafeInteger(total)) throw new RangeError(`"${text}" is too long a duration`);
  return total;
}

/** Formats milliseconds back into the shortest duration text, e.g. 129600000 → "1d12h". */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`cannot format ${ms} as a duration`);
  if (ms === 0) return "0s";
  let rest = ms;
  let text = "";
  for (const unit of UNITS) {
    const count = Math.floor(rest / UNIT_MS[unit]);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * UNIT_MS[unit];
  }
  return rest > 0 ? `${text}${rest}ms` : text;
}

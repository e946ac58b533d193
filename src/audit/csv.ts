import { canonicalJson } from "../canonical-json.ts";
import type { AuditEvent } from "./chain.ts";

/** Column order of the CSV export: every field of an event, data as canonical JSON text. */
export const CSV_COLUMNS = [
  "installation_id",
  "seq",
  "created_at",
  "action",
  "actor",
  "actor_is_bot",
  "actor_is_agent",
  "repo",
  "subject",
  "outcome",
  "data",
  "prev_hash",
  "hash",
] as const satisfies readonly (keyof AuditEvent)[];

/** A spreadsheet runs a cell starting with one of these as a formula. */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell: text a spreadsheet would run as a formula is prefixed with `'`,
 * then RFC 4180 quoting (quotes doubled) when the cell holds a comma, quote,
 * CR or LF, or starts or ends with a space.
 */
export function csvCell(value: string | number | boolean | null): string {
  if (value === null) return "";
  let text = String(value);
  if (typeof value === "string" && FORMULA_START.test(text)) text = `'${text}`;
  if (/[",\r\n]|^ | $/.test(text)) return `"${text.replace(/"/g, '""')}"`;
  return text;
}

/** A CRLF-terminated record (RFC 4180). */
export function csvRecord(cells: (string | number | boolean | null)[]): string {
  return `${cells.map(csvCell).join(",")}\r\n`;
}

export function csvHeader(): string {
  return csvRecord([...CSV_COLUMNS]);
}

export function csvEventRecord(event: AuditEvent): string {
  return csvRecord(CSV_COLUMNS.map((column) => (column === "data" ? canonicalJson(event.data) : event[column])));
}

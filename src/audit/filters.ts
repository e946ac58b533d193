import { ValidationError } from "../errors.ts";

export type ExportFormat = "jsonl" | "csv";

/** What an export selects; every value is only ever a query parameter. */
export interface ExportFilters {
  /** ISO 8601, inclusive. */
  since: string | null;
  /** ISO 8601, exclusive. */
  until: string | null;
  /** Exact match on the event's repo ("owner/name"). */
  repo: string | null;
  /** Exact match on the event's action. */
  action: string | null;
}

const MAX_TEXT = 256;
const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

type Raw = Partial<Record<keyof ExportFilters | "format", string | null | undefined>>;

/**
 * Check the filters an admin gave (query string or CLI flags). Errors name each
 * field at fault. Text filters keep every character but control characters:
 * they are compared literally, so `%`, quotes or `'; DROP` only ever match
 * themselves.
 */
export function parseExportRequest(raw: Raw): { filters: ExportFilters; format: ExportFormat } {
  const issues: { field: string; message: string }[] = [];
  const time = (field: "since" | "until"): string | null => {
    const value = raw[field];
    if (value === undefined || value === null || value === "") return null;
    const ms = ISO.test(value) ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(ms)) {
      issues.push({ field, message: "must be an ISO 8601 date or time, e.g. 2026-11-01T00:00:00Z" });
      return null;
    }
    return new Date(ms).toISOString();
  };
  const text = (field: "repo" | "action"): string | null => {
    const value = raw[field];
    if (value === undefined || value === null || value === "") return null;
    if (value.length > MAX_TEXT) issues.push({ field, message: `must be at most ${MAX_TEXT} characters` });
    else if (CONTROL.test(value)) issues.push({ field, message: "must not contain control characters" });
    else return value;
    return null;
  };
  const filters: ExportFilters = {
    since: time("since"),
    until: time("until"),
    repo: text("repo"),
    action: text("action"),
  };
  const format = raw.format === undefined || raw.format === null || raw.format === "" ? "jsonl" : raw.format;
  if (format !== "jsonl" && format !== "csv") issues.push({ field: "format", message: "must be jsonl or csv" });
  if (filters.since && filters.until && filters.since >= filters.until) {
    issues.push({ field: "until", message: "must be later than since" });
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return { filters, format: format as ExportFormat };
}

/** No repo or action filter: the export is an unbroken run of the chain. */
export function isContiguous(filters: ExportFilters): boolean {
  return filters.repo === null && filters.action === null;
}

import { describe, expect, it } from "vitest";
import { isContiguous, parseExportRequest } from "../../src/audit/filters.ts";
import { ValidationError } from "../../src/errors.ts";

function fields(raw: Parameters<typeof parseExportRequest>[0]): string[] {
  try {
    parseExportRequest(raw);
    return [];
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return error.issues.map((issue) => issue.field);
  }
}

describe("parseExportRequest", () => {
  it("defaults to an unfiltered JSONL export", () => {
    expect(parseExportRequest({})).toEqual({
      filters: { since: null, until: null, repo: null, action: null },
      format: "jsonl",
    });
  });

  it("normalises times to UTC ISO form", () => {
    const { filters } = parseExportRequest({ since: "2026-11-01", until: "2026-11-02T01:00:00+01:00" });
    expect(filters.since).toBe("2026-11-01T00:00:00.000Z");
    expect(filters.until).toBe("2026-11-02T00:00:00.000Z");
  });

  it.each([
    [{ since: "yesterday" }, ["since"]],
    [{ until: "2026-13-45" }, ["until"]],
    [{ since: "2026-11-02", until: "2026-11-01" }, ["until"]],
    [{ format: "xlsx" }, ["format"]],
    [{ repo: "a".repeat(300) }, ["repo"]],
    [{ action: "x\u0000y" }, ["action"]],
    [{ since: "x", format: "pdf" }, ["since", "format"]],
  ])("names the field at fault for %j", (raw, expected) => {
    expect(fields(raw)).toEqual(expected);
  });

  it("keeps hostile text as a literal value", () => {
    const { filters } = parseExportRequest({ repo: "o'; DROP TABLE audit_events;--", action: "%" });
    expect(filters.repo).toBe("o'; DROP TABLE audit_events;--");
    expect(filters.action).toBe("%");
    expect(isContiguous(filters)).toBe(false);
  });
});

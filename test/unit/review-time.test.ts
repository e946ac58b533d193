import { describe, expect, it } from "vitest";
import { relativeTime, shortHex, timeTag } from "../../src/review/time.ts";

const NOW = new Date("2026-12-01T12:00:00Z");

describe("review page times and hashes", () => {
  it.each([
    ["2026-12-01T11:59:30Z", "just now"],
    ["2026-12-01T11:55:00Z", "5 minutes ago"],
    ["2026-12-01T11:00:00Z", "1 hour ago"],
    ["2026-11-28T12:00:00Z", "3 days ago"],
    ["2026-12-08T12:00:00Z", "in 7 days"],
  ])("shows %s as %s", (at, text) => {
    expect(relativeTime(new Date(at), NOW)).toBe(text);
  });

  it("keeps the exact time on hover and in the datetime attribute", () => {
    expect(timeTag("2026-12-01T11:55:00.000Z", NOW)).toBe(
      '<time datetime="2026-12-01T11:55:00.000Z" title="2026-12-01 11:55:00 UTC">5 minutes ago</time>',
    );
  });

  it("shortens a SHA to 12 characters with the full one in the title", () => {
    const sha = "0123456789abcdef0123456789abcdef01234567";
    expect(shortHex(sha)).toBe(`<code title="${sha}">0123456789ab</code>`);
  });
});

import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

// SECURITY.md proves each promise by naming tests (file › title). Every name
// must be a test that exists, so the page cannot drift from the suite.

const doc = readFileSync(new URL("../../SECURITY.md", import.meta.url), "utf8");
const citations = [...doc.matchAll(/^- (test\/[\w/.-]+\.test\.ts) › (.+)$/gm)].map((m) => ({
  file: m[1]!,
  title: m[2]!,
}));

/** The cited title as the source spells it: the last segment, without a trailing explanation. */
function titleOf(cited: string): string[] {
  const last = cited.split(" › ").pop()!.trim();
  return [last, last.replace(/ \(.*\)$/, ""), last.replace(/: .*$/, "")];
}

describe("SECURITY.md", () => {
  it("cites tests under every promise", () => {
    const sections = doc.split(/^### /m).slice(1);
    expect(sections.length).toBeGreaterThan(0);
    for (const section of sections) expect(section, section.split("\n")[0]).toMatch(/^- test\//m);
  });

  it.each(citations.map((c) => [`${c.file} › ${c.title}`, c] as const))(
    "names an existing test: %s",
    (_label, { file, title }) => {
      expect(existsSync(new URL(`../../${file}`, import.meta.url)), file).toBe(true);
      const source = readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");
      expect(
        titleOf(title).some((t) => source.includes(t)),
        title,
      ).toBe(true);
    },
  );
});

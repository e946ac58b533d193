import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIG_DOCS_PATH, renderConfigDocs } from "../../scripts/gen-config-docs.ts";
import { configSchemaDescription } from "../../src/policy/config-docs.ts";

describe("docs/config.md", () => {
  it("is what scripts/gen-config-docs.ts generates from the schema (run it when this fails)", () => {
    expect(readFileSync(CONFIG_DOCS_PATH, "utf8")).toBe(renderConfigDocs());
  });

  it("documents every key of the schema", () => {
    const text = readFileSync(CONFIG_DOCS_PATH, "utf8");
    for (const { key } of configSchemaDescription()) expect(text).toContain(`| \`${key}\` |`);
  });
});

// Writes docs/config.md from the config schema: `npx tsx scripts/gen-config-docs.ts`.
// test/unit/ops-config-docs.test.ts fails when the committed file is stale.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { configSchemaDescription } from "../src/policy/config-docs.ts";

export const CONFIG_DOCS_PATH = fileURLToPath(new URL("../docs/config.md", import.meta.url));

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

export function renderConfigDocs(): string {
  const rows = configSchemaDescription().map((d) => `| \`${d.key}\` | ${cell(d.type)} | \`${cell(d.default)}\` | ${cell(d.description)} |`);
  return [
    "# `.github/agent-gate.yml` reference",
    "",
    "<!-- Generated from the config schema by scripts/gen-config-docs.ts; do not edit by hand. -->",
    "",
    "Every key is optional; an absent file means every default below, and every bot account counts as an agent.",
    "An unknown key or a bad value keeps the gate closed and names the key in the check run.",
    "",
    "| Key | Type | Default | Meaning |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
    "Example:",
    "",
    "```yaml",
    "agents:",
    "  - seo-agent",
    '  - "release-bot[bot]"',
    "approvals:",
    "  required: 2",
    "  min_permission: maintain",
    "expiry: 3d",
    "deploy:",
    "  environments:",
    "    production: example.com",
    "```",
    "",
  ].join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(CONFIG_DOCS_PATH, renderConfigDocs());
  console.log(`wrote ${CONFIG_DOCS_PATH}`);
}

// Writes docs/config.md from the config schema: `npx tsx scripts/gen-config-docs.ts`.
// test/unit/ops-config-docs.test.ts fails when the committed file is stale.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { configSchemaDescription } from "../src/policy/config-docs.ts";
import { KNOWN_AGENTS } from "../src/policy/known-agents.ts";

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
    "Every key is optional; an absent file means every default below (the known agents are gated), and every bot account counts as an agent too.",
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
    "  - known            # the built-in list of AI coding agents",
    "  - seo-agent",
    '  - "release-bot[bot]"',
    '  - "!google-jules"  # excluded: never treated as an agent here',
    "approvals:",
    "  required: 2",
    "  min_permission: maintain",
    "  allow_directing_human: false",
    "expiry: 3d",
    "deploy:",
    "  environments:",
    "    production: example.com",
    "```",
    "",
    "## Known agents",
    "",
    "`known` stands for these identities (src/policy/known-agents.ts, each with the public page that shows it). A pull request",
    "head is agent-proposed when any of them, or a login listed in `agents`, opened it, pushed it, authored or committed a commit",
    "in it, or is named in a commit's `Co-authored-by:` trailer (any casing; a GitHub noreply address counts as its login).",
    "",
    "| Id | Agent | Logins | Commit emails |",
    "| --- | --- | --- | --- |",
    ...KNOWN_AGENTS.map(
      (agent) =>
        `| \`${agent.id}\` | ${cell(agent.name)} | ${agent.logins.map((l) => `\`${l}\``).join(", ") || "—"} | ${agent.emails.map((m) => `\`${m}\``).join(", ") || "—"} |`,
    ),
    "",
  ].join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(CONFIG_DOCS_PATH, renderConfigDocs());
  console.log(`wrote ${CONFIG_DOCS_PATH}`);
}

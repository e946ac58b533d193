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
  const rows = configSchemaDescription().map(
    (d) => `| \`${d.key}\` | ${cell(d.type)} | \`${cell(d.default)}\` | ${cell(d.description)} |`,
  );
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
    "## Approval rules",
    "",
    "`approvals:` always applies. Each entry of `rules:` whose `if` matches must be satisfied as well; every key of",
    "an `if` must match (a commit has no environment, a deploy changes no files), and a rule without `if` always",
    "applies. Self-approval rules hold for every rule, whatever it lists (users, teams, code owners): the author,",
    "the user who pushed the head, the run's actor and the user who triggered it, configured agents and bots never",
    "count. A rule that cannot be evaluated (the changed files or CODEOWNERS unreadable, a pull request with more",
    "changed files than GitHub lists (3,000) under a path or code-owner rule, a team whose members the app may not",
    "read) is never satisfied, and the check run says why. Team memberships are asked of GitHub when a commit, a",
    "deploy or an outreach is decided. The check run, the review page",
    "and `agent-gate explain` show one row per rule: whether it applies, what it needs, who satisfied it, what is missing.",
    "",
    "```yaml",
    "rules:",
    "  # An agent's change to CI or infrastructure needs an admin.",
    "  - name: workflows and infra need an admin",
    '    if: { paths: [".github/workflows/**", "infra/**", "!infra/docs/**"] }',
    "    require: { min_permission: admin }",
    "  # A deploy to production needs two people.",
    "  - name: production needs two",
    "    if: { environments: [production] }",
    "    require: { approvals: 2 }",
    "  # An outreach email needs someone from the communications team (organization permission members: read).",
    "  - name: email needs comms",
    "    if: { kinds: [outreach], channels: [email] }",
    "    require: { teams: [my-org/comms] }",
    "  # Every changed file needs an approval by one of its code owners (CODEOWNERS at the base).",
    "  - name: code owners",
    '    if: { branches: [main, "release/*"] }',
    "    require: { codeowners: true }",
    "  # Named release managers for release branches.",
    "  - name: release managers",
    '    if: { branches: ["release/*"] }',
    "    require: { users: [rita, ravi] }",
    "```",
    "",
    "Paths and branches are [picomatch](https://github.com/micromatch/picomatch) globs (dotfiles match); a glob",
    "starting with `!` excludes. CODEOWNERS is read from `.github/CODEOWNERS`, `CODEOWNERS` or `docs/CODEOWNERS`",
    "(the first found, GitHub's order) at the pull request's base branch, with GitHub's syntax: the last matching",
    "pattern wins, `@user` and `@org/team` owners count, email owners cannot be matched to an account.",
    "",
    "A merge queue's group passes only when every pull request in it was approved, under its rules, at the head that",
    "entered the queue: the one the queue's branch names and the ones queued before it in the same group, found from",
    "the group's commits. The failure names the pull request that was not approved.",
    "",
  ].join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(CONFIG_DOCS_PATH, renderConfigDocs());
  console.log(`wrote ${CONFIG_DOCS_PATH}`);
}

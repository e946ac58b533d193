/**
 * The built-in list of AI coding agents' GitHub identities, gated by
 * `agents: known` (the default). Each entry names the public page that shows
 * the identity; only identities confirmed there are listed.
 *
 * - `id`: a short name; `agents: [known, "!id"]` excludes the entry.
 * - `logins`: GitHub accounts the agent opens pull requests or pushes as.
 * - `emails`: the commit email the tool writes (as author, committer or in a
 *   `Co-authored-by:` trailer). A GitHub noreply address
 *   (`123+login@users.noreply.github.com`) is matched by its login instead.
 * - `directed_by_assignment`: the agent is given its work by assigning it;
 *   the pull request's human assignees and requested reviewers directed it.
 */
export interface KnownAgent {
  /** Written "!id" in `agents` to exclude the whole entry. */
  id: string;
  name: string;
  logins: readonly string[];
  emails: readonly string[];
  directed_by_assignment: boolean;
  sources: readonly string[];
}

export const KNOWN_AGENTS: readonly KnownAgent[] = [
  {
    id: "copilot",
    name: "GitHub Copilot coding agent",
    logins: ["Copilot", "copilot-swe-agent[bot]"],
    emails: [],
    directed_by_assignment: true,
    sources: [
      // Assigning an issue to Copilot assigns the bot copilot-swe-agent; its pull requests are shown as Copilot.
      "https://github.com/microsoft/vscode-pull-request-github/pull/6794",
      "https://github.com/posit-dev/ark/pull/1000",
      "https://github.com/atvirokodosprendimai/wgmesh/pull/473",
      // The Co-authored-by trailer: Copilot <223556219+Copilot@users.noreply.github.com>.
      "https://github.com/orgs/community/discussions/203517",
    ],
  },
  {
    id: "claude-code",
    name: "Claude Code",
    logins: [],
    emails: ["noreply@anthropic.com"],
    directed_by_assignment: false,
    sources: [
      // Co-Authored-By: Claude <noreply@anthropic.com>
      "https://github.com/radiusmethod/crow/issues/246",
      "https://github.com/apache/pinot/issues/18688",
    ],
  },
  {
    id: "openai-codex",
    name: "OpenAI Codex",
    logins: [],
    emails: ["noreply@openai.com"],
    directed_by_assignment: false,
    sources: [
      // Co-authored-by: Codex <noreply@openai.com>
      "https://github.com/openai/codex/pull/11617",
    ],
  },
  {
    id: "cursor",
    name: "Cursor agent",
    logins: [],
    emails: ["cursoragent@cursor.com"],
    directed_by_assignment: false,
    sources: [
      // Cursor adds its own Co-authored-by trailer with cursoragent@cursor.com.
      "https://github.com/block/aittributor/pull/15",
    ],
  },
  {
    id: "google-jules",
    name: "Google Jules",
    logins: ["google-labs-jules[bot]"],
    emails: [],
    directed_by_assignment: false,
    sources: ["https://github.com/aavetis/PRarena/pull/57"],
  },
];

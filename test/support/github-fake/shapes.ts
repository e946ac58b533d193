import { fakeSha, type GitHubState, type StoredCheckRun } from "./state.ts";

// Response bodies in GitHub's shapes, with the fields clients commonly read.

export function userShape(api: string, login: string, id = idFor(login)): Record<string, unknown> {
  const bot = login.endsWith("[bot]");
  return {
    login,
    id,
    node_id: `U_${id}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    url: `${api}/users/${encodeURIComponent(login)}`,
    html_url: `https://github.com/${login}`,
    type: bot ? "Bot" : "User",
    site_admin: false,
  };
}

export function idFor(text: string): number {
  return parseInt(fakeSha(text).slice(0, 7), 16);
}

export function repoShape(api: string, state: GitHubState, fullName: string): Record<string, unknown> {
  const settings = state.repo(fullName);
  const [owner = "", name = ""] = fullName.split("/");
  return {
    id: settings.id,
    node_id: `R_${settings.id}`,
    name,
    full_name: fullName,
    private: settings.private,
    visibility: settings.private ? "private" : "public",
    owner: userShape(api, owner),
    html_url: `https://github.com/${fullName}`,
    url: `${api}/repos/${fullName}`,
    fork: false,
    archived: false,
    disabled: false,
    default_branch: settings.default_branch,
    created_at: "2024-01-01T00:00:00Z",
    updated_at: "2024-01-01T00:00:00Z",
    pushed_at: "2024-01-01T00:00:00Z",
  };
}

export function installationShape(api: string, state: GitHubState, id: number): Record<string, unknown> {
  const settings = state.installation(id);
  return {
    id,
    account: userShape(api, settings.account),
    repository_selection: "selected",
    access_tokens_url: `${api}/app/installations/${id}/access_tokens`,
    repositories_url: `${api}/installation/repositories`,
    html_url: `https://github.com/organizations/${settings.account}/settings/installations/${id}`,
    app_id: 1,
    app_slug: "agent-gate",
    target_id: idFor(settings.account),
    target_type: "Organization",
    permissions: settings.permissions,
    events: settings.events,
    created_at: "2024-01-01T00:00:00Z",
    updated_at: "2024-01-01T00:00:00Z",
    single_file_name: null,
    suspended_at: null,
    suspended_by: null,
  };
}

export function checkRunShape(api: string, run: StoredCheckRun): Record<string, unknown> {
  const output = run.output ?? {};
  return {
    id: run.id,
    node_id: `CR_${run.id}`,
    head_sha: run.head_sha,
    external_id: run.external_id ?? "",
    url: `${api}/repos/${run.repo}/check-runs/${run.id}`,
    html_url: `https://github.com/${run.repo}/runs/${run.id}`,
    details_url: run.details_url ?? null,
    status: run.status,
    conclusion: run.conclusion,
    started_at: run.started_at,
    completed_at: run.completed_at,
    output: {
      title: output.title ?? null,
      summary: output.summary ?? null,
      text: output.text ?? null,
      annotations_count: Array.isArray(output.annotations) ? output.annotations.length : 0,
      annotations_url: `${api}/repos/${run.repo}/check-runs/${run.id}/annotations`,
    },
    name: run.name,
    check_suite: { id: run.id },
    app: { id: 1, slug: "agent-gate", name: "Agent Gate" },
    pull_requests: [],
  };
}

export function contentShape(api: string, fullName: string, path: string, text: string): Record<string, unknown> {
  const sha = blobSha(text);
  return {
    type: "file",
    encoding: "base64",
    size: Buffer.byteLength(text),
    name: path.split("/").pop(),
    path,
    content: Buffer.from(text).toString("base64"),
    sha,
    url: `${api}/repos/${fullName}/contents/${path}`,
    git_url: `${api}/repos/${fullName}/git/blobs/${sha}`,
    html_url: `https://github.com/${fullName}/blob/main/${path}`,
    download_url: `https://raw.githubusercontent.com/${fullName}/main/${path}`,
  };
}

export function blobSha(text: string): string {
  const bytes = Buffer.from(text);
  return fakeSha(`blob ${bytes.length}\0${bytes.toString("binary")}`);
}

export function pullShape(
  api: string,
  state: GitHubState,
  fullName: string,
  pull: Record<string, any>,
): Record<string, any> {
  const number = Number(pull.number);
  const id = pull.id ?? idFor(`${fullName}#${number}`);
  const repo = repoShape(api, state, fullName);
  return {
    id,
    node_id: `PR_${id}`,
    number,
    state: "open",
    locked: false,
    title: "",
    body: null,
    draft: false,
    merged: false,
    user: userShape(api, "octocat"),
    url: `${api}/repos/${fullName}/pulls/${number}`,
    html_url: `https://github.com/${fullName}/pull/${number}`,
    created_at: "2024-01-01T00:00:00Z",
    updated_at: "2024-01-01T00:00:00Z",
    author_association: "CONTRIBUTOR",
    ...pull,
    head: { ref: "feature", sha: fakeSha(`${fullName}#${number}:head`), repo, ...(pull.head ?? {}) },
    base: { ref: String(repo.default_branch), sha: fakeSha(`${fullName}#${number}:base`), repo, ...(pull.base ?? {}) },
  };
}

export function legacyPermission(permission: string): string {
  if (permission === "maintain") return "write";
  if (permission === "triage") return "read";
  return permission;
}

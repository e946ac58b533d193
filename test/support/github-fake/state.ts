import { createHash } from "node:crypto";
import { HookLog } from "./hook-log.ts";

// Repository state the fake's default routes serve. Plain maps, no HTTP here.

export type Permission = "admin" | "maintain" | "write" | "triage" | "read" | "none";

export interface RepoSettings {
  id: number;
  private: boolean;
  default_branch: string;
  installation_id?: number; // unset: the repository belongs to whichever installation asks
}

export interface StoredCheckRun {
  id: number;
  repo: string;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  output: any;
  actions: any[];
  external_id?: string;
  details_url?: string;
  started_at: string;
  completed_at: string | null;
  history: object[];
}

export interface InstallationSettings {
  id: number;
  account: string;
  permissions: Record<string, string>;
  events: string[];
}

export function fakeSha(seed: string): string {
  return createHash("sha1").update(seed).digest("hex");
}

/** A commit as GET /compare lists it: its sha, message, parents and (optionally) the account that committed it. */
export interface HistoryCommit {
  sha: string;
  message: string;
  parents?: string[];
  committer?: string | null;
}

export class GitHubState {
  readonly repos = new Map<string, RepoSettings>();
  readonly files = new Map<string, string>(); // repo \0 branch \0 path → text
  readonly permissions = new Map<string, Permission>(); // repo \0 login
  readonly reviews = new Map<string, object[]>(); // repo \0 number
  readonly pullCommits = new Map<string, object[]>(); // repo \0 number
  readonly pullFiles = new Map<string, { filename: string; previous_filename?: string }[]>(); // repo \0 number
  readonly teams = new Map<string, Set<string>>(); // "org/slug" (lower case) → member logins (lower case)
  readonly pulls = new Map<string, Record<string, any>>(); // repo \0 number
  readonly refs = new Map<string, string>(); // repo \0 "refs/heads/x" → sha
  readonly commits = new Map<string, Map<string, string>>(); // repo \0 commit sha → path → text
  readonly history = new Map<string, HistoryCommit[]>(); // repo \0 "base...head" → the commits GET /compare lists, oldest first
  readonly commitPulls = new Map<string, number[]>(); // repo \0 commit sha → the pull requests GET /commits/{sha}/pulls lists
  readonly checkRuns: StoredCheckRun[] = [];
  readonly installations = new Map<number, InstallationSettings>();
  /** The App's webhook delivery log, and where webhooks are sent. */
  readonly hooks = new HookLog();
  /** The GitHub App's OAuth client (user-to-server tokens), when a test sets one. */
  oauthClient: { clientId: string; clientSecret: string } | null = null;
  /** Who is signed in to GitHub in the browser that reaches /login/oauth/authorize. */
  webUser: string | null = null;
  readonly oauthCodes = new Map<string, { login: string; redirectUri: string | null; expiresAt: number }>();
  readonly userTokens = new Map<string, string>(); // user-to-server token → login
  /** Manifests submitted to /settings/apps/new, by the temporary code GitHub redirects back with (one use, one hour). */
  readonly manifestCodes = new Map<string, { manifest: Record<string, any>; expiresAt: number }>();
  /** Apps created from a manifest conversion, with the credentials GitHub returned once. */
  readonly createdApps: {
    id: number;
    slug: string;
    manifest: Record<string, any>;
    pem: string;
    webhook_secret: string;
    client_id: string;
    client_secret: string;
  }[] = [];
  private nextRepoId = 1000;
  private nextCheckRunId = 1;
  private sequence = 0;

  nextSequence(): number {
    return ++this.sequence;
  }

  repo(fullName: string): RepoSettings {
    let settings = this.repos.get(fullName);
    if (!settings) {
      settings = { id: this.nextRepoId++, private: false, default_branch: "main" };
      this.repos.set(fullName, settings);
    }
    return settings;
  }

  repoById(id: number): string | undefined {
    for (const [name, settings] of this.repos) if (settings.id === id) return name;
    return undefined;
  }

  installation(id: number): InstallationSettings {
    let settings = this.installations.get(id);
    if (!settings) {
      settings = {
        id,
        account: "octo-org",
        // Generous, so only a test that tightens it with setInstallation sees 422s.
        permissions: {
          metadata: "read",
          contents: "write",
          checks: "write",
          pull_requests: "write",
          actions: "read",
          deployments: "write",
          statuses: "read",
        },
        events: ["pull_request", "pull_request_review", "check_run", "deployment_protection_rule"],
      };
      this.installations.set(id, settings);
    }
    return settings;
  }

  /** A file on a branch, or in a commit recorded by `commitBranch` when `branch` is its sha. */
  getFile(repo: string, branch: string | undefined, path: string): string | undefined {
    const snapshot = branch ? this.commits.get(`${repo}\0${branch}`) : undefined;
    if (snapshot) return snapshot.get(path);
    const base = this.repo(repo).default_branch;
    const onBranch = this.files.get(`${repo}\0${branch ?? base}\0${path}`);
    if (onBranch !== undefined || branch === undefined || branch === base) return onBranch;
    // A branch that never received this file shows the default branch's copy.
    return this.files.get(`${repo}\0${base}\0${path}`);
  }

  putFile(repo: string, branch: string | undefined, path: string, content: string | null): void {
    const key = `${repo}\0${branch ?? this.repo(repo).default_branch}\0${path}`;
    if (content === null) this.files.delete(key);
    else this.files.set(key, content);
  }

  /** Record the branch's files as a new commit, move the branch to it, and return its sha. */
  commitBranch(repo: string, branch: string, seed: string): string {
    const sha = fakeSha(`${repo}:${branch}:${seed}:${this.nextSequence()}`);
    const snapshot = new Map<string, string>();
    const base = this.repo(repo).default_branch;
    for (const from of branch === base ? [base] : [base, branch]) {
      const prefix = `${repo}\0${from}\0`;
      for (const [key, text] of this.files) if (key.startsWith(prefix)) snapshot.set(key.slice(prefix.length), text);
    }
    this.commits.set(`${repo}\0${sha}`, snapshot);
    this.refs.set(`${repo}\0refs/heads/${branch}`, sha);
    return sha;
  }

  getRef(repo: string, ref: string): string | undefined {
    const full = ref.startsWith("refs/") ? ref : `refs/${ref}`;
    const sha = this.refs.get(`${repo}\0${full}`);
    if (sha) return sha;
    // The default branch always exists, at a stable made-up commit.
    if (full === `refs/heads/${this.repo(repo).default_branch}`) return fakeSha(`${repo}:${full}`);
    return undefined;
  }

  addCheckRun(repo: string, body: Record<string, any>, now: Date): StoredCheckRun {
    const run: StoredCheckRun = {
      id: this.nextCheckRunId++,
      repo,
      name: String(body.name),
      head_sha: String(body.head_sha),
      status: "queued",
      conclusion: null,
      output: null,
      actions: [],
      started_at: now.toISOString(),
      completed_at: null,
      history: [],
    };
    this.checkRuns.push(run);
    this.updateCheckRun(run, body, now);
    return run;
  }

  updateCheckRun(run: StoredCheckRun, body: Record<string, any>, now: Date): void {
    run.history.push(structuredClone(body));
    if (typeof body.name === "string") run.name = body.name;
    if (typeof body.status === "string") run.status = body.status;
    if (body.conclusion !== undefined) run.conclusion = body.conclusion;
    if (body.conclusion != null) run.status = "completed";
    if (run.status === "completed" && !run.completed_at) run.completed_at = body.completed_at ?? now.toISOString();
    if (body.started_at) run.started_at = body.started_at;
    if (body.output !== undefined) run.output = body.output;
    if (Array.isArray(body.actions)) run.actions = body.actions;
    if (typeof body.external_id === "string") run.external_id = body.external_id;
    if (typeof body.details_url === "string") run.details_url = body.details_url;
  }
}

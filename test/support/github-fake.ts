import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Conformance } from "./github-fake/conformance.ts";
import { compileRoute, matchRoute, type Route } from "./github-fake/route-match.ts";
import { defaultRoutes, webFlowProblems, webRoutes, type RouteContext } from "./github-fake/routes.ts";
import { GitHubState, type HistoryCommit, type Permission, type StoredCheckRun } from "./github-fake/state.ts";
import type { LoggedDelivery } from "./github-fake/hook-log.ts";

// A GitHub stand-in on loopback. The app reaches it as GitHub Enterprise
// (`${url}/api/v3`); every request is recorded, answered from repository state
// and checked against GitHub's OpenAPI description.

export interface GitHubCall {
  method: string;
  path: string; // without /api/v3, without query
  query: URLSearchParams;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  route: string | null; // matched template like "/repos/{owner}/{repo}/check-runs"
  /** A request to GitHub's web host (the OAuth web flow), not to the API under /api/v3. */
  web: boolean;
}

export interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type ReplyFn = (call: GitHubCall) => Reply | Promise<Reply>;

const key = (method: string, route: string) => `${method.toUpperCase()} ${route}`;

export class GitHubFake {
  readonly calls: GitHubCall[] = [];
  readonly state = new GitHubState();
  /** The clock used for timestamps in replies (check runs, token expiry). */
  now: () => Date = () => new Date();
  /** Every API read (GET) is answered after this many milliseconds: a slow GitHub. */
  readDelayMs = 0;
  private readOutage: number | null = null;
  private readStall: Promise<void> | null = null;
  /** Called after each reply with one line: method, path, status and any problems (for the CLI). */
  log: ((line: string) => void) | null = null;
  private readonly routes: Route[] = defaultRoutes.map((r) => compileRoute(r.method, r.route));
  private readonly handlers = new Map(defaultRoutes.map((r) => [key(r.method, r.route), r.handle] as const));
  private readonly webRoutes: Route[] = webRoutes.map((r) => compileRoute(r.method, r.route));
  private readonly webHandlers = new Map(webRoutes.map((r) => [key(r.method, r.route), r.handle] as const));
  private readonly overrides = new Map<string, ReplyFn>();
  private readonly failures = new Map<string, { times: number; status: number; headers: Record<string, string> }>();
  private readonly lostAnswers = new Map<string, { times: number; status: number }>();
  private readonly unmatched: GitHubCall[] = [];
  /** Rate-limit headers sent on every answer instead of the defaults (see rateLimit). */
  private rateLimitHeaders: Record<string, string> = {};
  private readonly problems: { call: GitHubCall; problems: string[] }[] = [];
  /** Answers counted against the installations' rate limit: every API answer but a 304 and the App's own (JWT) calls. */
  readonly rateLimited: GitHubCall[] = [];
  /** Conditional reads answered 304 Not Modified (free, as on GitHub). */
  readonly notModified: GitHubCall[] = [];
  /** The budget of the window (x-ratelimit-limit); remaining counts down from it as calls are counted. */
  rateLimitBudget = 5000;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly conformance: Conformance | null,
  ) {}

  static async start(options: { validate?: boolean; port?: number; host?: string } = {}): Promise<GitHubFake> {
    const conformance = options.validate === false ? null : Conformance.load();
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const fake = new GitHubFake(server, `http://127.0.0.1:${port}`, conformance);
    server.on("request", (req, res) => {
      fake.handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { "content-type": "application/json; charset=utf-8" });
        res.end(JSON.stringify({ message: `github-fake: ${String(error)}` }));
      });
    });
    return fake;
  }

  /** The base URL to give Octokit (GitHub Enterprise form). */
  get apiUrl(): string {
    return `${this.url}/api/v3`;
  }

  callsTo(method: string, route: string): GitHubCall[] {
    return this.calls.filter((call) => call.method === method.toUpperCase() && call.route === route);
  }

  /** Answers `method route` with `reply` instead of the default (or adds the route). */
  on(method: string, route: string, reply: ReplyFn): void {
    if (!this.routes.some((r) => r.method === method.toUpperCase() && r.route === route)) {
      this.routes.push(compileRoute(method, route));
    }
    this.overrides.set(key(method, route), reply);
  }

  /** Answers the next `times` calls to `method route` with `status`, then behaves normally. */
  failNext(method: string, route: string, times: number, status: number, headers: Record<string, string> = {}): void {
    if (!this.routes.some((r) => r.method === method.toUpperCase() && r.route === route)) {
      this.routes.push(compileRoute(method, route));
    }
    this.failures.set(key(method, route), { times, status, headers });
  }

  /**
   * Performs the next `times` calls to `method route` as usual, then answers
   * `status` instead of their result: GitHub did the work, the answer was lost.
   */
  loseAnswerOfNext(method: string, route: string, times: number, status: number): void {
    if (!this.routes.some((r) => r.method === method.toUpperCase() && r.route === route)) {
      this.routes.push(compileRoute(method, route));
    }
    this.lostAnswers.set(key(method, route), { times, status });
  }

  /** While set, every API read (GET) is answered with this status, as GitHub answers in an outage; null ends it. */
  failReads(status: number | null): void {
    this.readOutage = status;
  }

  /** Every API read (GET) from now on waits, unanswered, until the returned function is called: a GitHub that stalls. */
  stallReads(): () => void {
    let release!: () => void;
    this.readStall = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.readStall = null;
      release();
    };
  }

  /** From now on, every answer says this many calls remain until `resetEpochSeconds`. */
  rateLimit(remaining: number, resetEpochSeconds: number): void {
    this.rateLimitHeaders = {
      "x-ratelimit-remaining": String(remaining),
      "x-ratelimit-reset": String(resetEpochSeconds),
    };
  }

  setFile(repo: string, path: string, content: string | null, branch?: string): void {
    this.state.putFile(repo, branch, path, content);
  }

  /** A push to `branch`: sets (or, with null, deletes) a file there and moves the branch to a new commit, whose sha is returned. */
  pushFile(repo: string, branch: string, path: string, content: string | null): string {
    this.state.putFile(repo, branch, path, content);
    return this.state.commitBranch(repo, branch, `${path}:${content}`);
  }

  setPermission(repo: string, login: string, permission: Permission): void {
    this.state.permissions.set(`${repo}\0${login}`, permission);
  }

  /** The commits GET /pulls/{n}/commits lists (none until set). */
  setPullCommits(repo: string, pull: number, commits: object[]): void {
    this.state.pullCommits.set(`${repo}\0${pull}`, structuredClone(commits));
  }

  setReviews(repo: string, pull: number, reviews: object[]): void {
    this.state.reviews.set(`${repo}\0${pull}`, reviews);
    this.touchPull(repo, pull);
  }

  /** As on GitHub, a review (or a push) moves the pull request's updated_at, so its ETag changes. */
  private touchPull(repo: string, pull: number): void {
    const stored = this.state.pulls.get(`${repo}\0${pull}`);
    if (!stored) return;
    this.touches += 1;
    stored.updated_at = new Date(this.now().getTime() + this.touches).toISOString();
  }
  private touches = 0;

  /** The files a pull request changes, as GET .../pulls/{n}/files lists them (a rename: "old -> new"). */
  setPullFiles(repo: string, pull: number, files: string[]): void {
    this.state.pullFiles.set(
      `${repo}\0${pull}`,
      files.map((file) => {
        const [from, to] = file.split(" -> ");
        return to ? { filename: to, previous_filename: from! } : { filename: file };
      }),
    );
  }

  /** The commits GET /compare/{base}...{head} lists between two commits (oldest first). */
  setHistory(repo: string, base: string, head: string, commits: HistoryCommit[]): void {
    this.state.history.set(`${repo}\0${base}...${head}`, structuredClone(commits));
  }

  /** The pull requests (numbers of ones set with setPullRequest) GET /commits/{sha}/pulls lists for a commit. */
  setCommitPulls(repo: string, sha: string, pulls: number[]): void {
    this.state.commitPulls.set(`${repo}\0${sha}`, [...pulls]);
  }

  /** An organization team's active members. */
  setTeam(team: string, members: string[]): void {
    this.state.teams.set(team.toLowerCase(), new Set(members.map((login) => login.toLowerCase())));
  }

  setPullRequest(repo: string, pull: object): void {
    const number = (pull as { number?: unknown }).number;
    if (typeof number !== "number") throw new Error("setPullRequest: the pull request needs a numeric `number`");
    this.state.pulls.set(`${repo}\0${number}`, structuredClone(pull) as Record<string, unknown>);
  }

  setRepo(
    repo: string,
    settings: { private?: boolean; id?: number; default_branch?: string; installation_id?: number },
  ): void {
    Object.assign(this.state.repo(repo), settings);
  }

  setRef(repo: string, ref: string, sha: string): void {
    this.state.refs.set(`${repo}\0${ref.startsWith("refs/") ? ref : `refs/${ref}`}`, sha);
  }

  /** The GitHub App's OAuth client, for the web flow and user-to-server tokens. */
  setOAuthClient(clientId: string, clientSecret: string): void {
    this.state.oauthClient = { clientId, clientSecret };
  }

  /** Who is signed in to GitHub in the browser (null: the person declines the authorization). */
  signInAs(login: string | null): void {
    this.state.webUser = login;
  }

  /** Where GitHub sends the App's webhooks (the app's URL) and the secret it signs them with. */
  sendWebhooksTo(url: string, secret: string): void {
    this.state.hooks.target = { url, secret };
  }

  /**
   * GitHub sends a webhook: signed, to the app's webhook URL, logged in the
   * App's delivery log with the status the app answered (0 when it could not
   * be reached), as GET /app/hook/deliveries lists it.
   */
  sendWebhook(event: string, payload: unknown, options: { guid?: string } = {}): Promise<LoggedDelivery> {
    return this.state.hooks.send(event, payload, { ...options, now: this.now });
  }

  /** The App's delivery log, oldest first. */
  deliveryLog(): LoggedDelivery[] {
    return [...this.state.hooks.entries];
  }

  setInstallation(
    id: number,
    settings: { account?: string; permissions?: Record<string, string>; events?: string[] },
  ): void {
    Object.assign(this.state.installation(id), settings);
  }

  pullRequests(repo: string): Record<string, any>[] {
    return [...this.state.pulls.entries()].filter(([k]) => k.startsWith(`${repo}\0`)).map(([, pull]) => pull);
  }

  checkRuns(repo?: string): StoredCheckRun[] {
    return this.state.checkRuns.filter((run) => repo === undefined || run.repo === repo);
  }

  unexpected(): GitHubCall[] {
    return [...this.unmatched];
  }

  violations(): { call: GitHubCall; problems: string[] }[] {
    return [...this.problems];
  }

  assertClean(): void {
    const lines = [
      ...this.unmatched.map((call) => `unexpected call: ${call.method} ${call.path}`),
      ...this.problems.map(
        ({ call, problems }) => `${call.method} ${call.path} breaks GitHub's API description: ${problems.join("; ")}`,
      ),
    ];
    if (lines.length) throw new Error(`GitHub fake saw problems:\n${lines.join("\n")}`);
  }

  async close(): Promise<void> {
    await this.state.hooks.settled();
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const call = await readCall(req);
    this.calls.push(call);
    // Outside /api/v3, the web flow's paths are GitHub's web host; every other path is the API (github.com style).
    const webFound = call.web ? matchRoute(this.webRoutes, call.method, call.path) : null;
    call.web = webFound !== null;
    const found = webFound ?? matchRoute(this.routes, call.method, call.path);
    call.route = found?.route.route ?? null;
    const problems = call.web ? webFlowProblems(call) : (this.conformance?.check(call) ?? []);
    if (problems.length) this.problems.push({ call, problems });
    res.on("finish", () => {
      const notes = [
        call.route === null ? " (unexpected)" : "",
        problems.length ? ` VIOLATION: ${problems.join("; ")}` : "",
      ];
      this.log?.(`${call.method} ${call.path} → ${res.statusCode}${notes.join("")}`);
    });
    if (!found) {
      this.unmatched.push(call);
      return this.answer(call, res, {
        status: 404,
        body: { message: "Not Found", documentation_url: "https://docs.github.com/rest" },
      });
    }
    if (this.readDelayMs > 0 && call.method === "GET" && !call.web)
      await new Promise((resolve) => setTimeout(resolve, this.readDelayMs));
    if (call.method === "GET" && !call.web) {
      if (this.readStall) await this.readStall;
      if (this.readOutage !== null) {
        return this.answer(call, res, {
          status: this.readOutage,
          headers: this.rateLimitHeaders,
          body: { message: `Injected outage ${this.readOutage}`, documentation_url: "https://docs.github.com/rest" },
        });
      }
    }
    const k = key(call.method, found.route.route);
    const failure = this.failures.get(k);
    if (failure && failure.times > 0) {
      failure.times -= 1;
      return this.answer(call, res, {
        status: failure.status,
        headers: { ...this.rateLimitHeaders, ...failure.headers },
        body: { message: `Injected failure ${failure.status}`, documentation_url: "https://docs.github.com/rest" },
      });
    }
    const override = call.web ? undefined : this.overrides.get(k);
    const limited = (reply: Reply): Reply => ({ ...reply, headers: { ...this.rateLimitHeaders, ...reply.headers } });
    if (override) return this.answer(call, res, limited(await override(call)));
    const handler = (call.web ? this.webHandlers : this.handlers).get(k);
    const ctx: RouteContext = { state: this.state, api: this.apiUrl, now: this.now };
    const reply = handler!(call, found.params, ctx);
    const lost = this.lostAnswers.get(k);
    if (lost && lost.times > 0 && (reply.status ?? 200) < 300) {
      lost.times -= 1;
      return this.answer(call, res, {
        status: lost.status,
        headers: this.rateLimitHeaders,
        body: {
          message: `Injected failure ${lost.status} after the call was performed`,
          documentation_url: "https://docs.github.com/rest",
        },
      });
    }
    return this.answer(call, res, limited(reply));
  }

  /**
   * Sends a reply as GitHub would: a read answered 200 carries an ETag that
   * depends on the body and on the token (GitHub's ETags are token specific),
   * and a matching If-None-Match is answered 304 without a body. A 304 is
   * free; every other answer to an installation counts against its limit
   * (x-ratelimit-used / -remaining count it).
   */
  private answer(call: GitHubCall, res: ServerResponse, reply: Reply): void {
    let out = reply;
    const read = call.method === "GET" && !call.web;
    if (read && (reply.status ?? 200) === 200 && reply.body !== undefined) {
      const token = String(call.headers.authorization ?? "");
      const etag = `W/"${createHash("sha256").update(token).update("\0").update(JSON.stringify(reply.body)).digest("hex").slice(0, 40)}"`;
      const asked = String(call.headers["if-none-match"] ?? "");
      const matches = asked
        .split(",")
        .map((tag) => tag.trim())
        .includes(etag);
      out = matches
        ? { status: 304, headers: { ...reply.headers, etag } }
        : { ...reply, headers: { etag, ...reply.headers } };
    }
    const appJwt = /^\/app(\/|$)/.test(call.path);
    if (!call.web && !appJwt) {
      if (out.status === 304) this.notModified.push(call);
      else this.rateLimited.push(call);
    }
    const used = this.rateLimited.length;
    return send(res, {
      ...out,
      headers: {
        "x-ratelimit-limit": String(this.rateLimitBudget),
        "x-ratelimit-used": String(used),
        "x-ratelimit-remaining": String(Math.max(0, this.rateLimitBudget - used)),
        ...out.headers,
      },
    });
  }
}

async function readCall(req: IncomingMessage): Promise<GitHubCall> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  const url = new URL(req.url ?? "/", "http://fake");
  let body: unknown = undefined;
  if (text.length) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  const web = !/^\/api\/v3(\/|$)/.test(url.pathname);
  const path = url.pathname.replace(/^\/api\/v3(?=\/|$)/, "") || "/";
  return {
    method: (req.method ?? "GET").toUpperCase(),
    path,
    query: url.searchParams,
    body,
    headers: { ...req.headers },
    route: null,
    web,
  };
}

function send(res: ServerResponse, reply: Reply): void {
  const status = reply.status ?? 200;
  const headers: Record<string, string> = {
    "x-github-request-id": "FAKE:0000",
    "x-ratelimit-limit": "5000",
    "x-ratelimit-remaining": "4999",
    "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
    "x-ratelimit-resource": "core",
    ...lowerKeys(reply.headers ?? {}),
  };
  let payload: string | Buffer = "";
  if (reply.body !== undefined && status !== 204 && status !== 304) {
    if ((typeof reply.body === "string" || Buffer.isBuffer(reply.body)) && headers["content-type"])
      payload = reply.body;
    else {
      payload = JSON.stringify(reply.body);
      headers["content-type"] ??= "application/json; charset=utf-8";
    }
  }
  res.writeHead(status, headers);
  res.end(payload);
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

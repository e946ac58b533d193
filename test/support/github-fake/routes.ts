import { randomBytes } from "node:crypto";
import type { GitHubCall, Reply } from "../github-fake.ts";
import {
  checkRunShape,
  contentShape,
  blobSha,
  installationShape,
  legacyPermission,
  pullShape,
  repoShape,
  userShape,
} from "./shapes.ts";
import { fakeSha, type GitHubState } from "./state.ts";

// The default routes: GitHub's behaviour for the operations the app uses.

export interface RouteContext {
  state: GitHubState;
  api: string; // the fake's base URL including /api/v3
  now: () => Date;
}

export type RouteHandler = (call: GitHubCall, params: Record<string, string>, ctx: RouteContext) => Reply;

export interface DefaultRoute {
  method: string;
  route: string;
  handle: RouteHandler;
}

const notFound: Reply = { status: 404, body: { message: "Not Found", documentation_url: "https://docs.github.com/rest" } };

function repoOf(params: Record<string, string>): string {
  return `${params.owner}/${params.repo}`;
}

function bodyOf(call: GitHubCall): Record<string, any> {
  return call.body && typeof call.body === "object" ? (call.body as Record<string, any>) : {};
}

function wantsRaw(call: GitHubCall): boolean {
  const accept = String(call.headers.accept ?? "");
  return /application\/vnd\.github(\.v3)?\.raw/.test(accept);
}

function paginate(call: GitHubCall, items: unknown[], api: string): Reply {
  const perPage = Math.min(Math.max(Number(call.query.get("per_page") ?? 30) || 30, 1), 100);
  const page = Math.max(Number(call.query.get("page") ?? 1) || 1, 1);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  const links: string[] = [];
  const link = (p: number, rel: string) => {
    const query = new URLSearchParams(call.query);
    query.set("per_page", String(perPage));
    query.set("page", String(p));
    links.push(`<${api}${call.path}?${query}>; rel="${rel}"`);
  };
  if (page < last) {
    link(page + 1, "next");
    link(last, "last");
  }
  if (page > 1) {
    link(1, "first");
    link(page - 1, "prev");
  }
  const body = items.slice((page - 1) * perPage, page * perPage);
  return links.length ? { status: 200, body, headers: { link: links.join(", ") } } : { status: 200, body };
}

function findRun(state: GitHubState, repo: string, id: string) {
  return state.checkRuns.find((run) => run.repo === repo && run.id === Number(id));
}

export const defaultRoutes: DefaultRoute[] = [
  {
    method: "POST",
    route: "/app/installations/{installation_id}/access_tokens",
    handle: (call, params, { state, api, now }) => {
      const body = bodyOf(call);
      const installation = state.installation(Number(params.installation_id));
      const reply: Record<string, unknown> = {
        token: `ghs_${randomBytes(18).toString("base64url")}`,
        expires_at: new Date(now().getTime() + 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
        permissions: body.permissions ?? installation.permissions,
        repository_selection: body.repository_ids || body.repositories ? "selected" : "all",
      };
      if (Array.isArray(body.repository_ids)) {
        reply.repositories = body.repository_ids.map((id: number) => {
          const name = state.repoById(id);
          return name ? repoShape(api, state, name) : { id };
        });
      }
      return { status: 201, body: reply };
    },
  },
  {
    method: "GET",
    route: "/app/installations/{installation_id}",
    handle: (_call, params, { state, api }) => ({ status: 200, body: installationShape(api, state, Number(params.installation_id)) }),
  },
  {
    method: "GET",
    route: "/repos/{owner}/{repo}/installation",
    handle: (_call, params, { state, api }) => ({
      status: 200,
      body: installationShape(api, state, state.repo(repoOf(params)).installation_id),
    }),
  },
  {
    method: "GET",
    route: "/installation/repositories",
    handle: (call, _params, { state, api }) => {
      const all = [...state.repos.keys()].map((name) => repoShape(api, state, name));
      const page = paginate(call, all, api);
      return { ...page, body: { total_count: all.length, repository_selection: "selected", repositories: page.body } };
    },
  },
  {
    method: "GET",
    route: "/repos/{owner}/{repo}",
    handle: (_call, params, { state, api }) => ({ status: 200, body: repoShape(api, state, repoOf(params)) }),
  },
  {
    method: "GET",
    route: "/repos/{owner}/{repo}/contents/{path}",
    handle: (call, params, { state, api }) => {
      const text = state.getFile(repoOf(params), call.query.get("ref") ?? undefined, params.path ?? "");
      if (text === undefined) return notFound;
      if (wantsRaw(call)) {
        return { status: 200, body: text, headers: { "content-type": "application/vnd.github.raw; charset=utf-8" } };
      }
      return { status: 200, body: contentShape(api, repoOf(params), params.path ?? "", text) };
    },
  },
  {
    method: "PUT",
    route: "/repos/{owner}/{repo}/contents/{path}",
    handle: (call, params, { state, api }) => {
      const repo = repoOf(params);
      const body = bodyOf(call);
      const path = params.path ?? "";
      const existing = state.getFile(repo, body.branch, path);
      if (existing !== undefined && body.sha !== blobSha(existing)) {
        return { status: 409, body: { message: `${path} does not match ${body.sha ?? "(no sha given)"}` } };
      }
      const text = Buffer.from(String(body.content ?? ""), "base64").toString("utf8");
      state.putFile(repo, body.branch, path, text);
      const branch = body.branch ?? state.repo(repo).default_branch;
      const commitSha = fakeSha(`${repo}:${branch}:${path}:${text}:${state.nextSequence()}`);
      state.refs.set(`${repo}\0refs/heads/${branch}`, commitSha);
      return {
        status: existing === undefined ? 201 : 200,
        body: {
          content: contentShape(api, repo, path, text),
          commit: { sha: commitSha, node_id: `C_${commitSha}`, message: body.message, url: `${api}/repos/${repo}/git/commits/${commitSha}` },
        },
      };
    },
  },
  {
    method: "GET",
    route: "/repos/{owner}/{repo}/collaborators/{username}/permission",
    handle: (_call, params, { state, api }) => {
      const role = state.permissions.get(`${repoOf(params)}\0${params.username}`) ?? "read";
      return {
        status: 200,
        body: { permission: legacyPermission(role), role_name: role, user: userShape(api, params.username ?? "") },
      };
    },
  },
  {
    method: "GET",
    route: "/repos/{owner}/{repo}/pulls/{pull_number}",
    handle: (_call, params, { state, api }) => {
      const pull = state.pulls.get(`${repoOf(params)}\0${Number(params.pull_number)}`);
      return pull ? { status: 200, body: pullShape(api, state, repoOf(params), pull) } : notFound;
    },
  },
  {
    method: "GET",
    route: "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
    handle: (call, params, { state, api }) =>
      paginate(call, state.reviews.get(`${repoOf(params)}\0${Number(params.pull_number)}`) ?? [], api),
  },
  {
    method: "POST",
    route: "/repos/{owner}/{repo}/pulls",
    handle: (call, params, { state, api }) => {
      const repo = repoOf(params);
      const body = bodyOf(call);
      let number = 1;
      for (const key of state.pulls.keys()) {
        const [name, n] = key.split("\0");
        if (name === repo) number = Math.max(number, Number(n) + 1);
      }
      const head = String(body.head ?? "");
      const pull = {
        number,
        title: body.title ?? "",
        body: body.body ?? null,
        draft: body.draft ?? false,
        head: { ref: head.includes(":") ? head.split(":")[1] : head, sha: state.getRef(repo, `heads/${head}`) ?? fakeSha(head) },
        base: { ref: body.base },
        user: userShape(api, "agent-gate[bot]"),
      };
      state.pulls.set(`${repo}\0${number}`, pull);
      return { status: 201, body: pullShape(api, state, repo, pull) };
    },
  },
  {
    method: "POST",
    route: "/repos/{owner}/{repo}/check-runs",
    handle: (call, params, { state, api, now }) => ({
      status: 201,
      body: checkRunShape(api, state.addCheckRun(repoOf(params), bodyOf(call), now())),
    }),
  },
  {
    method: "PATCH",
    route: "/repos/{owner}/{repo}/check-runs/{check_run_id}",
    handle: (call, params, { state, api, now }) => {
      const run = findRun(state, repoOf(params), params.check_run_id ?? "");
      if (!run) return notFound;
      state.updateCheckRun(run, bodyOf(call), now());
      return { status: 200, body: checkRunShape(api, run) };
    },
  },
  {
    method: "GET",
    route: "/repos/{owner}/{repo}/check-runs/{check_run_id}",
    handle: (_call, params, { state, api }) => {
      const run = findRun(state, repoOf(params), params.check_run_id ?? "");
      return run ? { status: 200, body: checkRunShape(api, run) } : notFound;
    },
  },
  {
    method: "GET",
    route: "/repos/{owner}/{repo}/commits/{ref}/check-runs",
    handle: (call, params, { state, api }) => {
      const repo = repoOf(params);
      const sha = state.getRef(repo, `heads/${params.ref}`) ?? params.ref;
      const name = call.query.get("check_name");
      const status = call.query.get("status");
      const runs = state.checkRuns
        .filter((run) => run.repo === repo && run.head_sha === sha)
        .filter((run) => (name === null || run.name === name) && (status === null || run.status === status))
        .map((run) => checkRunShape(api, run))
        .reverse();
      const page = paginate(call, runs, api);
      return { ...page, body: { total_count: runs.length, check_runs: page.body } };
    },
  },
  {
    method: "POST",
    route: "/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule",
    handle: () => ({ status: 204 }),
  },
  {
    method: "GET",
    route: "/repos/{owner}/{repo}/git/ref/{ref}",
    handle: (_call, params, { state, api }) => {
      const repo = repoOf(params);
      const sha = state.getRef(repo, params.ref ?? "");
      if (!sha) return notFound;
      return { status: 200, body: refShape(api, repo, `refs/${params.ref}`, sha) };
    },
  },
  {
    method: "POST",
    route: "/repos/{owner}/{repo}/git/refs",
    handle: (call, params, { state, api }) => {
      const repo = repoOf(params);
      const body = bodyOf(call);
      const ref = String(body.ref ?? "");
      if (!ref.startsWith("refs/") || ref.split("/").length < 3) {
        return { status: 422, body: { message: "Reference name must start with 'refs/' and have at least two slashes." } };
      }
      if (state.getRef(repo, ref)) return { status: 422, body: { message: "Reference already exists" } };
      state.refs.set(`${repo}\0${ref}`, String(body.sha));
      return { status: 201, body: refShape(api, repo, ref, String(body.sha)) };
    },
  },
];

function refShape(api: string, repo: string, ref: string, sha: string): Record<string, unknown> {
  return {
    ref,
    node_id: `REF_${fakeSha(ref).slice(0, 12)}`,
    url: `${api}/repos/${repo}/git/${ref}`,
    object: { type: "commit", sha, url: `${api}/repos/${repo}/git/commits/${sha}` },
  };
}

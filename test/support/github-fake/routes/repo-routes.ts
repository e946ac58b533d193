import type { GitHubCall } from "../../github-fake.ts";
import { blobSha, contentShape, legacyPermission, pullShape, repoShape, userShape } from "../shapes.ts";
import { fakeSha } from "../state.ts";
import { badCredentials, permissionsFor, revokedUserToken, userOf } from "./oauth-routes.ts";
import { bodyOf, notFound, paginate, repoOf, type DefaultRoute } from "./reply.ts";

// Repositories, their files, collaborators and pull requests.

export const repoRoutes: DefaultRoute[] = [
  {
    method: "GET",
    route: "/repos/{owner}/{repo}",
    handle: (call, params, { state, api }) => {
      const repo = repoOf(params);
      if (revokedUserToken(state, call)) return badCredentials;
      const user = userOf(state, call);
      if (user === null) return { status: 200, body: repoShape(api, state, repo) };
      // A user's token sees a private repository only as a collaborator, and learns its own permissions.
      const role = state.permissions.get(`${repo}\0${user}`) ?? (state.repo(repo).private ? "none" : "read");
      if (role === "none") return notFound;
      return { status: 200, body: { ...repoShape(api, state, repo), permissions: permissionsFor(role) } };
    },
  },
  {
    method: "GET",
    route: "/repos/{owner}/{repo}/contents/{path}",
    handle: (call, params, { state, api }) => {
      // A ref may name a branch fully (refs/heads/<name>), as GitHub accepts.
      const ref = call.query.get("ref")?.replace(/^refs\/heads\//, "") ?? undefined;
      const text = state.getFile(repoOf(params), ref, params.path ?? "");
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
      const commitSha = state.commitBranch(repo, branch, `${path}:${text}`);
      return {
        status: existing === undefined ? 201 : 200,
        body: {
          content: contentShape(api, repo, path, text),
          commit: {
            sha: commitSha,
            node_id: `C_${commitSha}`,
            message: body.message,
            url: `${api}/repos/${repo}/git/commits/${commitSha}`,
          },
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
    // Requesting reviews: GitHub refuses the pull request's author and anyone who is not a collaborator (422).
    method: "POST",
    route: "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
    handle: (call, params, { state, api }) => {
      const repo = repoOf(params);
      const key = `${repo}\0${Number(params.pull_number)}`;
      const body = bodyOf(call);
      const logins: string[] = Array.isArray(body.reviewers) ? body.reviewers.map(String) : [];
      const slugs: string[] = Array.isArray(body.team_reviewers) ? body.team_reviewers.map(String) : [];
      const stored = state.pulls.get(key);
      const pull = stored ?? { number: Number(params.pull_number) };
      const author = String(pull.user?.login ?? "").toLowerCase();
      if (logins.some((login) => login.toLowerCase() === author)) {
        return { status: 422, body: { message: "Review cannot be requested from pull request author." } };
      }
      const outsider = logins.find((login) => state.permissions.get(`${repo}\0${login}`) === "none");
      if (outsider) {
        return {
          status: 422,
          body: {
            message: `Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the ${repo} repository.`,
          },
        };
      }
      const users = [...(pull.requested_reviewers ?? [])];
      for (const login of logins)
        if (!users.some((u: { login: string }) => u.login.toLowerCase() === login.toLowerCase()))
          users.push(userShape(api, login));
      const teams = [...(pull.requested_teams ?? [])];
      for (const slug of slugs)
        if (!teams.some((t: { slug: string }) => t.slug === slug))
          teams.push({ id: teams.length + 1, slug, name: slug });
      const updated = { ...pull, requested_reviewers: users, requested_teams: teams };
      // Only a pull request a test set is kept: others stay unknown to GET, as they were.
      if (stored) state.pulls.set(key, updated);
      return { status: 201, body: pullShape(api, state, repo, updated) };
    },
  },
  {
    method: "GET",
    route: "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
    handle: (call, params, { state, api }) =>
      paginate(call, state.reviews.get(`${repoOf(params)}\0${Number(params.pull_number)}`) ?? [], api),
  },
  {
    method: "GET",
    route: "/repos/{owner}/{repo}/pulls",
    handle: (call, params, { state, api }) => {
      const repo = repoOf(params);
      const head = call.query.get("head");
      const wanted = call.query.get("state") ?? "open";
      const pulls = [...state.pulls.entries()]
        .filter(([key]) => key.split("\0")[0] === repo)
        .map(([, pull]) => pull as { head: { ref: string }; state?: string })
        .filter((pull) => wanted === "all" || (pull.state ?? "open") === wanted)
        // head is "owner:branch"; GitHub filters by the branch of that owner.
        .filter((pull) => !head || `${repo.split("/")[0]}:${pull.head.ref}` === head);
      const page = paginate(
        call,
        pulls.map((pull) => pullShape(api, state, repo, pull as never)),
        api,
      );
      return page;
    },
  },
  {
    method: "GET",
    route: "/repos/{owner}/{repo}/pulls/{pull_number}/commits",
    handle: (call, params, { state, api }) =>
      paginate(call, state.pullCommits.get(`${repoOf(params)}\0${Number(params.pull_number)}`) ?? [], api),
  },
  {
    method: "GET",
    route: "/repos/{owner}/{repo}/pulls/{pull_number}/files",
    handle: (call, params, { state, api }) => {
      const repo = repoOf(params);
      const files = (state.pullFiles.get(`${repo}\0${Number(params.pull_number)}`) ?? []).map((file) => {
        const sha = fakeSha(`${repo}:${file.filename}`);
        return {
          sha,
          filename: file.filename,
          status: file.previous_filename ? "renamed" : "modified",
          additions: 1,
          deletions: 0,
          changes: 1,
          blob_url: `${api.replace(/\/api\/v3$/, "")}/${repo}/blob/${sha}/${file.filename}`,
          raw_url: `${api.replace(/\/api\/v3$/, "")}/${repo}/raw/${sha}/${file.filename}`,
          contents_url: `${api}/repos/${repo}/contents/${file.filename}?ref=${sha}`,
          ...(file.previous_filename ? { previous_filename: file.previous_filename } : {}),
        };
      });
      // GitHub lists at most 3,000 files of a pull request, however many it changes.
      return paginate(call, files.slice(0, 3000), api);
    },
  },
  {
    // Two commits compared: the commits between them, oldest first, paged (per_page, page) as GitHub pages them.
    method: "GET",
    route: "/repos/{owner}/{repo}/compare/{basehead}",
    handle: (call, params, { state, api }) => {
      const repo = repoOf(params);
      const commits = state.history.get(`${repo}\0${params.basehead}`);
      if (!commits) return notFound;
      const web = api.replace(/\/api\/v3$/, "");
      const shaped = commits.map((commit) => ({
        sha: commit.sha,
        node_id: `C_${commit.sha.slice(0, 12)}`,
        url: `${api}/repos/${repo}/commits/${commit.sha}`,
        html_url: `${web}/${repo}/commit/${commit.sha}`,
        commit: {
          message: commit.message,
          author: { name: "Monalisa Octocat", email: "octocat@github.com", date: "2026-11-23T10:00:00Z" },
          committer: {
            name: commit.committer === "web-flow" ? "GitHub" : "Monalisa Octocat",
            email: commit.committer === "web-flow" ? "noreply@github.com" : "octocat@github.com",
            date: "2026-11-23T10:00:00Z",
          },
          tree: {
            sha: fakeSha(`${commit.sha}:tree`),
            url: `${api}/repos/${repo}/git/trees/${fakeSha(`${commit.sha}:tree`)}`,
          },
        },
        author: userShape(api, "octocat"),
        committer: commit.committer ? userShape(api, commit.committer) : null,
        parents: (commit.parents ?? []).map((sha) => ({ sha, url: `${api}/repos/${repo}/commits/${sha}` })),
      }));
      const perPage = Math.min(Math.max(Number(call.query.get("per_page") ?? 250) || 250, 1), 250);
      const page = Math.max(Number(call.query.get("page") ?? 1) || 1, 1);
      return {
        status: 200,
        body: {
          url: `${api}/repos/${repo}/compare/${params.basehead}`,
          html_url: `${web}/${repo}/compare/${params.basehead}`,
          status: "ahead",
          ahead_by: commits.length,
          behind_by: 0,
          total_commits: commits.length,
          commits: shaped.slice((page - 1) * perPage, page * perPage),
          files: [],
        },
      };
    },
  },
  {
    // The pull requests a commit belongs to.
    method: "GET",
    route: "/repos/{owner}/{repo}/commits/{commit_sha}/pulls",
    handle: (call, params, { state, api }) => {
      const repo = repoOf(params);
      const numbers = state.commitPulls.get(`${repo}\0${params.commit_sha}`) ?? [];
      const pulls = numbers.flatMap((number) => {
        const pull = state.pulls.get(`${repo}\0${number}`);
        return pull ? [pullShape(api, state, repo, pull)] : [];
      });
      return paginate(call, pulls, api);
    },
  },
  {
    // Organization teams: membership of one user (GitHub answers 404 for a non-member).
    method: "GET",
    route: "/orgs/{org}/teams/{team_slug}/memberships/{username}",
    handle: (_call, params, { state, api }) => {
      const team = state.teams.get(`${params.org}/${params.team_slug}`.toLowerCase());
      if (!team?.has((params.username ?? "").toLowerCase())) return notFound;
      return {
        status: 200,
        body: {
          url: `${api}/orgs/${params.org}/teams/${params.team_slug}/memberships/${params.username}`,
          role: "member",
          state: "active",
        },
      };
    },
  },
  {
    method: "POST",
    route: "/repos/{owner}/{repo}/pulls",
    handle: (call, params, { state, api }) => {
      const repo = repoOf(params);
      const body = bodyOf(call);
      const wantedHead = String(body.head ?? "")
        .split(":")
        .at(-1);
      for (const [key, existing] of state.pulls.entries()) {
        const open = ((existing as { state?: string }).state ?? "open") === "open";
        if (key.split("\0")[0] === repo && open && (existing as { head: { ref: string } }).head.ref === wantedHead) {
          return {
            status: 422,
            body: {
              message: "Validation Failed",
              errors: [
                {
                  resource: "PullRequest",
                  code: "custom",
                  message: `A pull request already exists for ${repo.split("/")[0]}:${wantedHead}.`,
                },
              ],
            },
          };
        }
      }
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
        head: {
          ref: head.includes(":") ? head.split(":")[1] : head,
          sha: state.getRef(repo, `heads/${head}`) ?? fakeSha(head),
        },
        base: { ref: body.base },
        user: userShape(api, "agent-gate[bot]"),
      };
      state.pulls.set(`${repo}\0${number}`, pull);
      return { status: 201, body: pullShape(api, state, repo, pull) };
    },
  },
];

function wantsRaw(call: GitHubCall): boolean {
  const accept = String(call.headers.accept ?? "");
  return /application\/vnd\.github(\.v3)?\.raw/.test(accept);
}

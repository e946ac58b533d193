import { checkRunShape } from "../shapes.ts";
import type { GitHubState } from "../state.ts";
import { bodyOf, notFound, paginate, repoOf, type DefaultRoute } from "./reply.ts";

// Check runs, and the deployment protection rule answer.

export const checkRoutes: DefaultRoute[] = [
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
];

function findRun(state: GitHubState, repo: string, id: string) {
  return state.checkRuns.find((run) => run.repo === repo && run.id === Number(id));
}

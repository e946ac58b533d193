import { fakeSha } from "../state.ts";
import { bodyOf, notFound, repoOf, type DefaultRoute } from "./reply.ts";

// Git references, for branches the app creates.

export const gitRoutes: DefaultRoute[] = [
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
        return {
          status: 422,
          body: { message: "Reference name must start with 'refs/' and have at least two slashes." },
        };
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

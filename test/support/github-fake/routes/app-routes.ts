import { randomBytes } from "node:crypto";
import { installationShape, repoShape } from "../shapes.ts";
import { bodyOf, paginate, repoOf, type DefaultRoute } from "./reply.ts";

// Installations and their access tokens.

export const appRoutes: DefaultRoute[] = [
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
];

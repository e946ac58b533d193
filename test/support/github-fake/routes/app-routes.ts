import { generateKeyPairSync, randomBytes } from "node:crypto";
import { installationShape, repoShape } from "../shapes.ts";
import type { GitHubState } from "../state.ts";
import { bodyOf, paginate, repoOf, type DefaultRoute } from "./reply.ts";

// Installations and their access tokens; an App registered from a manifest.

export const appRoutes: DefaultRoute[] = [
  {
    // https://docs.github.com/rest/apps/apps#create-a-github-app-from-a-manifest: unauthenticated, the code works once within an hour.
    method: "POST",
    route: "/app-manifests/{code}/conversions",
    handle: (_call, params, { state, api, now }) => {
      const entry = state.manifestCodes.get(params.code ?? "");
      if (!entry || entry.expiresAt < now().getTime())
        return {
          status: 404,
          body: {
            message: "Not Found",
            documentation_url: "https://docs.github.com/rest/apps/apps#create-a-github-app-from-a-manifest",
          },
        };
      state.manifestCodes.delete(params.code!);
      const { manifest } = entry;
      const id = 4242 + state.createdApps.length;
      const slug = String(manifest.name)
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-");
      const web = api.replace(/\/api\/v3$/, "");
      const created = {
        id,
        slug,
        manifest,
        pem: generateKeyPairSync("rsa", { modulusLength: 2048 })
          .privateKey.export({ type: "pkcs1", format: "pem" })
          .toString(),
        webhook_secret: randomBytes(20).toString("hex"),
        client_id: `Iv23${randomBytes(8).toString("hex")}`,
        client_secret: randomBytes(20).toString("hex"),
      };
      state.createdApps.push(created);
      const stamp = now()
        .toISOString()
        .replace(/\.\d{3}Z$/, "Z");
      return {
        status: 201,
        body: {
          id,
          slug,
          node_id: `A_${id}`,
          client_id: created.client_id,
          owner: { login: "octocat", id: 1, type: "User", html_url: `${web}/octocat` },
          name: manifest.name,
          description: manifest.description ?? null,
          external_url: manifest.url,
          html_url: `${web}/apps/${slug}`,
          created_at: stamp,
          updated_at: stamp,
          permissions: manifest.default_permissions ?? {},
          events: manifest.default_events ?? [],
          installations_count: 0,
          client_secret: created.client_secret,
          webhook_secret: created.webhook_secret,
          pem: created.pem,
        },
      };
    },
  },
  {
    method: "POST",
    route: "/app/installations/{installation_id}/access_tokens",
    handle: (call, params, { state, api, now }) => {
      const body = bodyOf(call);
      const installation = state.installation(Number(params.installation_id));
      const refusal = refuseToken(state, installation.id, installation.permissions, body);
      if (refusal)
        return {
          status: 422,
          body: {
            message: refusal,
            documentation_url: "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app",
          },
        };
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
    // The App itself, for a JWT the App signed (doctor's credentials check): its iss is the App's id.
    method: "GET",
    route: "/app",
    handle: (call, _params, { now }) => {
      const iss = appJwtIssuer(call.headers.authorization, now());
      if (iss === null)
        return {
          status: 401,
          body: { message: "A JSON web token could not be decoded", documentation_url: "https://docs.github.com/rest" },
        };
      return {
        status: 200,
        body: {
          id: iss,
          slug: "agent-gate-test",
          name: "Agent Gate (test)",
          owner: { login: "Codertocat" },
          permissions: {},
          events: [],
        },
      };
    },
  },
  {
    method: "GET",
    route: "/app/installations/{installation_id}",
    handle: (_call, params, { state, api }) => ({
      status: 200,
      body: installationShape(api, state, Number(params.installation_id)),
    }),
  },
  {
    method: "GET",
    route: "/repos/{owner}/{repo}/installation",
    handle: (_call, params, { state, api }) => ({
      status: 200,
      body: installationShape(api, state, state.repo(repoOf(params)).installation_id ?? 1),
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

const LEVEL: Record<string, number> = { read: 1, write: 2, admin: 3 };

/**
 * GitHub's 422s for a narrowed token: a permission the installation was not
 * granted, or a repository of another installation. Ids of repositories the
 * fake has never heard of are accepted, so tests need not register each one.
 */
function refuseToken(
  state: GitHubState,
  installationId: number,
  granted: Record<string, string>,
  body: Record<string, any>,
): string | null {
  for (const [permission, level] of Object.entries((body.permissions ?? {}) as Record<string, string>)) {
    const has = granted[permission];
    if (!has || (LEVEL[level] ?? 9) > (LEVEL[has] ?? 0))
      return "The permissions requested are not granted to this installation.";
  }
  for (const id of (body.repository_ids ?? []) as number[]) {
    const name = state.repoById(id);
    const owner = name === undefined ? undefined : state.repo(name).installation_id;
    if (owner !== undefined && owner !== installationId) {
      return "There is at least one repository that does not exist or is not accessible to the parent installation.";
    }
  }
  return null;
}

/** The issuer of an unexpired RS256 App JWT in a Bearer header, or null (the fake cannot check the signature). */
function appJwtIssuer(header: string | string[] | undefined, now: Date): number | null {
  const match = typeof header === "string" ? /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/.exec(header) : null;
  if (!match) return null;
  try {
    const head = JSON.parse(Buffer.from(match[1]!, "base64url").toString("utf8")) as { alg?: string };
    const claims = JSON.parse(Buffer.from(match[2]!, "base64url").toString("utf8")) as {
      iss?: unknown;
      exp?: number;
      iat?: number;
    };
    const iss = Number(claims.iss);
    if (
      head.alg !== "RS256" ||
      !Number.isSafeInteger(iss) ||
      typeof claims.exp !== "number" ||
      claims.exp * 1000 < now.getTime()
    )
      return null;
    return iss;
  } catch {
    return null;
  }
}

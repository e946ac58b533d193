import type { GitHubCall, Reply } from "../../github-fake.ts";
import type { GitHubState } from "../state.ts";

// What every route module shares: the handler type and GitHub's reply habits.

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

export const notFound: Reply = {
  status: 404,
  body: { message: "Not Found", documentation_url: "https://docs.github.com/rest" },
};

export function repoOf(params: Record<string, string>): string {
  return `${params.owner}/${params.repo}`;
}

export function bodyOf(call: GitHubCall): Record<string, any> {
  return call.body && typeof call.body === "object" ? (call.body as Record<string, any>) : {};
}

/** One page of `items` as GitHub pages lists: per_page (default 30, at most 100), page, and a Link header. */
export function paginate(call: GitHubCall, items: unknown[], api: string): Reply {
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

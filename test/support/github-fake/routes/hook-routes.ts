import type { DefaultRoute } from "./reply.ts";

// The App's webhook delivery log (GET /app/hook/deliveries, newest first,
// paged with an opaque cursor) and redelivery (POST .../attempts, 202 and the
// attempt follows), both with the App's JWT.

export const hookRoutes: DefaultRoute[] = [
  {
    method: "GET",
    route: "/app/hook/deliveries",
    handle: (call, _params, { state, api }) => {
      if (!isAppJwt(call.headers.authorization)) return unauthorized;
      const perPage = Math.min(Math.max(Number(call.query.get("per_page") ?? 30) || 30, 1), 100);
      const cursor = call.query.get("cursor");
      const status = call.query.get("status");
      const newestFirst = [...state.hooks.entries]
        .reverse()
        .filter((e) => status === null || (status === "success") === (e.status_code >= 200 && e.status_code < 300));
      const start = cursor
        ? newestFirst.findIndex((e) => String(e.id) === Buffer.from(cursor, "base64url").toString()) + 1
        : 0;
      const page = newestFirst.slice(start, start + perPage);
      const next = start + perPage < newestFirst.length ? page[page.length - 1] : undefined;
      const headers: Record<string, string> = {};
      if (next) {
        const query = new URLSearchParams(call.query);
        query.set("per_page", String(perPage));
        query.set("cursor", Buffer.from(String(next.id)).toString("base64url"));
        headers.link = `<${api}${call.path}?${query}>; rel="next"`;
      }
      return { status: 200, body: page, headers };
    },
  },
  {
    method: "POST",
    route: "/app/hook/deliveries/{delivery_id}/attempts",
    handle: (call, params, { state, now }) => {
      if (!isAppJwt(call.headers.authorization)) return unauthorized;
      if (!state.hooks.redeliver(Number(params.delivery_id), now)) {
        return {
          status: 404,
          body: {
            message: "Not Found",
            documentation_url: "https://docs.github.com/rest/apps/webhooks#redeliver-a-delivery-for-an-app-webhook",
          },
        };
      }
      return { status: 202, body: {} };
    },
  },
];

const unauthorized = {
  status: 401,
  body: { message: "A JSON web token could not be decoded", documentation_url: "https://docs.github.com/rest" },
};

/** The App's JWT (three base64url parts), not an installation token. */
function isAppJwt(header: unknown): boolean {
  return /^bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/i.test(String(header ?? ""));
}

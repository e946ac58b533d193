import type { Route } from "../http/router.ts";
import { pageRoutes } from "./page-routes.ts";
import { reviewContext, type ReviewDeps } from "./review-deps.ts";
import { signInRoutes } from "./sign-in-routes.ts";
import { slackLinkRoutes } from "./slack-link-routes.ts";
import { REVIEW_CSS } from "./style.ts";

export type { ReviewDeps } from "./review-deps.ts";

/** The review page: /proposals/<id> behind GitHub sign-in, its decisions, sign-in and sign-out, and its stylesheet. */
export function reviewRoutes(deps: ReviewDeps): Route[] {
  const ctx = reviewContext(deps);
  return [
    ...signInRoutes(ctx),
    ...pageRoutes(ctx),
    ...slackLinkRoutes(ctx),
    {
      method: "GET",
      path: "/review.css",
      handler: async ({ res }) => {
        res
          .writeHead(200, {
            "content-type": "text/css; charset=utf-8",
            "cache-control": "public, max-age=300",
            "x-content-type-options": "nosniff",
          })
          .end(REVIEW_CSS);
      },
    },
  ];
}

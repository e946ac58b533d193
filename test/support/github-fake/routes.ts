import { appRoutes } from "./routes/app-routes.ts";
import { avatarRoutes } from "./routes/avatar-routes.ts";
import { checkRoutes } from "./routes/check-routes.ts";
import { gitRoutes } from "./routes/git-routes.ts";
import { hookRoutes } from "./routes/hook-routes.ts";
import type { DefaultRoute } from "./routes/reply.ts";
import { repoRoutes } from "./routes/repo-routes.ts";
import { userRoutes, webFlowRoutes } from "./routes/oauth-routes.ts";

export type { DefaultRoute, RouteContext, RouteHandler } from "./routes/reply.ts";

// The default routes: GitHub's behaviour for the operations the app uses.
export const defaultRoutes: DefaultRoute[] = [
  ...appRoutes,
  ...repoRoutes,
  ...checkRoutes,
  ...gitRoutes,
  ...userRoutes,
  ...hookRoutes,
];

// GitHub's web flow and users' pictures at the host itself (outside /api/v3), not in the REST API description.
export { webFlowProblems } from "./routes/oauth-routes.ts";
export const webRoutes: DefaultRoute[] = [...webFlowRoutes, ...avatarRoutes];

import { readBody } from "../http/io.ts";
import type { Route } from "../http/router.ts";
import { GateError, ValidationError } from "../errors.ts";
import { cookieHeader, readCookies } from "./cookies.ts";
import { signedInUser } from "./github-user.ts";
import { messagePage } from "./html.ts";
import {
  authorizeUrl,
  beginSignIn,
  CALLBACK_PATH,
  checkState,
  exchangeCode,
  intendedReturn,
  safeReturnPath,
  SIGN_IN_SECONDS,
} from "./oauth.ts";
import { redirect } from "./respond.ts";
import { requireSessions, type ReviewContext } from "./review-deps.ts";

function stateCookieName(ctx: ReviewContext): string {
  return ctx.secure() ? "__Host-agent_gate_oauth" : "agent_gate_oauth";
}

function stateCookie(ctx: ReviewContext, value: string, maxAge: number): string {
  return cookieHeader(stateCookieName(ctx), value, { maxAge, path: "/", secure: ctx.secure(), sameSite: "Lax" });
}

/** Sign in with GitHub (the App's user-to-server OAuth), and sign out. */
export function signInRoutes(ctx: ReviewContext): Route[] {
  const log = ctx.deps.log;
  const pages = ctx.pages;
  return [
    {
      method: "GET",
      path: "/login",
      handler: pages.errors(async ({ res, query }) => {
        const { signer } = requireSessions(ctx);
        const settings = ctx.oauth();
        const returnTo = safeReturnPath(query.get("return_to"));
        if (!returnTo)
          throw new ValidationError([
            { field: "return_to", message: "must be a proposal page such as /proposals/prp_…" },
          ]);
        const { state, cookie } = beginSignIn(signer, returnTo);
        redirect(
          res,
          authorizeUrl(settings, `${ctx.base()}${CALLBACK_PATH}`, state),
          { "set-cookie": stateCookie(ctx, cookie, SIGN_IN_SECONDS) },
          302,
        );
      }),
    },
    {
      method: "GET",
      path: CALLBACK_PATH,
      handler: pages.errors(async ({ req, res, query }) => {
        const { sessions, signer } = requireSessions(ctx);
        const settings = ctx.oauth();
        const clear = stateCookie(ctx, "", 0);
        const stateCookieValue = readCookies(req).get(stateCookieName(ctx));
        // Not signed in: the way back is the page the sign-in was for, when this browser's cookie still says which.
        const again = intendedReturn(signer, stateCookieValue);
        if (query.get("error")) {
          pages.send(
            res,
            403,
            messagePage("Not signed in", "The sign-in was cancelled on GitHub.", pages.frame(), again),
            { "set-cookie": clear },
          );
          return;
        }
        const returnTo = checkState(signer, stateCookieValue, query.get("state"));
        const code = query.get("code");
        if (!returnTo || !code) {
          const message =
            "This sign-in did not start in this browser, or took longer than 10 minutes (the state does not match).";
          pages.send(
            res,
            400,
            messagePage(
              "Not signed in",
              again ? message : `${message} Open the proposal's link to start again.`,
              pages.frame(),
              again,
            ),
            { "set-cookie": clear },
          );
          return;
        }
        const { token, expiresIn } = await exchangeCode(settings, code, `${ctx.base()}${CALLBACK_PATH}`);
        const user = await signedInUser(ctx.github.api, token);
        if (user.type !== "User")
          throw new GateError("not_a_person", "Only people can sign in to review proposals.", { status: 403 });
        const session = await sessions.start(user, token, expiresIn);
        log.info({ login: user.login }, "signed in to the review page");
        redirect(res, returnTo, { "set-cookie": [clear, session] });
      }),
    },
    {
      method: "POST",
      path: "/logout",
      handler: pages.errors(async ({ req, res }) => {
        const { sessions } = requireSessions(ctx);
        const session = await sessions.current(req);
        const form = new URLSearchParams((await readBody(req, 8 * 1024)).toString("utf8"));
        if (session && !sessions.csrfValid(session, form.get("csrf"))) {
          throw new GateError(
            "csrf",
            "The form did not come from this app's page (CSRF token missing or wrong); you are still signed in.",
            { status: 403 },
          );
        }
        const signedOut = messagePage(
          "Signed out",
          "You are signed out, and your GitHub token is deleted from Agent Gate.",
          pages.frame(),
          safeReturnPath(form.get("return_to")),
        );
        pages.send(res, 200, signedOut, { "set-cookie": await sessions.end(session) });
      }),
    },
  ];
}

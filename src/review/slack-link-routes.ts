import { readBody } from "../http/io.ts";
import type { Route } from "../http/router.ts";
import { GateError } from "../errors.ts";
import { findLinkToken, redeemLinkToken } from "../notify/links.ts";
import { escapeHtml, layout, messagePage } from "./html.ts";
import { redirect } from "./respond.ts";
import { requireSessions, type ReviewContext } from "./review-deps.ts";

/**
 * `/slack/link/<token>`: a Slack user's one-time link (from an Approve or
 * Reject click), opened behind GitHub sign-in. The page says which Slack
 * user the signed-in GitHub login will stand behind and asks for a
 * confirmation (a POST with the session's CSRF token), so that a link sent
 * by someone else is not joined by merely opening it.
 */
export function slackLinkRoutes(ctx: ReviewContext): Route[] {
  const { db, now } = ctx.deps;
  const pages = ctx.pages;
  return [
    {
      method: "GET",
      path: "/slack/link/:token",
      handler: pages.errors(async ({ req, res, params }) => {
        const { sessions } = requireSessions(ctx);
        const session = await sessions.current(req);
        const token = params.token ?? "";
        if (!session) {
          redirect(res, `/login?return_to=${encodeURIComponent(`/slack/link/${token}`)}`);
          return;
        }
        const link = await findLinkToken(db, token, now());
        const viewer = { login: session.login, csrf: session.csrf };
        if (!link)
          throw new GateError(
            "link_invalid",
            "This link is used, expired or unknown. Click Approve or Reject in Slack again for a new one.",
            { status: 410 },
          );
        const body = `<h1>Link Slack to GitHub</h1>
<p>Slack user <code>${escapeHtml(link.userId)}</code> of workspace <code>${escapeHtml(link.teamId)}</code> will approve and reject as <strong>${escapeHtml(session.login)}</strong> for this installation.</p>
<p>Confirm only if you clicked Approve or Reject in Slack yourself just now. Someone who sent you this link would act as you.</p>
<form method="post" action="/slack/link/${escapeHtml(token)}"><input type="hidden" name="csrf" value="${escapeHtml(session.csrf)}"><button type="submit">Link my Slack user</button></form>`;
        pages.send(res, 200, layout("Link Slack to GitHub", body, pages.frame(viewer)));
      }),
    },
    {
      method: "POST",
      path: "/slack/link/:token",
      handler: pages.errors(async ({ req, res, params }) => {
        const { sessions } = requireSessions(ctx);
        const session = await sessions.current(req);
        const form = new URLSearchParams((await readBody(req, 8 * 1024)).toString("utf8"));
        if (!session || !sessions.csrfValid(session, form.get("csrf"))) {
          throw new GateError("csrf", "Sign in and confirm from the link's page. Nothing was linked.", { status: 403 });
        }
        await redeemLinkToken(db, params.token ?? "", { login: session.login, id: session.userId }, now());
        pages.send(
          res,
          200,
          messagePage(
            "Linked",
            `Your Slack user now acts as ${session.login}. Click Approve or Reject in Slack again; whether it counts is decided as for any review.`,
            pages.frame({ login: session.login, csrf: session.csrf }),
          ),
        );
      }),
    },
  ];
}

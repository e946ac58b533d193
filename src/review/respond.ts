import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { GateError } from "../errors.ts";
import type { RouteHandler } from "../http/router.ts";
import type { Avatars } from "./avatars.ts";
import { messagePage, type PageFrame, type Viewer } from "./html.ts";
import { SETUP_MESSAGE, SetupError } from "./setup-error.ts";

/**
 * No script anywhere, styles from the app only, images from the app and
 * GitHub's avatars only, forms post only to the app, never framed.
 */
export function pageHeaders(avatars: Avatars): Record<string, string> {
  return {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "content-security-policy": `default-src 'none'; style-src 'self'; img-src ${["'self'", ...avatars.sources].join(" ")}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
  };
}

/** 303 See Other (after a form) or 302 (to GitHub's sign-in). */
export function redirect(
  res: ServerResponse,
  location: string,
  headers: Record<string, string | string[]> = {},
  status = 303,
): void {
  res.writeHead(status, { location, "cache-control": "no-store", "referrer-policy": "no-referrer", ...headers }).end();
}

/** How the review app answers with pages: its headers, its frame, its 404 and its errors. */
export interface Pages {
  avatars: Avatars;
  frame(viewer?: Viewer | null): PageFrame;
  send(res: ServerResponse, status: number, html: string, headers?: Record<string, string | string[]>): void;
  /** The one 404 of the review page: a missing proposal and one the person may not see look the same. */
  notFound(res: ServerResponse, viewer: Viewer | null): void;
  /**
   * Page errors as pages, showing who is signed in: a GateError shows its
   * message with its status; anything else is logged and answered 500 with
   * nothing changed.
   */
  errors(handler: RouteHandler): RouteHandler;
}

export function reviewPages(
  log: Logger,
  avatars: Avatars,
  viewerOf: (req: IncomingMessage) => Promise<Viewer | null>,
): Pages {
  const headers = pageHeaders(avatars);
  const frame = (viewer?: Viewer | null): PageFrame => ({ viewer: viewer ?? null, avatars });
  const send = (res: ServerResponse, status: number, html: string, extra: Record<string, string | string[]> = {}) => {
    res.writeHead(status, { ...headers, ...extra }).end(html);
  };
  /** Who is signed in, for an error page; a failure to tell (the database is what failed, say) is logged and shows no one. */
  const viewerForError = async (req: IncomingMessage): Promise<Viewer | null> => {
    try {
      return await viewerOf(req);
    } catch (error) {
      log.warn({ err: error }, "review page: could not tell who is signed in for an error page");
      return null;
    }
  };
  return {
    avatars,
    frame,
    send,
    notFound(res, viewer) {
      send(
        res,
        404,
        messagePage(
          "Not found",
          "There is no proposal here that you can see. Check the link, or sign in with an account that can read the repository.",
          frame(viewer),
        ),
      );
    },
    errors(handler) {
      return async (ctx) => {
        try {
          await handler(ctx);
        } catch (error) {
          if (ctx.res.headersSent) {
            ctx.res.destroy();
            return;
          }
          if (error instanceof SetupError) {
            // The operator's to fix: the detail (what to set) is logged, the reviewer is told whom to ask.
            log.error({ code: error.code, problem: error.message }, "review page is not set up");
            send(ctx.res, error.status, messagePage("Sign-in is not set up", SETUP_MESSAGE, frame()));
            return;
          }
          const viewer = await viewerForError(ctx.req);
          if (error instanceof GateError && error.status < 500) {
            log.debug({ code: error.code, status: error.status }, "review page request refused");
            send(ctx.res, error.status, messagePage("Request refused", error.message, frame(viewer)));
          } else if (error instanceof GateError) {
            log.warn({ code: error.code, status: error.status }, "review page request failed");
            send(ctx.res, error.status, messagePage("Try again", error.message, frame(viewer)));
          } else {
            log.error({ err: error }, "review page request failed");
            send(
              ctx.res,
              500,
              messagePage(
                "Something went wrong",
                "The request failed and nothing was changed. Try again.",
                frame(viewer),
              ),
            );
          }
        }
      };
    },
  };
}

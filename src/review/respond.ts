import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import { GateError } from "../errors.ts";
import type { RouteHandler } from "../api/router.ts";
import { messagePage } from "./html.ts";
import { SETUP_MESSAGE, SetupError } from "./setup-error.ts";

/** No script anywhere, styles from the app only, forms post only to the app, never framed. */
const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

export function sendPage(res: ServerResponse, status: number, html: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { ...PAGE_HEADERS, ...headers }).end(html);
}

/** 303 See Other (after a form) or 302 (to GitHub's sign-in). */
export function redirect(res: ServerResponse, location: string, headers: Record<string, string | string[]> = {}, status = 303): void {
  res.writeHead(status, { location, "cache-control": "no-store", "referrer-policy": "no-referrer", ...headers }).end();
}

/** The one 404 of the review page: a missing proposal and one the person may not see look the same. */
export function notFoundPage(res: ServerResponse): void {
  sendPage(res, 404, messagePage("Not found", "There is no proposal here that you can see. Check the link, or sign in with an account that can read the repository."));
}

/**
 * Page errors as pages: a GateError shows its message with its status;
 * anything else is logged and answered 500 with nothing changed.
 */
export function htmlErrors(log: Logger, handler: RouteHandler): RouteHandler {
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
        sendPage(ctx.res, error.status, messagePage("Sign-in is not set up", SETUP_MESSAGE));
      } else if (error instanceof GateError && error.status < 500) {
        log.debug({ code: error.code, status: error.status }, "review page request refused");
        sendPage(ctx.res, error.status, messagePage("Request refused", error.message));
      } else if (error instanceof GateError) {
        log.warn({ code: error.code, status: error.status }, "review page request failed");
        sendPage(ctx.res, error.status, messagePage("Try again", error.message));
      } else {
        log.error({ err: error }, "review page request failed");
        sendPage(ctx.res, 500, messagePage("Something went wrong", "The request failed and nothing was changed. Try again."));
      }
    }
  };
}

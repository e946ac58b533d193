import { showInvisible } from "../outreach/render.ts";
import type { Avatars } from "./avatars.ts";

/** Text as HTML: every character that could start markup or end an attribute is escaped. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Untrusted text as HTML: invisible, bidi and control characters shown as
 * `⟦U+XXXX⟧` (highlighted), everything else escaped. The markers' brackets are
 * themselves shown as markers when they occur in the text, so none can be forged.
 */
export function shownHtml(text: string): string {
  return escapeHtml(showInvisible(text)).replace(
    /⟦U\+[0-9A-F]{4,6}⟧/g,
    (marker) => `<mark class="hidden-char">${marker}</mark>`,
  );
}

export interface Viewer {
  login: string;
  csrf: string;
  /** The page to offer signing in to again after signing out (a proposal page), if any. */
  returnTo?: string | null;
}

/** What every page's frame needs: who is signed in (if anyone) and where pictures of people come from. */
export interface PageFrame {
  viewer?: Viewer | null;
  avatars: Avatars;
}

/** A person as the page shows them: their GitHub picture (when they are a GitHub user) and their name. */
export function personHtml(avatars: Avatars, login: string, label: string = login): string {
  const src = avatars.url(login);
  const picture = src
    ? `<img class="avatar" src="${escapeHtml(src)}" alt="" width="20" height="20" referrerpolicy="no-referrer">`
    : "";
  return `<span class="person">${picture}${escapeHtml(label)}</span>`;
}

/** The way back in: a link (not a form, whose CSP form-action would stop the redirect to GitHub) to sign in and return to `returnTo`. */
export function signInButton(returnTo: string): string {
  return `<div class="signin"><a class="button" href="/login?return_to=${escapeHtml(encodeURIComponent(returnTo))}">Sign in with GitHub</a></div>`;
}

/** A whole page: the app's stylesheet, no script, and the signed-in user (picture, login, sign-out) on every page. */
export function layout(title: string, body: string, frame: PageFrame): string {
  const viewer = frame.viewer;
  const who = viewer
    ? `<form method="post" action="/logout" class="signout"><span class="viewer">Signed in as <strong>${personHtml(frame.avatars, viewer.login)}</strong></span>
<input type="hidden" name="csrf" value="${escapeHtml(viewer.csrf)}">${viewer.returnTo ? `<input type="hidden" name="return_to" value="${escapeHtml(viewer.returnTo)}">` : ""}<button type="submit">Sign out</button></form>`
    : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · Agent Gate</title>
<link rel="stylesheet" href="/review.css">
</head>
<body>
<header class="bar"><span class="brand">Agent Gate</span>${who}</header>
<main>
${body}
</main>
</body>
</html>
`;
}

/** A short page saying what happened and what to do; signed out, with a way to sign in again when there is a page to return to. */
export function messagePage(title: string, message: string, frame: PageFrame, signInTo?: string | null): string {
  const again = !frame.viewer && signInTo ? `\n${signInButton(signInTo)}` : "";
  return layout(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>${again}`, frame);
}

import { showInvisible } from "../outreach/render.ts";

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
  return escapeHtml(showInvisible(text)).replace(/⟦U\+[0-9A-F]{4,6}⟧/g, (marker) => `<mark class="hidden-char">${marker}</mark>`);
}

export interface Viewer {
  login: string;
  csrf: string;
}

/** A whole page: the app's stylesheet, no script, the signed-in user and a sign-out button. */
export function layout(title: string, body: string, viewer?: Viewer): string {
  const who = viewer
    ? `<form method="post" action="/logout" class="signout"><span>Signed in as <strong>${escapeHtml(viewer.login)}</strong></span>
<input type="hidden" name="csrf" value="${escapeHtml(viewer.csrf)}"><button type="submit">Sign out</button></form>`
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

/** A short page saying what happened and what to do. */
export function messagePage(title: string, message: string, viewer?: Viewer): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>`, viewer);
}

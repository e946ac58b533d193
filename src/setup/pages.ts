// The setup pages' HTML: plain, escaped, no script (the pages work with JavaScript off).

export const escapeHtml = (text: string) =>
  text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");

export function page(title: string, body: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(title)}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}` +
    `.warning{border-left:4px solid #bf8700;background:#fff8c5;padding:.5rem 1rem}.error{border-left:4px solid #cf222e;background:#ffebe9;padding:.5rem 1rem}` +
    `label{display:block;margin:1rem 0 .25rem;font-weight:600}input[type=text]{width:100%;font:inherit;padding:.25rem}button{font:inherit;margin-top:1rem;padding:.4rem 1rem}</style>` +
    `</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`
  );
}

/** Where the page listens while the App is unregistered, and what that means. */
export function listenNote(host: string | undefined, listening: string): string {
  return host
    ? `<p id="listening">This page listens on <code>${escapeHtml(listening)}</code> (HOST=${escapeHtml(host)}): whoever reaches it still needs the setup code from the app's log.</p>`
    : `<p id="listening">Until the App is registered this page listens on <code>${escapeHtml(listening)}</code>, this machine only (HOST is unset). To open it from elsewhere, for example in a container, set HOST (such as <code>HOST=0.0.0.0</code>) and restart.</p>`;
}

/** The warning when GitHub cannot deliver to the webhook URL, with the webhook proxy (smee.io) way round it. */
export function reachWarning(webhookUrl: string, reason: string): string {
  return (
    `<div class="warning" id="webhook-warning"><p><strong>GitHub cannot deliver webhooks to <code>${escapeHtml(webhookUrl)}</code></strong>: ${escapeHtml(reason)}.</p>` +
    `<p>On a laptop, use a webhook proxy channel: open <a href="https://smee.io/new" rel="noreferrer">smee.io/new</a>, copy the channel's URL into ` +
    `<em>Webhook proxy URL</em> below. GitHub then delivers to the channel, the URL is saved as <code>WEBHOOK_PROXY_URL</code>, and the app forwards ` +
    `each delivery from it. On a server, set <code>AGENT_GATE_PUBLIC_URL</code> to the address GitHub reaches and restart.</p></div>`
  );
}

export function errorBox(text: string): string {
  return `<div class="error" role="alert" id="setup-error"><p>${text}</p></div>`;
}

import type { GitHubFake } from "./github-fake.ts";

// The setup page's flow as a browser runs it, over plain HTTP: the setup code from the app's log, the
// registration form (with its state cookie), GitHub's manifest page (the fake), the callback.

export const decodeHtml = (text: string) =>
  text.replace(
    /&(quot|#39|lt|gt|amp);/g,
    (_m, name: string) => ({ quot: '"', "#39": "'", lt: "<", gt: ">", amp: "&" })[name]!,
  );

/** The setup code from the app's log lines (JSON). */
export function setupCodeIn(output: string): string {
  const line = output.split("\n").find((text) => text.includes('"msg":"setup code for the setup page"'));
  if (!line) throw new Error(`no setup code in the log:\n${output}`);
  return (JSON.parse(line) as { setup_code: string }).setup_code;
}

export interface Registration {
  /** The browser's cookie header for the callback. */
  cookie: string;
  /** GitHub's manifest page, with the state. */
  action: string;
  state: string;
  manifest: string;
  html: string;
}

/** Enters the setup code (and a webhook proxy URL) on the page and reads the registration form it answers. */
export async function startRegistration(
  url: string,
  setupCode: string,
  proxyUrl = "",
): Promise<Registration & { status: number }> {
  const reply = await fetch(`${url}/probot/start`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ setup_code: setupCode, webhook_proxy_url: proxyUrl }).toString(),
  });
  const html = await reply.text();
  const cookie = (reply.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const action = decodeHtml(/<form action="([^"]+)" method="post">/.exec(html)?.[1] ?? "");
  const manifest = decodeHtml(/<input type="hidden" name="manifest" value="([^"]*)">/.exec(html)?.[1] ?? "");
  const state = action.includes("?") ? (new URL(action).searchParams.get("state") ?? "") : "";
  return { status: reply.status, cookie, action, state, manifest, html };
}

/** Submits the manifest to GitHub (the fake) as the browser would; returns the callback URL GitHub redirects to. */
export async function registerAtGitHub(registration: Registration): Promise<string> {
  const reply = await fetch(registration.action, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ manifest: registration.manifest }).toString(),
    redirect: "manual",
  });
  if (reply.status !== 302) throw new Error(`GitHub answered ${reply.status}: ${await reply.text()}`);
  return reply.headers.get("location")!;
}

/** A manifest code of an App registered on the fake by someone else (an attacker's own App). */
export async function foreignManifestCode(fake: GitHubFake, redirectTo: string): Promise<string> {
  const manifest = {
    name: "attacker-app",
    url: "https://attacker.example",
    hook_attributes: { url: "https://attacker.example/hook" },
    redirect_url: redirectTo,
  };
  const reply = await fetch(`${fake.url}/settings/apps/new`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ manifest: JSON.stringify(manifest) }).toString(),
    redirect: "manual",
  });
  return new URL(reply.headers.get("location")!).searchParams.get("code")!;
}

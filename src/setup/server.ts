import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { z } from "zod";
import type { Settings } from "../config/settings.ts";
import { appManifest } from "./manifest.ts";
import { credentialsIn, writeDotEnv } from "./env-file.ts";
import { newSetupCode, setupCodeMatches } from "./setup-code.ts";
import { unreachableReason } from "./webhook-reach.ts";
import { convertManifestCode } from "./conversion.ts";
import { errorBox, escapeHtml, listenNote, page, reachWarning } from "./pages.ts";

/**
 * The first run, without App credentials: a page that registers the App from app.yml (GitHub's manifest
 * flow), and the callback GitHub redirects to with a code, which is exchanged for the new App's
 * credentials (POST /app-manifests/{code}/conversions); they are written to `.env` for the next start.
 *
 * Only the operator can complete it: the page asks for the one-time setup code printed in the app's log;
 * the manifest flow's `state` is bound to the browser that entered it (a cookie) and checked on the
 * callback; the callback is accepted once, and never when `.env` already holds credentials. Until then
 * the page listens on loopback unless HOST says otherwise.
 */
export interface SetupServer {
  url: string;
  /** The setup code this process printed (for its own tests; never served). */
  setupCode: string;
  close(): Promise<void>;
}

export interface SetupOptions {
  settings: Pick<Settings, "github" | "publicUrl" | "webhookProxyUrl" | "org">;
  log: Logger;
  port: number;
  host?: string;
  /** The env file the credentials go to (default `.env` in the working directory). */
  envFile?: string;
}

const Code = z.string().regex(/^[A-Za-z0-9_-]{1,200}$/);
const ProxyUrl = z
  .string()
  .trim()
  .max(500)
  .refine((text) => {
    try {
      return ["https:", "http:"].includes(new URL(text).protocol);
    } catch {
      return false;
    }
  });
const COOKIE = "agent_gate_setup";
const STATE_TTL_MS = 3600_000;
const MAX_FORM = 8 * 1024;

interface Started {
  /** The webhook proxy channel chosen on the page, if any. */
  proxyUrl: string | undefined;
  base: string;
  expiresAt: number;
}

export async function startSetupServer(o: SetupOptions): Promise<SetupServer> {
  const github = o.settings.github;
  const envFile = o.envFile ?? ".env";
  const code = newSetupCode();
  const host = o.host ?? "127.0.0.1";
  const started = new Map<string, Started>();
  let busy = false;
  let registered = false;
  let listening = "";

  /** Where GitHub sends the browser back: AGENT_GATE_PUBLIC_URL, else the address this browser used. */
  const baseFor = (req: IncomingMessage): string => {
    if (o.settings.publicUrl) return o.settings.publicUrl.replace(/\/+$/, "");
    const hostHeader = req.headers.host;
    return hostHeader && /^[A-Za-z0-9.\-:[\]]{1,300}$/.test(hostHeader) ? `http://${hostHeader}` : listening;
  };
  const webhookUrlOf = (base: string, proxyUrl: string | undefined) => proxyUrl || `${base}/api/github/webhooks`;
  const warningFor = (webhookUrl: string): string => {
    const reason = unreachableReason(webhookUrl);
    // A GitHub Enterprise Server on this network reaches this network's addresses.
    if (!reason || (github.enterprise && unreachableReason(github.web) !== null)) return "";
    return reachWarning(webhookUrl, reason);
  };

  const codeForm = (req: IncomingMessage, problem?: string) => {
    const base = baseFor(req);
    const proxy = o.settings.webhookProxyUrl ?? "";
    const otherHost =
      o.settings.publicUrl && req.headers.host && new URL(o.settings.publicUrl).host !== req.headers.host;
    return page(
      "Register Agent Gate",
      (problem ? errorBox(problem) : "") +
        `<p>Registers a GitHub App from app.yml on ${escapeHtml(github.web)}; GitHub then sends you back here and the App's credentials are saved to ${escapeHtml(envFile)}.</p>` +
        listenNote(o.host, listening) +
        (otherHost
          ? `<p class="warning">GitHub will send you back to <code>${escapeHtml(base)}</code> (AGENT_GATE_PUBLIC_URL): open this page there, so the browser that starts the registration is the one that finishes it.</p>`
          : "") +
        warningFor(webhookUrlOf(base, proxy || undefined)) +
        `<form action="/probot/start" method="post">` +
        `<label for="setup_code">Setup code</label><p>It is printed in the app's log at start: the line "setup code for the setup page".</p>` +
        `<input type="text" id="setup_code" name="setup_code" autocomplete="off" spellcheck="false" required>` +
        `<label for="webhook_proxy_url">Webhook proxy URL (optional)</label>` +
        `<input type="text" id="webhook_proxy_url" name="webhook_proxy_url" value="${escapeHtml(proxy)}" placeholder="https://smee.io/…">` +
        `<button type="submit">Continue</button></form>`,
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const send = (status: number, html: string, headers: Record<string, string> = {}) =>
      res
        .writeHead(status, {
          "content-type": "text/html; charset=utf-8",
          "cache-control": "no-store",
          "x-frame-options": "DENY",
          "content-security-policy":
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' " + new URL(github.web).origin,
          "referrer-policy": "no-referrer",
          ...headers,
        })
        .end(html);
    const json = (status: number, body: unknown) =>
      res
        .writeHead(status, { "content-type": "application/json", "cache-control": "no-store" })
        .end(JSON.stringify(body));

    if (req.method === "GET" && url.pathname === "/healthz") return json(200, { status: "ok" });
    if (req.method === "GET" && url.pathname === "/readyz") {
      return json(503, {
        status: "not ready",
        checks: {
          github_app:
            "not registered: open the setup page (the setup code is in the app's log) or set APP_ID, PRIVATE_KEY and WEBHOOK_SECRET",
        },
      });
    }
    if (req.method === "GET" && (url.pathname === "/" || url.pathname === "/probot")) {
      if (registered)
        return send(
          200,
          page("Agent Gate is registered", `<p>Stop this process and run <code>npm start</code> again.</p>`),
        );
      return send(200, codeForm(req));
    }
    if (req.method === "POST" && url.pathname === "/probot/start") {
      const form = await readForm(req);
      if (!form || !setupCodeMatches(code, form.get("setup_code"))) {
        o.log.warn({ from: req.socket.remoteAddress }, "the setup page was given a wrong setup code");
        return send(
          403,
          codeForm(
            req,
            'That is not the setup code. Copy it from the app\'s log (the line "setup code for the setup page") and try again.',
          ),
        );
      }
      const rawProxy = form.get("webhook_proxy_url")?.trim() ?? "";
      const proxy = rawProxy ? ProxyUrl.safeParse(rawProxy) : null;
      if (proxy && !proxy.success)
        return send(
          400,
          codeForm(req, "The webhook proxy URL must be an https:// URL, such as a channel from smee.io/new."),
        );
      const state = randomBytes(32).toString("base64url");
      const base = baseFor(req);
      const now = Date.now();
      for (const [key, entry] of started) if (entry.expiresAt < now) started.delete(key);
      started.set(state, { proxyUrl: proxy?.data, base, expiresAt: now + STATE_TTL_MS });
      const manifest = appManifest({ publicUrl: base, webhookProxyUrl: proxy?.data });
      const org = o.settings.org ? `/organizations/${encodeURIComponent(o.settings.org)}` : "";
      const action = `${github.web}${org}/settings/apps/new?state=${encodeURIComponent(state)}`;
      const secure = base.startsWith("https:") ? "; Secure" : "";
      return send(
        200,
        page(
          "Register Agent Gate",
          `<p>GitHub will ask you to name the App and confirm; it then sends this browser back to <code>${escapeHtml(base)}/probot/setup</code>.</p>` +
            `<p>Webhooks go to <code>${escapeHtml(webhookUrlOf(base, proxy?.data))}</code>.</p>` +
            warningFor(webhookUrlOf(base, proxy?.data)) +
            `<form action="${escapeHtml(action)}" method="post">` +
            `<input type="hidden" name="manifest" value="${escapeHtml(JSON.stringify(manifest))}">` +
            `<button type="submit">Register GitHub App</button></form>`,
        ),
        {
          "set-cookie": `${COOKIE}=${state}; HttpOnly; SameSite=Lax; Path=/probot; Max-Age=${STATE_TTL_MS / 1000}${secure}`,
        },
      );
    }
    if (req.method === "GET" && url.pathname === "/probot/setup") {
      // Refused before anything else, and before GitHub is asked: nothing is written twice.
      if (registered || busy || credentialsIn(envFile)) {
        o.log.warn("a setup callback arrived after the App was registered; refused, nothing written");
        return send(
          409,
          page(
            "Already registered",
            `<p>${escapeHtml(envFile)} already holds an App's credentials; nothing was changed. To register another App, remove APP_ID, PRIVATE_KEY and WEBHOOK_SECRET from it and restart.</p>`,
          ),
        );
      }
      const state = url.searchParams.get("state") ?? "";
      const entry = started.get(state);
      const cookie = cookieOf(req, COOKIE);
      if (!entry || !cookie || !sameText(cookie, state) || entry.expiresAt < Date.now()) {
        o.log.warn("a setup callback without this browser's setup state was refused; nothing written");
        return send(
          403,
          page(
            "Setup refused",
            `<p>This registration was not started from this browser's setup page, or it is over an hour old. Start again from <a href="/">the setup page</a>, with the setup code from the app's log.</p>`,
          ),
        );
      }
      started.delete(state);
      const manifestCode = Code.safeParse(url.searchParams.get("code"));
      if (!manifestCode.success) {
        return send(
          400,
          page(
            "Setup failed",
            '<p>The query parameter <code>code</code> is missing or not a manifest code from GitHub. Start again from <a href="/">the setup page</a>.</p>',
          ),
        );
      }
      busy = true;
      try {
        const result = await convertManifestCode(github, manifestCode.data);
        if (!result.ok) {
          o.log.warn(
            { status: result.status, github_message: result.message },
            "GitHub did not convert the manifest code",
          );
          return send(
            502,
            page(
              "Setup failed",
              errorBox(
                `GitHub ${result.status === null ? "was not reached" : `answered ${result.status}`}: ${escapeHtml(result.message)}`,
              ) +
                `<p>Start again from <a href="/">the setup page</a> (a code from GitHub works once, for one hour).</p>`,
            ),
          );
        }
        if (credentialsIn(envFile)) {
          return send(
            409,
            page(
              "Already registered",
              `<p>${escapeHtml(envFile)} already holds an App's credentials; nothing was changed.</p>`,
            ),
          );
        }
        const app = result.app;
        const web = new URL(github.web);
        writeDotEnv(
          {
            APP_ID: String(app.id),
            PRIVATE_KEY: app.pem.trim(),
            WEBHOOK_SECRET: app.webhook_secret,
            GITHUB_CLIENT_ID: app.client_id,
            GITHUB_CLIENT_SECRET: app.client_secret,
            ...(github.enterprise ? { GHE_HOST: web.host, GHE_PROTOCOL: web.protocol.replace(":", "") } : {}),
            ...(entry.proxyUrl ? { WEBHOOK_PROXY_URL: entry.proxyUrl } : {}),
          },
          envFile,
        );
        registered = true;
        o.log.info({ appId: app.id, envFile }, "GitHub App registered; credentials saved");
        const install = `${app.html_url}/installations/new`;
        return send(
          200,
          page(
            "Agent Gate is registered",
            `<p>The App's id, private key, webhook secret and OAuth client are in ${escapeHtml(envFile)}.</p>` +
              `<ol><li>Stop this process and run <code>npm start</code> again.</li>` +
              `<li><a href="${escapeHtml(install)}">Install the App</a> on a repository.</li></ol>`,
          ),
          { "set-cookie": `${COOKIE}=; HttpOnly; SameSite=Lax; Path=/probot; Max-Age=0` },
        );
      } finally {
        busy = false;
      }
    }
    return send(404, page("Not found", `<p>Agent Gate has no App credentials yet: <a href="/">register it</a>.</p>`));
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://setup.invalid");
    handle(req, res, url).catch((error: unknown) => {
      o.log.error({ err: error }, "setup request failed");
      if (!res.headersSent) {
        res
          .writeHead(500, { "content-type": "text/html; charset=utf-8" })
          .end(page("Setup failed", errorBox(escapeHtml(error instanceof Error ? error.message : String(error)))));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shown = host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host;
  listening = `http://${shown}:${port}`;
  o.log.info({ url: listening }, "No GitHub App credentials: open the setup page to register the App");
  // Printed whatever LOG_LEVEL says: without it nobody can register the App.
  o.log.child({}, { level: "info" }).info({ setup_code: code, url: listening }, "setup code for the setup page");
  return {
    url: listening,
    setupCode: code,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM) return null;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function cookieOf(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=");
  }
  return null;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { z } from "zod";
import type { Settings } from "../config/settings.ts";
import { appManifest } from "./manifest.ts";
import { writeDotEnv } from "./env-file.ts";

/**
 * The first run, without App credentials: a page that registers the App from app.yml (GitHub's manifest
 * flow), and the callback GitHub redirects to with a code, which is exchanged for the new App's
 * credentials (POST /app-manifests/{code}/conversions); they are written to `.env` for the next start.
 */
export interface SetupServer {
  url: string;
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
const Conversion = z.object({
  id: z.number().int().positive(),
  slug: z.string().optional(),
  html_url: z.string().url(),
  pem: z.string().min(1),
  webhook_secret: z.string().min(1),
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
});

const escapeHtml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

export async function startSetupServer(o: SetupOptions): Promise<SetupServer> {
  const github = o.settings.github;
  const envFile = o.envFile ?? ".env";
  let publicUrl = o.settings.publicUrl ?? "";

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://setup.invalid");
      const send = (status: number, html: string) =>
        res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(html);
      try {
        if (req.method === "GET" && (url.pathname === "/" || url.pathname === "/probot")) {
          const manifest = appManifest({ publicUrl, webhookProxyUrl: o.settings.webhookProxyUrl });
          const org = o.settings.org ? `/organizations/${encodeURIComponent(o.settings.org)}` : "";
          send(
            200,
            page(
              "Register Agent Gate",
              `<p>Registers a GitHub App from app.yml; GitHub then sends you back here and the App's credentials are saved to ${escapeHtml(envFile)}.</p>` +
                `<form action="${escapeHtml(`${github.web}${org}/settings/apps/new`)}" method="post">` +
                `<input type="hidden" name="manifest" value="${escapeHtml(JSON.stringify(manifest))}">` +
                `<button type="submit">Register GitHub App</button></form>`,
            ),
          );
          return;
        }
        if (req.method === "GET" && url.pathname === "/probot/setup") {
          const code = Code.safeParse(url.searchParams.get("code"));
          if (!code.success) {
            send(400, page("Setup failed", "<p>The query parameter <code>code</code> is missing or not a manifest code from GitHub.</p>"));
            return;
          }
          const reply = await fetch(`${github.api}/app-manifests/${code.data}/conversions`, {
            method: "POST",
            headers: { accept: "application/vnd.github+json", "x-github-api-version": "2022-11-28", "user-agent": "agent-gate-setup" },
          });
          const body: unknown = await reply.json().catch(() => null);
          const app = reply.status === 201 ? Conversion.safeParse(body) : null;
          if (!app?.success) {
            o.log.warn({ status: reply.status }, "the manifest code was not converted");
            send(502, page("Setup failed", `<p>GitHub answered ${reply.status} to the manifest conversion; start again from <a href="/">the setup page</a> (a code works once, for one hour).</p>`));
            return;
          }
          writeDotEnv(
            {
              APP_ID: String(app.data.id),
              PRIVATE_KEY: app.data.pem.trim(),
              WEBHOOK_SECRET: app.data.webhook_secret,
              GITHUB_CLIENT_ID: app.data.client_id,
              GITHUB_CLIENT_SECRET: app.data.client_secret,
            },
            envFile,
          );
          o.log.info({ appId: app.data.id, envFile }, "GitHub App registered; credentials saved");
          const install = `${app.data.html_url}/installations/new`;
          send(
            200,
            page(
              "Agent Gate is registered",
              `<p>The App's id, private key, webhook secret and OAuth client are in ${escapeHtml(envFile)}.</p>` +
                `<ol><li>Stop this process and run <code>npm start</code> again.</li>` +
                `<li><a href="${escapeHtml(install)}">Install the App</a> on a repository.</li></ol>`,
            ),
          );
          return;
        }
        send(404, page("Not found", `<p>Agent Gate has no App credentials yet: <a href="/">register it</a>.</p>`));
      } catch (error) {
        o.log.error({ err: error }, "setup request failed");
        if (!res.headersSent) send(500, page("Setup failed", "<p>See the app's log.</p>"));
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host ?? "0.0.0.0", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${!o.host || o.host === "0.0.0.0" ? "localhost" : o.host}:${port}`;
  if (!publicUrl) publicUrl = url;
  o.log.info({ url }, "No GitHub App credentials: open the setup page to register the App");
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

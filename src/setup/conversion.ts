import { z } from "zod";
import type { GitHubUrls } from "../config/settings.ts";

/** A new App's credentials, as GitHub answers POST /app-manifests/{code}/conversions. */
const Conversion = z.object({
  id: z.number().int().positive(),
  slug: z.string().optional(),
  html_url: z.string().url(),
  pem: z.string().min(1),
  webhook_secret: z.string().min(1),
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
});
export type RegisteredApp = z.infer<typeof Conversion>;

const GitHubError = z
  .object({ message: z.string().max(500), documentation_url: z.string().max(300).optional() })
  .passthrough();

export type ConversionResult = { ok: true; app: RegisteredApp } | { ok: false; status: number | null; message: string };

/**
 * Exchanges the manifest code for the App's credentials (a code works once, within an hour). A refusal is
 * returned with GitHub's own message, so the setup page can show what went wrong.
 */
export async function convertManifestCode(github: GitHubUrls, code: string): Promise<ConversionResult> {
  let reply: Response;
  try {
    reply = await fetch(`${github.api}/app-manifests/${encodeURIComponent(code)}/conversions`, {
      method: "POST",
      headers: {
        accept: "application/vnd.github+json",
        "x-github-api-version": "2022-11-28",
        "user-agent": "agent-gate-setup",
      },
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return {
      ok: false,
      status: null,
      message: `${github.api} could not be reached (${cause?.code ?? cause?.message ?? (error as Error).message})`,
    };
  }
  const text = await reply.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  if (reply.status === 201) {
    const app = Conversion.safeParse(body);
    if (app.success) return { ok: true, app: app.data };
    return {
      ok: false,
      status: reply.status,
      message: "GitHub's answer did not hold the App's id, key, webhook secret and OAuth client",
    };
  }
  const error = GitHubError.safeParse(body);
  const said = error.success ? error.data.message : `${text.replace(/\s+/g, " ").slice(0, 200)}`;
  return { ok: false, status: reply.status, message: said || reply.statusText || "no message" };
}

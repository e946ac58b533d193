import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { z } from "zod";

/** app.yml at the package root: found the same from src/ and from dist/. */
export const APP_YML = fileURLToPath(new URL("../../app.yml", import.meta.url));

const AppYml = z.object({
  name: z.string().min(1),
  description: z.string().optional(),
  url: z.string().url(),
  public: z.boolean().default(false),
  default_permissions: z.record(z.string(), z.enum(["read", "write", "admin"])),
  default_events: z.array(z.string().min(1)),
});

export interface ManifestUrls {
  /** Where the app is reached: AGENT_GATE_PUBLIC_URL, else http://localhost:<port>. */
  publicUrl: string;
  /** A smee.io channel (WEBHOOK_PROXY_URL) that GitHub delivers to instead, for a laptop. */
  webhookProxyUrl?: string | undefined;
}

/** The GitHub App manifest (https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest) from app.yml. */
export function appManifest(urls: ManifestUrls, appYmlText = readFileSync(APP_YML, "utf8")): Record<string, unknown> {
  const parsed = AppYml.safeParse(parse(appYmlText));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`app.yml: ${issue.path.join(".") || "(top level)"} ${issue.message}`);
  }
  const app = parsed.data;
  const base = urls.publicUrl.replace(/\/+$/, "");
  return {
    name: app.name,
    url: app.url,
    ...(app.description ? { description: app.description } : {}),
    public: app.public,
    default_permissions: app.default_permissions,
    default_events: app.default_events,
    hook_attributes: { url: urls.webhookProxyUrl || `${base}/api/github/webhooks`, active: true },
    redirect_url: `${base}/probot/setup`,
    callback_urls: [`${base}/login/oauth/callback`],
  };
}

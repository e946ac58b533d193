import type { IncomingMessage } from "node:http";
import { z } from "zod";
import { readJson, sendJson } from "../http/io.ts";
import type { Route } from "../http/router.ts";
import type { Keyring } from "../crypto/keyring.ts";
import type { Database } from "../db/database.ts";
import { GateError, ValidationError } from "../errors.ts";
import { addChannel, listChannels, removeChannel } from "./channels.ts";

export interface ChannelRouteDeps {
  db: Database;
  now: () => Date;
  keyring: Keyring | null;
  /** Authenticates an admin token; the installation comes from the token, never the request. */
  requireAdmin: (req: IncomingMessage) => Promise<{ installationId: number; actor: string }>;
}

const AddBody = z.strictObject({
  type: z.string({ error: "is required: slack, teams, email or webhook" }),
  name: z.string({ error: "is required: the channel's name, e.g. deploys" }),
  token: z.string().optional(),
  signing_secret: z.string().optional(),
  channel: z.string().optional(),
  url: z.string().optional(),
  smtp_url: z.string().optional(),
  from: z.string().optional(),
  to: z.array(z.string()).optional(),
});

/**
 * Channels for admins, as `agent-gate channel` manages them: add (a
 * webhook's signing secret answered once), list (never a secret), remove.
 */
export function channelRoutes(deps: ChannelRouteDeps): Route[] {
  const keyring = () => {
    if (!deps.keyring)
      throw new GateError(
        "keyring_missing",
        "No keyring is configured: set AGENT_GATE_KEYS to store channel secrets.",
        { status: 503 },
      );
    return deps.keyring;
  };
  return [
    {
      method: "POST",
      path: "/api/v1/channels",
      async handler({ req, res }) {
        const admin = await deps.requireAdmin(req);
        const parsed = AddBody.safeParse(await readJson(req, 16 * 1024));
        if (!parsed.success)
          throw new ValidationError(
            parsed.error.issues.map((i) => ({ field: i.path.join(".") || "body", message: i.message })),
          );
        const b = parsed.data;
        const added = await addChannel(
          deps.db,
          keyring(),
          admin.installationId,
          {
            type: b.type,
            name: b.name,
            token: b.token,
            signingSecret: b.signing_secret,
            channel: b.channel,
            url: b.url,
            smtpUrl: b.smtp_url,
            from: b.from,
            to: b.to,
          },
          admin.actor,
          deps.now(),
        );
        sendJson(res, 201, { channel: added.channel, ...(added.secret ? { signing_secret: added.secret } : {}) });
      },
    },
    {
      method: "GET",
      path: "/api/v1/channels",
      async handler({ req, res }) {
        const admin = await deps.requireAdmin(req);
        sendJson(res, 200, { channels: await listChannels(deps.db, admin.installationId) });
      },
    },
    {
      method: "DELETE",
      path: "/api/v1/channels/:name",
      async handler({ req, res, params }) {
        const admin = await deps.requireAdmin(req);
        sendJson(res, 200, {
          channel: await removeChannel(deps.db, admin.installationId, params.name ?? "", admin.actor, deps.now()),
        });
      },
    },
  ];
}

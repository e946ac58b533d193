import { WebClient } from "@slack/web-api";
import type { Logger } from "pino";
import { z } from "zod";
import { readBody, sendJson } from "../http/io.ts";
import type { Route } from "../http/router.ts";
import { appendAudit } from "../audit/log.ts";
import type { Keyring } from "../crypto/keyring.ts";
import type { Database } from "../db/database.ts";
import { castVote } from "../gates/vote.ts";
import { installationVoteSources } from "../gates/vote-sources.ts";
import type { GitHubFactory } from "../github/narrowed.ts";
import { installationOfProposal } from "../proposals/directory.ts";
import { PROPOSAL_ID_PATTERN } from "../proposals/ids.ts";
import { findProposal } from "../proposals/store.ts";
import { listChannelRows, openChannel } from "./channel-store.ts";
import type { OpenChannel } from "./channel-kinds.ts";
import { issueLinkToken, linkedLogin, LINK_SECONDS, takeRequestOnce } from "./links.ts";
import { slackSignatureValid, slackTimestampFresh } from "./slack-signature.ts";

export interface SlackRouteDeps {
  db: Database;
  now: () => Date;
  log: Logger;
  keyring: Keyring | null;
  github: GitHubFactory;
  publicUrl: () => string;
  /** Wakes this process's notifier after a decision (the other messages are updated). */
  kick: () => void;
  slackApiUrl?: string;
}

/** The part of a block_actions payload the app reads; anything else is refused. */
const interaction = z.object({
  type: z.literal("block_actions"),
  team: z.object({ id: z.string().regex(/^[A-Z0-9]{1,32}$/) }),
  user: z.object({ id: z.string().regex(/^[A-Z0-9]{1,32}$/) }),
  channel: z.object({ id: z.string().max(32) }).optional(),
  actions: z.array(z.object({ action_id: z.string().max(64), value: z.string().max(2000).optional() })).min(1),
});
const buttonValue = z.strictObject({
  p: z.string().regex(PROPOSAL_ID_PATTERN),
  d: z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/),
});

type SlackChannel = Extract<OpenChannel, { type: "slack" }>;

/**
 * `POST /slack/interactions`: Approve and Reject from a Slack message.
 * Verified with the signing secret of one of the proposal's installation's
 * Slack channels (v0 HMAC over the raw body; the timestamp within 5 minutes;
 * a replay refused): anything else answers 401 and changes nothing. A click
 * counts only for a Slack user linked to a GitHub login, and then through
 * the one vote path (castVote: eligibility asked of GitHub now, the digest
 * the message showed, the recorder). An unlinked user gets an ephemeral
 * one-time link. Every refusal is audited.
 */
export function slackRoutes(deps: SlackRouteDeps): Route[] {
  return [
    {
      method: "POST",
      path: "/slack/interactions",
      async handler({ req, res }) {
        const now = deps.now();
        const raw = await readBody(req, 64 * 1024);
        const timestamp = String(req.headers["x-slack-request-timestamp"] ?? "");
        const signature = String(req.headers["x-slack-signature"] ?? "");
        const refuse = async (installationId: number | undefined, reason: string, proposalId: string | null) => {
          deps.log.warn({ reason }, "Slack interaction refused");
          if (installationId !== undefined) {
            await deps.db.tenant(installationId, (tx) =>
              appendAudit(
                tx,
                installationId,
                { action: "slack.interaction_refused", outcome: "refused", subject: proposalId, data: { reason } },
                now,
              ),
            );
          }
          sendJson(res, 401, {
            error: {
              code: "unauthorized",
              message: "The request's Slack signature is missing, wrong, stale or replayed.",
            },
          });
        };
        // What the body claims, read only to find whose signing secret must verify it.
        let parsed: z.infer<typeof interaction> | null = null;
        let value: z.infer<typeof buttonValue> | null = null;
        try {
          const form = new URLSearchParams(raw.toString("utf8"));
          const result = interaction.safeParse(JSON.parse(form.get("payload") ?? "null"));
          if (result.success) {
            parsed = result.data;
            const v = buttonValue.safeParse(JSON.parse(parsed.actions[0]?.value ?? "null"));
            value = v.success ? v.data : null;
          }
        } catch {
          parsed = null;
        }
        const installationId = value ? await installationOfProposal(deps.db, value.p) : undefined;
        if (!parsed || !value || installationId === undefined || !deps.keyring)
          return refuse(installationId, "unusable payload", value?.p ?? null);
        if (!slackTimestampFresh(timestamp, now)) return refuse(installationId, "stale timestamp", value.p);
        const keyring = deps.keyring;
        const channels = (await deps.db.tenant(installationId, (tx) => listChannelRows(tx)))
          .filter((row) => row.type === "slack")
          .map((row) => openChannel(keyring, row) as SlackChannel);
        const channel = channels.find((c) => slackSignatureValid(c.secret.signing_secret, timestamp, raw, signature));
        if (!channel) return refuse(installationId, "bad signature", value.p);
        if (!(await takeRequestOnce(deps.db, timestamp, signature, now)))
          return refuse(installationId, "replayed", value.p);

        const action = parsed.actions[0]!.action_id;
        const slackUser = { team: parsed.team.id, user: parsed.user.id };
        const web = new WebClient(channel.secret.token, {
          slackApiUrl: withSlash(deps.slackApiUrl ?? "https://slack.com/api/"),
          retryConfig: { retries: 0 },
        });
        const tell = async (text: string) => {
          if (!parsed?.channel) return;
          try {
            await web.chat.postEphemeral({ channel: parsed.channel.id, user: parsed.user.id, text });
          } catch (error) {
            deps.log.warn(
              { err: error, cause: (error as { original?: unknown }).original },
              "Slack ephemeral answer failed",
            );
          }
        };
        if (action !== "approve" && action !== "reject") {
          sendJson(res, 200, {});
          return;
        }
        const login = await deps.db.tenant(installationId, (tx) => linkedLogin(tx, slackUser.team, slackUser.user));
        if (!login) {
          const token = await deps.db.tenant(installationId, async (tx) => {
            await appendAudit(
              tx,
              installationId,
              {
                action: "slack.click_refused",
                outcome: "unlinked",
                subject: value.p,
                data: { action, reason: "the Slack user has not linked a GitHub login" },
              },
              now,
            );
            return issueLinkToken(tx, installationId, slackUser.team, slackUser.user, now);
          });
          const link = `${deps.publicUrl().replace(/\/+$/, "")}/slack/link/${token}`;
          await tell(
            `Nothing was recorded: link your GitHub account first. Open ${link} within ${LINK_SECONDS / 60} minutes and sign in with GitHub, then click again.`,
          );
          sendJson(res, 200, {});
          return;
        }
        const proposal = await deps.db.tenant(installationId, (tx) => findProposal(tx, value.p));
        if (!proposal) return refuse(installationId, "unknown proposal", value.p);
        const outcome = await castVote(
          { db: deps.db, now: deps.now },
          installationVoteSources(deps.github, deps.now, installationId, proposal),
          {
            installationId,
            proposalId: proposal.id,
            voter: { login, type: "User" },
            identifier: action,
            via: "slack",
            digest: value.d,
          },
        );
        deps.kick();
        if (outcome.outcome !== "counted")
          await tell(`Your ${action} as ${login} was not counted: ${outcome.reason ?? outcome.outcome}.`);
        sendJson(res, 200, {});
      },
    },
  ];
}

function withSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}

import { appendAudit } from "../audit/log.ts";
import type { Database } from "../db/database.ts";
import type { RepoConfig } from "../policy/config.ts";
import { notifyChannelsFor } from "../policy/notify-schema.ts";
import { findProposal, type ProposalRow } from "../proposals/store.ts";
import { findChannel, findChannelByName } from "./channel-store.ts";
import { queueNotification, type NotifyJob } from "./jobs.ts";
import { sentMessages } from "./messages-store.ts";
import { scheduleSteps, type Step } from "./schedule.ts";

/** The repository's config for a proposal, read from GitHub (the notifier's reader, narrowed). */
export type ConfigReader = (installationId: number, proposal: ProposalRow) => Promise<RepoConfig>;

/** The warning before expiry comes this long before it (a quarter of a short expiry). */
function warningLeadMs(proposal: ProposalRow): number {
  const life = proposal.expires_at.getTime() - proposal.created_at.getTime();
  return Math.min(60 * 60_000, Math.max(0, Math.floor(life / 4)));
}

/**
 * Fan a proposal's event out to its channels: one job per channel. A waiting
 * proposal goes to the channels `notify:` routes it to (read from the
 * repository now), and its escalation, reminders and expiry warning are
 * scheduled; an escalation or reminder to the channels it names; a decision,
 * expiry or supersession to every channel that was sent a message, so each
 * message is brought up to date. A name with no channel is audited.
 */
export async function fanOut(db: Database, readConfig: ConfigReader, job: NotifyJob, now: Date): Promise<string> {
  const proposal = await db.tenant(job.installation_id, (tx) => findProposal(tx, job.proposal_id));
  if (!proposal) return "no_proposal";
  let names: string[] = [];
  let ids: string[] = [];
  let escalateTo: string[] = [];
  let config: Extract<RepoConfig, { ok: true }> | null = null;
  switch (job.event) {
    case "pending": {
      if (proposal.status !== "pending") return "already_decided";
      const read = await readConfig(job.installation_id, proposal);
      if (!read.ok) return "config_error";
      config = read;
      names = notifyChannelsFor(read.config.notify, proposal);
      escalateTo = read.config.notify?.escalateTo ?? [];
      break;
    }
    case "escalated":
    case "reminder":
    case "expiring":
      ids = job.payload.channels ?? [];
      break;
    default:
      ids = (await db.tenant(job.installation_id, (tx) => sentMessages(tx, proposal.id))).map((m) => m.channel_id);
  }
  return db.tenant(job.installation_id, async (tx) => {
    const resolve = async (list: string[]) => {
      const found: string[] = [];
      for (const name of list) {
        const row = await findChannelByName(tx, name);
        if (row) found.push(row.id);
        else {
          await appendAudit(
            tx,
            job.installation_id,
            {
              action: "notification.failed",
              outcome: "no_channel",
              repo: proposal.repo,
              subject: proposal.id,
              data: {
                event: job.event,
                channel: name,
                error: "no channel of that name: add it with `agent-gate channel add`",
              },
            },
            now,
          );
        }
      }
      return found;
    };
    const targets = [...new Set([...ids, ...(await resolve(names))])];
    for (const channelId of targets) {
      if (!(await findChannel(tx, channelId))) continue;
      await queueNotification(
        tx,
        {
          installationId: job.installation_id,
          proposalId: proposal.id,
          event: job.event,
          channelId,
          dedupeKey: `${job.dedupe_key}:${channelId}`,
        },
        now,
      );
    }
    if (config?.config.notify) {
      const notify = config.config.notify;
      const steps: Step[] = [];
      const start = proposal.created_at.getTime();
      if (notify.escalateAfterMs !== undefined)
        steps.push({
          step: "escalate",
          dueAt: new Date(start + notify.escalateAfterMs),
          payload: { channels: await resolve(escalateTo) },
        });
      if (notify.remindEveryMs !== undefined)
        steps.push({
          step: "remind:1",
          dueAt: new Date(start + notify.remindEveryMs),
          payload: { channels: targets, every_ms: notify.remindEveryMs },
        });
      if (targets.length)
        steps.push({
          step: "expiring",
          dueAt: new Date(proposal.expires_at.getTime() - warningLeadMs(proposal)),
          payload: { channels: targets },
        });
      await scheduleSteps(
        tx,
        job.installation_id,
        proposal.id,
        steps.filter((s) => s.dueAt.getTime() < proposal.expires_at.getTime() && s.payload.channels.length > 0),
      );
    }
    return targets.length ? "planned" : "no_channels";
  });
}

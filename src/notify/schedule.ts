import { z } from "zod";
import type { Database, Queryable } from "../db/database.ts";
import { findProposal } from "../proposals/store.ts";
import { queueNotification } from "./jobs.ts";
import type { NotifyEvent } from "./message.ts";

/**
 * The owner of notify_schedule: an escalation, reminders and the warning
 * before expiry, each due at a time. The sweep claims due rows with
 * FOR UPDATE SKIP LOCKED and marks them done in the same transaction, so
 * several replicas never send one twice; a step whose proposal was decided
 * meanwhile sends nothing. Nothing here ever decides a proposal.
 */

const stepPayload = z.strictObject({
  channels: z.array(z.string().regex(/^chn_[A-Za-z0-9]{20}$/)).max(50),
  every_ms: z.number().int().positive().optional(),
});
export type StepPayload = z.infer<typeof stepPayload>;

export interface Step {
  /** "escalate", "remind:1", "expiring". */
  step: string;
  dueAt: Date;
  payload: StepPayload;
}

export async function scheduleSteps(
  tx: Queryable,
  installationId: number,
  proposalId: string,
  steps: Step[],
): Promise<void> {
  for (const s of steps) {
    await tx.query(
      `INSERT INTO notify_schedule (installation_id, proposal_id, step, due_at, payload) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (proposal_id, step) DO NOTHING`,
      [installationId, proposalId, s.step, s.dueAt, JSON.stringify(s.payload)],
    );
  }
}

const EVENT_OF: Record<string, NotifyEvent> = { escalate: "escalated", remind: "reminder", expiring: "expiring" };

/** Run due steps once (every replica may call it); returns how many messages were queued. */
export async function sweepSchedule(db: Database, now: Date, limit = 100): Promise<number> {
  const due = await db.transaction((tx) =>
    tx.query<{ installation_id: number; proposal_id: string; step: string; payload: unknown; due_at: Date }>(
      `WITH due AS (
         SELECT proposal_id, step FROM notify_schedule WHERE done_at IS NULL AND due_at <= $1
          ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE notify_schedule s SET done_at = $1 FROM due
        WHERE s.proposal_id = due.proposal_id AND s.step = due.step
       RETURNING s.installation_id, s.proposal_id, s.step, s.payload, s.due_at`,
      [now, limit],
    ),
  );
  let queued = 0;
  for (const row of due) {
    const payload = stepPayload.safeParse(row.payload);
    const [kind, n] = row.step.split(":");
    const event = EVENT_OF[kind ?? ""];
    if (!payload.success || !event) continue;
    await db.tenant(row.installation_id, async (tx) => {
      const proposal = await findProposal(tx, row.proposal_id);
      if (!proposal || proposal.status !== "pending" || proposal.expires_at.getTime() <= now.getTime()) return;
      await queueNotification(
        tx,
        {
          installationId: row.installation_id,
          proposalId: row.proposal_id,
          event,
          dedupeKey: `${row.step}:${row.proposal_id}`,
          payload: { channels: payload.data.channels },
        },
        now,
      );
      queued += 1;
      // The next reminder, while the proposal still has time before its expiry. The cadence counts from
      // the step's due time, not from when a sweep ran (a late sweep would push every later one back);
      // after a long pause the missed ones are skipped, not sent in a burst.
      const every = payload.data.every_ms;
      if (kind === "remind" && every) {
        const due = new Date(row.due_at).getTime();
        const next = new Date(due + every * Math.max(1, Math.floor((now.getTime() - due) / every) + 1));
        if (next.getTime() < proposal.expires_at.getTime()) {
          await scheduleSteps(tx, row.installation_id, row.proposal_id, [
            { step: `remind:${Number(n ?? 1) + 1}`, dueAt: next, payload: payload.data },
          ]);
        }
      }
    });
  }
  return queued;
}

import type { Queryable } from "../db/database.ts";
import { appendAudit, type AuditInput } from "../audit/log.ts";

export interface Delivery {
  appId: number;
  id: string;
  event: string;
  action: string | null;
  installationId: number | null;
  sender: { login: string; type: string } | null;
  repo: string | null;
}

/** Raised inside a handler's transaction when the delivery was already processed. */
export class DuplicateDelivery extends Error {
  constructor(id: string) {
    super(`delivery ${id} was already processed`);
    this.name = "DuplicateDelivery";
  }
}

/**
 * Record a delivery in the ledger and the audit log, inside the transaction
 * that commits its consequences. A second recording of the same (app, delivery)
 * throws DuplicateDelivery, which rolls back everything the handler did.
 */
export async function recordDelivery(
  tx: Queryable,
  delivery: Delivery,
  now: Date,
  outcome = "accepted",
): Promise<void> {
  await appendAudit(tx, delivery.installationId ?? 0, await claimDelivery(tx, delivery, now, outcome), now);
}

/**
 * The ledger half of recordDelivery: claims the (app, delivery) row and
 * returns the `webhook.received` event for the caller to append with the rest
 * of its transaction's events.
 */
export async function claimDelivery(
  tx: Queryable,
  delivery: Delivery,
  now: Date,
  outcome = "accepted",
): Promise<AuditInput> {
  const inserted = await tx.query(
    `INSERT INTO webhook_deliveries (app_id, delivery_id, event, action, installation_id, received_at)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING delivery_id`,
    [delivery.appId, delivery.id, delivery.event, delivery.action, delivery.installationId, now],
  );
  if (inserted.length === 0) throw new DuplicateDelivery(delivery.id);
  return {
    action: "webhook.received",
    outcome,
    actor: delivery.sender?.login ?? null,
    actorIsBot: delivery.sender?.type === "Bot",
    repo: delivery.repo,
    subject: delivery.id,
    data: { event: delivery.event, action: delivery.action, delivery_id: delivery.id },
  };
}

export async function deliverySeen(db: Queryable, appId: number, id: string): Promise<boolean> {
  const rows = await db.query("SELECT 1 FROM webhook_deliveries WHERE app_id = $1 AND delivery_id = $2", [appId, id]);
  return rows.length > 0;
}

import { createHash } from "node:crypto";
import { canonicalJson } from "../canonical-json.ts";

/** prev_hash of the first event of every installation's chain. */
export const GENESIS_HASH = "0".repeat(64);

/** The fields of an audit event that its hash covers, in GitHub audit-log names where they overlap. */
export interface AuditEventBody {
  installation_id: number;
  seq: number;
  created_at: string;
  action: string;
  actor: string | null;
  actor_is_bot: boolean;
  actor_is_agent: boolean;
  repo: string | null;
  subject: string | null;
  outcome: string;
  data: Record<string, unknown>;
}

export interface AuditEvent extends AuditEventBody {
  prev_hash: string;
  hash: string;
}

/** hash = sha256(prev_hash || canonical_json(event)), hex. */
export function chainHash(prevHash: string, body: AuditEventBody): string {
  return createHash("sha256").update(prevHash).update(canonicalJson(body)).digest("hex");
}

/** Pick exactly the hashed fields out of a stored or exported event. */
export function eventBody(event: AuditEventBody): AuditEventBody {
  return {
    installation_id: Number(event.installation_id),
    seq: Number(event.seq),
    created_at: event.created_at,
    action: event.action,
    actor: event.actor ?? null,
    actor_is_bot: Boolean(event.actor_is_bot),
    actor_is_agent: Boolean(event.actor_is_agent),
    repo: event.repo ?? null,
    subject: event.subject ?? null,
    outcome: event.outcome,
    data: event.data ?? {},
  };
}

export interface ChainFault {
  index: number;
  seq: number;
  reason: string;
}

/**
 * Check a run of consecutive events: each hash recomputes and each links to the
 * one before. `expectedPrev` is the prev_hash the first event must carry.
 */
export function verifyChain(events: Iterable<AuditEvent>, expectedPrev?: string): ChainFault | null {
  let index = 0;
  let prev = expectedPrev;
  let prevSeq: number | undefined;
  for (const event of events) {
    if (prev !== undefined && event.prev_hash !== prev) {
      return { index, seq: event.seq, reason: "prev_hash does not link to the event before it" };
    }
    if (prevSeq !== undefined && event.seq !== prevSeq + 1) {
      return { index, seq: event.seq, reason: `sequence jumps from ${prevSeq} to ${event.seq}` };
    }
    if (chainHash(event.prev_hash, eventBody(event)) !== event.hash) {
      return { index, seq: event.seq, reason: "hash does not match the event's content" };
    }
    prev = event.hash;
    prevSeq = event.seq;
    index += 1;
  }
  return null;
}

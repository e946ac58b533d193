import { createHash } from "node:crypto";
import type { PublishedKeys } from "../crypto/signer.ts";
import { GENESIS_HASH, chainHash, eventBody, type AuditEvent } from "./chain.ts";
import type { Checkpoint } from "./checkpoint.ts";
import { manifestSignatureFault, type Manifest } from "./manifest.ts";
import { CheckpointExtension } from "./verify-tree.ts";

/** `line` is 1-based; 0 means the manifest or the body as a whole. */
export type VerifyResult = { ok: true; count: number } | { ok: false; line: number; reason: string };

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Check an export offline, line by line (memory stays flat): the manifest's
 * signature, every event's hash, every link of a contiguous export, the
 * filters of a filtered one, the count, the first and last hash and the body's
 * SHA-256. The first fault found names its line.
 */
export class ExportVerifier {
  readonly #manifest: Manifest;
  readonly #digest = createHash("sha256");
  #fault: { line: number; reason: string } | null = null;
  #line = 0;
  #count = 0;
  #prevHash: string | null = null;
  #prevSeq = 0;
  readonly #vouched = new Map<number, string>();
  readonly #extension: CheckpointExtension | null;

  /** `held`: a checkpoint the verifier already has, which the export must extend. */
  constructor(manifest: Manifest, keys: PublishedKeys, held?: Checkpoint) {
    this.#manifest = manifest;
    this.#fault = manifestShapeFault(manifest) ?? liftFault(manifestSignatureFault(manifest, keys));
    this.#extension = held ? new CheckpointExtension(held, manifest) : null;
    if (!this.#fault && this.#extension) this.#fault = liftFault(this.#extension.start());
  }

  /** Feed the body's bytes exactly as exported (for the digest). */
  bytes(chunk: string | Uint8Array): void {
    this.#digest.update(chunk);
  }

  /** Feed one JSONL line, without its line feed. */
  line(text: string): void {
    this.#line += 1;
    if (this.#fault || this.#manifest.format !== "jsonl") return;
    const reason = this.#check(text);
    if (reason) this.#fault = { line: this.#line, reason };
  }

  end(): VerifyResult {
    const m = this.#manifest;
    if (!this.#fault && m.format === "jsonl") {
      if (this.#count < m.count) {
        this.#fault = {
          line: this.#count + 1,
          reason: `export ends after ${this.#count} events; the manifest lists ${m.count}`,
        };
      } else if (this.#count > 0 && this.#prevHash !== m.last_hash) {
        this.#fault = { line: this.#count, reason: "last event's hash differs from the manifest's last_hash" };
      } else {
        const reason = this.#originFault();
        if (reason) this.#fault = { line: 1, reason };
      }
    }
    if (!this.#fault && this.#extension) {
      const reason = m.format === "jsonl" ? this.#extension.end() : "only a JSONL export can be held to a checkpoint";
      if (reason) this.#fault = { line: 0, reason };
    }
    if (!this.#fault && this.#digest.digest("hex") !== m.body_sha256) {
      this.#fault = { line: 0, reason: "body SHA-256 differs from the manifest's body_sha256" };
    }
    return this.#fault ? { ok: false, ...this.#fault } : { ok: true, count: m.count };
  }

  #check(text: string): string | null {
    const m = this.#manifest;
    if (this.#line > m.count) return `line is beyond the ${m.count} events the manifest lists`;
    let event: AuditEvent;
    try {
      event = JSON.parse(text) as AuditEvent;
    } catch {
      return "not a JSON line";
    }
    const shape = eventShapeFault(event);
    if (shape) return shape;
    if (event.installation_id !== m.installation_id) return "event belongs to another installation";
    if (event.seq > m.filters.through_seq) return `seq ${event.seq} is past the manifest's through_seq`;
    if (chainHash(event.prev_hash, eventBody(event)) !== event.hash) return "hash does not match the event's content";
    if (this.#count === 0) {
      if (event.seq !== m.first_seq || event.hash !== m.first_hash)
        return "first event differs from the manifest's first_seq/first_hash";
      if (event.prev_hash !== m.first_prev_hash) return "first event's prev_hash differs from the manifest";
    } else if (m.contiguous) {
      if (event.prev_hash !== this.#prevHash)
        return "prev_hash does not link to the line before (a line deleted, moved or edited)";
      if (event.seq !== this.#prevSeq + 1) return `sequence jumps from ${this.#prevSeq} to ${event.seq}`;
    } else if (event.seq <= this.#prevSeq) {
      return `seq ${event.seq} does not follow ${this.#prevSeq} (lines reordered or repeated)`;
    }
    if (!m.contiguous) {
      const f = m.filters;
      if (f.repo !== null && event.repo !== f.repo) return "event does not match the repo filter";
      if (f.action !== null && event.action !== f.action) return "event does not match the action filter";
      if (f.since !== null && event.created_at < f.since) return "event is before the since filter";
      if (f.until !== null && event.created_at >= f.until) return "event is not before the until filter";
    }
    if (event.action === "audit.pruned") {
      const seq = event.data.last_pruned_seq;
      const hash = event.data.last_pruned_hash;
      if (typeof seq === "number" && typeof hash === "string") this.#vouched.set(seq, hash);
    }
    const extension = this.#extension?.event(event.seq, event.hash);
    if (extension) return extension;
    this.#count += 1;
    this.#prevHash = event.hash;
    this.#prevSeq = event.seq;
    return null;
  }

  /**
   * A whole-chain export must hold the chain up to its head (through_seq, which
   * the manifest signs): an empty export of a chain that has a head means its
   * events were erased, not pruned. It must start at genesis or right after
   * an audit.pruned checkpoint in the export that accounts for exactly the
   * events before it.
   */
  #originFault(): string | null {
    const m = this.#manifest;
    const f = m.filters;
    const whole = m.contiguous && f.since === null && f.until === null;
    if (!whole) return null;
    if (m.first_seq === null || m.count === 0) {
      return f.through_seq > 0
        ? `the export holds no events, but the chain's head is at seq ${f.through_seq}: its events were removed without a checkpoint that accounts for them`
        : null;
    }
    if (m.last_seq !== f.through_seq) {
      return `the export ends at seq ${m.last_seq}, but the chain's head is at seq ${f.through_seq}`;
    }
    if (m.first_seq === 1 && m.first_prev_hash === GENESIS_HASH) return null;
    if (this.#vouched.get(m.first_seq - 1) === m.first_prev_hash) return null;
    return `events 1 to ${m.first_seq - 1} are missing and no audit.pruned checkpoint in the export accounts for them (the first event's prev_hash is vouched for by neither the genesis hash nor a checkpoint)`;
  }
}

/** Verify a whole export held in memory: its text, or its lines without line feeds. */
export function verifyExport(
  body: string | Iterable<string>,
  manifest: Manifest,
  keys: PublishedKeys,
  held?: Checkpoint,
): VerifyResult {
  const verifier = new ExportVerifier(manifest, keys, held);
  if (typeof body === "string") {
    verifier.bytes(body);
    const lines = body.split("\n");
    if (lines.at(-1) === "") lines.pop();
    for (const line of lines) verifier.line(line);
  } else {
    for (const line of body) {
      verifier.bytes(`${line}\n`);
      verifier.line(line);
    }
  }
  return verifier.end();
}

function liftFault(reason: string | null) {
  return reason ? { line: 0, reason } : null;
}

function manifestShapeFault(m: Manifest): { line: number; reason: string } | null {
  const bad = (reason: string) => ({ line: 0, reason: `manifest ${reason}` });
  if (typeof m !== "object" || m === null || m.v !== 1) return bad("is not a version 1 manifest");
  if (m.format !== "jsonl" && m.format !== "csv") return bad("format must be jsonl or csv");
  if (!Number.isSafeInteger(m.count) || m.count < 0) return bad("count is not a count");
  if (typeof m.body_sha256 !== "string" || !HEX64.test(m.body_sha256)) return bad("body_sha256 is not a SHA-256");
  if (typeof m.filters !== "object" || m.filters === null || !Number.isSafeInteger(m.filters.through_seq)) {
    return bad("filters are malformed");
  }
  if (typeof m.kid !== "string" || typeof m.signature !== "string") return bad("has no kid or signature");
  return null;
}

function eventShapeFault(e: AuditEvent): string | null {
  if (typeof e !== "object" || e === null || Array.isArray(e)) return "not a JSON object";
  if (!Number.isSafeInteger(e.installation_id) || !Number.isSafeInteger(e.seq))
    return "installation_id or seq is not an integer";
  if (typeof e.prev_hash !== "string" || typeof e.hash !== "string") return "prev_hash or hash is missing";
  if (typeof e.created_at !== "string" || typeof e.action !== "string" || typeof e.outcome !== "string") {
    return "created_at, action or outcome is missing";
  }
  if (typeof e.data !== "object" || e.data === null || Array.isArray(e.data)) return "data is not an object";
  return null;
}

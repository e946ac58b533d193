import { awaitedLater } from "../errors.ts";
import { createHash } from "node:crypto";
import type { Database } from "../db/database.ts";
import type { Signer } from "../crypto/signer.ts";
import { csvEventRecord, csvHeader } from "./csv.ts";
import { batchParams, exportRange, jsonlBatch, rowsBatch, type BatchFilters } from "./export-query.ts";
import { isContiguous, type ExportFilters, type ExportFormat } from "./filters.ts";
import { toAuditEvent } from "./log.ts";
import { signManifest, type Manifest } from "./manifest.ts";
import { treeStart } from "./tree-start.ts";

export interface ExportOptions {
  installationId: number;
  since?: string | null;
  until?: string | null;
  repo?: string | null;
  action?: string | null;
  format: ExportFormat;
  /** Export nothing past this seq (the manifest route uses it to match a body already served). */
  throughSeq?: number;
  batchSize?: number;
}

export interface AuditExport {
  /** The body, in chunks of whole lines; read it once, to the end. */
  body: AsyncIterable<string>;
  /** Resolves once the body has been read to the end; rejects if reading it failed. */
  manifest: Promise<Manifest>;
  /** The chain head the export stops at, known once the first chunk is read. */
  throughSeq(): number | undefined;
  /** Events in the chunks read so far (the CSV header is not one). */
  eventsRead(): number;
}

/**
 * Lines per chunk yielded: small enough that each chunk stays in V8's young
 * generation (large strings go to large-object space, freed only by full GCs).
 */
const CHUNK_LINES = 64;

interface Tally {
  count: number;
  firstSeq: number | null;
  lastSeq: number | null;
  firstPrev: string | null;
  firstHash: string | null;
  lastHash: string | null;
}

/**
 * Stream an installation's audit events as JSON Lines or CSV, in batches read
 * by keyset pagination inside tenant transactions (memory stays flat), and
 * sign a manifest over what was streamed.
 */
export function exportAudit(db: Database, options: ExportOptions, signer: Signer, now: Date): AuditExport {
  const filters: ExportFilters = {
    since: options.since ?? null,
    until: options.until ?? null,
    repo: options.repo ?? null,
    action: options.action ?? null,
  };
  const contiguous = isContiguous(filters);
  const batchSize = options.batchSize ?? 1000;
  const digest = createHash("sha256");
  const tally: Tally = { count: 0, firstSeq: null, lastSeq: null, firstPrev: null, firstHash: null, lastHash: null };
  let through: number | undefined;
  let settle!: { resolve: (m: Manifest) => void; reject: (e: unknown) => void };
  const manifest = new Promise<Manifest>((resolve, reject) => {
    settle = { resolve, reject };
  });
  awaitedLater(manifest);

  const see = (row: { seq: number; prev_hash: string; hash: string }) => {
    if (tally.count === 0) {
      tally.firstSeq = row.seq;
      tally.firstPrev = row.prev_hash;
      tally.firstHash = row.hash;
    }
    tally.count += 1;
    tally.lastSeq = row.seq;
    tally.lastHash = row.hash;
  };

  async function* chunks(): AsyncGenerator<string> {
    const id = options.installationId;
    const range = await db.tenant(id, (tx) => exportRange(tx, id, filters, contiguous, options.throughSeq));
    through = range.through;
    // A contiguous export is fully described by its seq range.
    const applied: BatchFilters = contiguous ? { since: null, until: null, repo: null, action: null } : filters;
    if (options.format === "csv") yield csvHeader();
    let after = range.after;
    const fetchBatch =
      options.format === "jsonl"
        ? async (params: unknown[]) =>
            (await db.tenant(id, (tx) => jsonlBatch(tx, params))).map((row) => ({ row, text: `${row.line}\n` }))
        : async (params: unknown[]) =>
            (await db.tenant(id, (tx) => rowsBatch(tx, params))).map((row) => ({
              row,
              text: csvEventRecord(toAuditEvent(row)),
            }));
    for (;;) {
      const batch = await fetchBatch(batchParams(id, after, range.through, applied, batchSize));
      for (let start = 0; start < batch.length; start += CHUNK_LINES) {
        let chunk = "";
        for (const { row, text } of batch.slice(start, start + CHUNK_LINES)) {
          see(row);
          chunk += text;
        }
        yield chunk;
      }
      after = batch.at(-1)?.row.seq ?? after;
      if (batch.length < batchSize) break;
    }
  }

  let settled = false;
  async function* body(): AsyncGenerator<string> {
    try {
      for await (const chunk of chunks()) {
        digest.update(chunk);
        yield chunk;
      }
      const tree = contiguous
        ? await db.tenant(options.installationId, (tx) => treeStart(tx, options.installationId, tally.firstSeq))
        : null;
      settle.resolve(
        signManifest(
          {
            v: 1,
            installation_id: options.installationId,
            filters: { ...filters, through_seq: through ?? 0 },
            format: options.format,
            contiguous,
            count: tally.count,
            first_seq: tally.firstSeq,
            last_seq: tally.lastSeq,
            first_prev_hash: tally.firstPrev,
            first_hash: tally.firstHash,
            last_hash: tally.lastHash,
            body_sha256: digest.digest("hex"),
            tree_first_seq: tree?.firstSeq ?? null,
            tree_start_frontier: tree?.frontier ?? null,
            generated_at: now.toISOString(),
          },
          signer,
        ),
      );
      settled = true;
    } catch (error) {
      settled = true;
      settle.reject(error);
      throw error;
    } finally {
      if (!settled) settle.reject(new Error("the export body was not read to the end, so it has no manifest"));
    }
  }

  return { body: body(), manifest, throughSeq: () => through, eventsRead: () => tally.count };
}

/**
 * The audit log's speed targets (the `audit` step of bench/run.ts, BENCH_ONLY=audit), on PostgreSQL:
 * - a decision's transaction (a deploy proposal approved: its row, its queued GitHub writes and
 *   notification, `decision.recorded`) appending to the chain and the Merkle tree (appendAudits),
 *   beside the same transaction appending to the hash chain alone (the statement before the tree),
 *   alternating one with the other; target ≤ 1.10×;
 * - an inclusion proof at 1M events (proveInclusion in a tenant transaction, as `audit prove --event`
 *   runs it), beside reading the same event by its hash; target ≤ 5 ms;
 * - `audit verify` of a 1M-event JSONL export file (verifyExportFile), beside raw SHA-256 over the same
 *   file read the same way; target ≤ 2×.
 * The 1M events are a real chain, hashed here and inserted with unnest; their tree's nodes are built
 * level by level in SQL and its root checked against the same tree built here.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nacl from "tweetnacl";
import { GENESIS_HASH, chainHash, eventBody, type AuditEvent, type AuditEventBody } from "../src/audit/chain.ts";
import { checkpointNow } from "../src/audit/checkpoint-store.ts";
import { exportAudit } from "../src/audit/export.ts";
import { appendAudits, type AuditInput } from "../src/audit/log.ts";
import { appendLeaf, eventLeaf, frontierCover, frontierRoot } from "../src/audit/merkle.ts";
import { proveInclusion } from "../src/audit/prove.ts";
import { verifyInclusionProof } from "../src/audit/prove-verify.ts";
import { encodeFrontier } from "../src/audit/tree-state.ts";
import { verifyExportFile } from "../src/audit/verify-stream.ts";
import { toBase64url } from "../src/crypto/base64url.ts";
import type { PublishedKeys, Signer } from "../src/crypto/signer.ts";
import type { Database, Queryable } from "../src/db/database.ts";
import { recordInstallation, recordRepositories } from "../src/installations/store.ts";
import type { Decision } from "../src/policy/decision.ts";
import { newProposalId } from "../src/proposals/ids.ts";
import { recordDecision } from "../src/proposals/recorder.ts";
import { insertProposal, type ProposalRow } from "../src/proposals/store.ts";

export interface AuditRow {
  measure: string;
  value: string;
  baseline: string;
  ratio: string;
}

const DECISIONS = Number(process.env.BENCH_AUDIT_DECISIONS ?? 300);
const EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 1_000_000);
const PROOFS = Number(process.env.BENCH_AUDIT_PROOFS ?? 500);
const VERIFY_ROUNDS = Number(process.env.BENCH_AUDIT_VERIFY_ROUNDS ?? 3);

const WITH_TREE = 7101;
const CHAIN_ONLY = 7102;
const BIG = 7103;
const REPO = "acme/deploys";

const pair = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(3));
const signer: Signer = { keyId: "bench-audit", secretKey: pair.secretKey, publicKey: pair.publicKey };
const keys: PublishedKeys = {
  keys: [
    {
      kid: signer.keyId,
      alg: "Ed25519",
      public_key: toBase64url(pair.publicKey),
      status: "current",
      created_at: new Date().toISOString(),
    },
  ],
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}
function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
const ms = (v: number) => (v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(0)} ms`);
const ratioAgainst = (ratio: number, target: number) =>
  `${ratio.toFixed(2)}×; target ≤ ${target}×: ${ratio <= target ? "met" : `not met (gap ${(ratio - target).toFixed(2)}×)`}`;

/**
 * The append as it was before the tree: the chain's head locked and read,
 * then the events inserted and the head moved in one statement. The baseline
 * of the decision's transaction; its installation's tree is never used.
 */
async function appendChainOnly(tx: Queryable, installationId: number, inputs: readonly AuditInput[], now: Date) {
  const [head] = await tx.query<{ seq: number | string; hash: string }>(
    `INSERT INTO audit_heads (installation_id, seq, hash) VALUES ($1, 0, $2)
     ON CONFLICT (installation_id) DO UPDATE SET seq = audit_heads.seq
     RETURNING seq, hash`,
    [installationId, GENESIS_HASH],
  );
  const events: AuditEvent[] = [];
  let prev = { seq: Number(head!.seq), hash: head!.hash };
  for (const input of inputs) {
    const body = eventBody({
      installation_id: installationId,
      seq: prev.seq + 1,
      created_at: new Date(Math.floor(now.getTime())).toISOString(),
      action: input.action,
      actor: input.actor ?? null,
      actor_is_bot: input.actorIsBot ?? false,
      actor_is_agent: input.actorIsAgent ?? false,
      repo: input.repo ?? null,
      subject: input.subject ?? null,
      outcome: input.outcome,
      data: JSON.parse(JSON.stringify(input.data ?? {})) as Record<string, unknown>,
    });
    const hash = chainHash(prev.hash, body);
    events.push({ ...body, prev_hash: prev.hash, hash });
    prev = { seq: body.seq, hash };
  }
  const last = events[events.length - 1]!;
  const inserted = await tx.query(
    `WITH moved AS (
       UPDATE audit_heads SET seq = $2, hash = $3 WHERE installation_id = $1 RETURNING installation_id
     )
     INSERT INTO audit_events (installation_id, seq, created_at, action, actor, actor_is_bot,
       actor_is_agent, repo, subject, outcome, data, prev_hash, hash)
     SELECT e.installation_id, e.seq, e.created_at, e.action, e.actor, e.actor_is_bot,
            e.actor_is_agent, e.repo, e.subject, e.outcome, e.data, e.prev_hash, e.hash
       FROM jsonb_to_recordset($4::jsonb) AS e(installation_id bigint, seq bigint, created_at timestamptz,
            action text, actor text, actor_is_bot boolean, actor_is_agent boolean, repo text,
            subject text, outcome text, data jsonb, prev_hash text, hash text)
      WHERE EXISTS (SELECT 1 FROM moved)
      ORDER BY e.seq
     RETURNING seq`,
    [installationId, last.seq, last.hash, JSON.stringify(events)],
  );
  if (inserted.length !== events.length) throw new Error("the chain-only append inserted no events");
}

function approval(): Decision {
  return {
    status: "approved",
    required: 1,
    approvers: ["maintainer"],
    rejectedBy: [],
    refused: [],
    reasons: [],
    title: "Approved by maintainer",
  };
}

async function pendingDeploy(db: Database, installationId: number, now: Date): Promise<ProposalRow> {
  return db.tenant(installationId, (tx) =>
    insertProposal(tx, {
      id: newProposalId(),
      installationId,
      repo: REPO,
      repoId: installationId,
      kind: "deploy",
      status: "pending",
      digest: randomBytes(32).toString("hex"),
      headSha: randomBytes(20).toString("hex"),
      prNumber: null,
      author: "deploy-agent",
      environment: "production",
      summary: "a deployment to production",
      details: { run_id: 77 },
      state: {} as never,
      expiresAt: new Date(now.getTime() + 3_600_000),
      now,
    }),
  );
}

type Append = (tx: Queryable, installationId: number, inputs: readonly AuditInput[], now: Date) => Promise<unknown>;

/** One decision's transaction, its audit events appended together at its end (as the gates do); its ms. */
async function decide(db: Database, proposal: ProposalRow, append: Append): Promise<number> {
  const now = new Date();
  const decision = approval();
  const vote = {
    actor: { login: "maintainer", type: "User", permission: "write" as const },
    vote: "approve" as const,
    at: now.toISOString(),
    via: "check_run",
  };
  const started = performance.now();
  await db.tenant(proposal.installation_id, async (tx) => {
    const events: AuditInput[] = [];
    await recordDecision(
      tx,
      proposal,
      { type: "tally", decision, state: { votes: [vote], decision }, summary: { rejected_by: [] } },
      now,
      { events },
    );
    await append(tx, proposal.installation_id, events, now);
  });
  return performance.now() - started;
}

async function decisionTransactions(db: Database): Promise<AuditRow[]> {
  const now = new Date();
  for (const id of [WITH_TREE, CHAIN_ONLY]) {
    await recordInstallation(db, { id, account: `bench-${id}` }, now);
    await recordRepositories(db, id, [{ id, full_name: REPO }], [], now);
  }
  const rounds = DECISIONS + 50;
  const proposals = { tree: [] as ProposalRow[], chain: [] as ProposalRow[] };
  for (let i = 0; i < rounds; i += 1) {
    proposals.tree.push(await pendingDeploy(db, WITH_TREE, now));
    proposals.chain.push(await pendingDeploy(db, CHAIN_ONLY, now));
  }
  const tree: number[] = [];
  const chain: number[] = [];
  // Alternating, so both see the same load; the first 50 of each warm up.
  for (let i = 0; i < rounds; i += 1) {
    const a = await decide(db, proposals.tree[i]!, appendAudits);
    const b = await decide(db, proposals.chain[i]!, appendChainOnly);
    if (i >= 50) {
      tree.push(a);
      chain.push(b);
    }
  }
  const ratio = median(tree) / median(chain);
  return [
    {
      measure: `audit: a decision's transaction (deploy approved) with the tree append, median of ${DECISIONS}`,
      value: ms(median(tree)),
      baseline: `${ms(median(chain))} appending to the chain alone`,
      ratio: ratioAgainst(ratio, 1.1),
    },
    {
      measure: "  the same, p95",
      value: ms(pct(tree, 95)),
      baseline: ms(pct(chain, 95)),
      ratio: `${(pct(tree, 95) / pct(chain, 95)).toFixed(2)}×`,
    },
  ];
}

/**
 * A real chain of `EVENTS` events for one installation: hashed here, inserted
 * with unnest; returns the root of its tree, built here as the events are.
 */
async function seedChain(db: Database): Promise<{ root: string; hashes: string[] }> {
  let prev = GENESIS_HASH;
  let tree = { size: 0, frontier: [] as Buffer[] };
  const hashes: string[] = [];
  const start = Date.parse("2026-01-01T00:00:00.000Z");
  const BATCH = 20_000;
  for (let from = 1; from <= EVENTS; from += BATCH) {
    const cols: unknown[][] = Array.from({ length: 9 }, () => []);
    for (let seq = from; seq < Math.min(from + BATCH, EVENTS + 1); seq += 1) {
      const body: AuditEventBody = {
        installation_id: BIG,
        seq,
        created_at: new Date(start + seq * 1000).toISOString(),
        action: "decision.recorded",
        actor: `maintainer-${seq % 50}`,
        actor_is_bot: false,
        actor_is_agent: seq % 7 === 0,
        repo: `acme/repo-${seq % 20}`,
        subject: `proposal:${seq}`,
        outcome: "approved",
        data: {
          kind: "deploy",
          digest: createHash("sha256").update(String(seq)).digest("hex"),
          decision: { status: "approved", approvers: [`maintainer-${seq % 50}`], title: "Approved" },
        },
      };
      const hash = chainHash(prev, body);
      const values = [seq, body.created_at, body.actor, body.actor_is_agent, body.repo, body.subject];
      [...values, JSON.stringify(body.data), prev, hash].forEach((v, i) => cols[i]!.push(v));
      const step = appendLeaf(tree.frontier, tree.size, eventLeaf(hash));
      tree = { size: tree.size + 1, frontier: step.frontier };
      hashes.push(hash);
      prev = hash;
    }
    await db.tenant(BIG, (tx) =>
      tx.query(
        `INSERT INTO audit_events (installation_id, seq, created_at, action, actor, actor_is_bot, actor_is_agent,
           repo, subject, outcome, data, prev_hash, hash)
         SELECT $1, s, c, 'decision.recorded', a, false, ag, r, sub, 'approved', d::jsonb, p, h
           FROM unnest($2::bigint[], $3::timestamptz[], $4::text[], $5::boolean[], $6::text[], $7::text[],
                       $8::text[], $9::text[], $10::text[]) AS t(s, c, a, ag, r, sub, d, p, h)`,
        [BIG, ...cols],
      ),
    );
  }
  await buildTree(db, prev);
  return { root: frontierRoot(tree.frontier).toString("hex"), hashes };
}

/** The tree's stored nodes, level by level in SQL (RFC 9162 hashing), and the head that holds its compact range. */
async function buildTree(db: Database, headHash: string): Promise<void> {
  await db.tenant(BIG, async (tx) => {
    await tx.query(
      `INSERT INTO audit_tree_nodes (installation_id, level, idx, hash)
       SELECT $1, 0, seq - 1, sha256('\\x00'::bytea || decode(hash, 'hex')) FROM audit_events WHERE installation_id = $1`,
      [BIG],
    );
    for (let level = 1; 2 ** level <= EVENTS; level += 1) {
      await tx.query(
        // Pairs of the level below, by grouping (no join: its plan does not depend on fresh statistics).
        `INSERT INTO audit_tree_nodes (installation_id, level, idx, hash)
         SELECT $1, $2::smallint, idx / 2, sha256('\\x01'::bytea || (array_agg(hash ORDER BY idx))[1]
                                                             || (array_agg(hash ORDER BY idx))[2])
           FROM audit_tree_nodes WHERE installation_id = $1 AND level = $2::smallint - 1
          GROUP BY idx / 2 HAVING count(*) = 2`,
        [BIG, level],
      );
    }
    const cover = frontierCover(EVENTS);
    const rows = await tx.query<{ level: number; idx: number | string; hash: Uint8Array }>(
      `SELECT level, idx, hash FROM audit_tree_nodes WHERE installation_id = $1 AND (level, idx) IN
         (SELECT * FROM unnest($2::smallint[], $3::bigint[]))`,
      [BIG, cover.map((c) => c.level), cover.map((c) => c.index)],
    );
    const found = new Map(rows.map((r) => [`${r.level}/${Number(r.idx)}`, Buffer.from(r.hash)]));
    const frontier = cover.map((c) => found.get(`${c.level}/${c.index}`)!);
    // A chain starts at genesis, then its head moves forward (the head's triggers allow nothing else).
    await tx.query("INSERT INTO audit_heads (installation_id, seq, hash, tree_first_seq) VALUES ($1, 0, $2, 1)", [
      BIG,
      GENESIS_HASH,
    ]);
    await tx.query(
      "UPDATE audit_heads SET seq = $2, hash = $3, tree_size = $2, tree_frontier = $4 WHERE installation_id = $1",
      [BIG, EVENTS, headHash, encodeFrontier(frontier)],
    );
  });
  await db.query("VACUUM ANALYZE audit_events");
  await db.query("VACUUM ANALYZE audit_tree_nodes");
}

async function inclusionProofs(db: Database, root: string, hashes: string[]): Promise<AuditRow[]> {
  const checkpoint = await db.tenant(BIG, (tx) => checkpointNow(tx, BIG, signer, new Date()));
  if (checkpoint.root !== root || checkpoint.size !== EVENTS)
    throw new Error("the tree built in SQL has another root than the tree built from the same events");
  const pick = () => hashes[Math.floor(Math.random() * hashes.length)]!;
  const prove: number[] = [];
  const read: number[] = [];
  for (let i = 0; i < PROOFS + 50; i += 1) {
    const hash = pick();
    let started = performance.now();
    const proof = await db.tenant(BIG, (tx) => proveInclusion(tx, BIG, hash, checkpoint));
    const proveMs = performance.now() - started;
    if (!verifyInclusionProof(proof, keys).ok) throw new Error(`the inclusion proof of ${hash} does not verify`);
    const other = pick();
    started = performance.now();
    await db.tenant(BIG, (tx) =>
      tx.query("SELECT * FROM audit_events WHERE installation_id = $1 AND hash = $2", [BIG, other]),
    );
    const readMs = performance.now() - started;
    if (i >= 50) {
      prove.push(proveMs);
      read.push(readMs);
    }
  }
  const p50 = median(prove);
  const p99 = pct(prove, 99);
  const target = (v: number) => (v <= 5 ? "met" : `not met (gap ${ms(v - 5)})`);
  return [
    {
      measure: `audit: inclusion proof at ${EVENTS.toLocaleString("en")} events (proveInclusion, tenant transaction), p50`,
      value: ms(p50),
      baseline: `${ms(median(read))} reading the event by its hash`,
      ratio: `${(p50 / median(read)).toFixed(2)}×; target ≤ 5 ms: ${target(p50)}`,
    },
    {
      measure: `  the same, p99 (${PROOFS} random events)`,
      value: ms(p99),
      baseline: ms(pct(read, 99)),
      ratio: `target ≤ 5 ms: ${target(p99)}`,
    },
  ];
}

/** Raw SHA-256 over a file, read in the same chunks as the verifier reads it. */
async function rawSha256(path: string): Promise<string> {
  const digest = createHash("sha256");
  for await (const chunk of createReadStream(path)) digest.update(chunk as Buffer);
  return digest.digest("hex");
}

async function exportVerify(db: Database): Promise<AuditRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "agent-gate-bench-audit-"));
  try {
    const path = join(dir, "audit.jsonl");
    const out = exportAudit(db, { installationId: BIG, format: "jsonl" }, signer, new Date());
    const file = createWriteStream(path);
    for await (const chunk of out.body) if (!file.write(chunk)) await once(file, "drain");
    file.end();
    await once(file, "finish");
    const manifest = await out.manifest;
    const bytes = statSync(path).size;
    const verify: number[] = [];
    const raw: number[] = [];
    await rawSha256(path); // the file in the page cache for both
    for (let i = 0; i < VERIFY_ROUNDS; i += 1) {
      let started = performance.now();
      const digest = await rawSha256(path);
      raw.push(performance.now() - started);
      if (digest !== manifest.body_sha256) throw new Error("the export's SHA-256 differs from its manifest's");
      started = performance.now();
      const result = await verifyExportFile(path, manifest, keys);
      verify.push(performance.now() - started);
      if (!result.ok || result.count !== EVENTS) throw new Error(`verify failed: ${JSON.stringify(result)}`);
    }
    const ratio = median(verify) / median(raw);
    return [
      {
        measure: `audit: verify a ${EVENTS.toLocaleString("en")}-event JSONL export (${(bytes / 1e6).toFixed(0)} MB file, verifyExportFile), median of ${VERIFY_ROUNDS}`,
        value: ms(median(verify)),
        baseline: `${ms(median(raw))} raw SHA-256 over the file`,
        ratio: ratioAgainst(ratio, 2),
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The `audit` step: rows for bench/run.ts's table. `db` is a migrated scratch database. */
export async function auditBench(db: Database): Promise<AuditRow[]> {
  const started = performance.now();
  const rows = await decisionTransactions(db);
  process.stderr.write(`bench: audit: decisions in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  process.stderr.write(`bench: audit: seeding a chain of ${EVENTS} events and its tree…\n`);
  const seeded = await seedChain(db);
  rows.push(...(await inclusionProofs(db, seeded.root, seeded.hashes)));
  rows.push(...(await exportVerify(db)));
  return rows;
}

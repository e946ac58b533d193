/**
 * Audit export benchmark (not a test). Run:
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/audit-export.ts
 *
 * 1. 1,000,000 events (generated in SQL; hashes do not chain) exported as JSONL
 *    through exportAudit, timed with its peak RSS, beside psql's COPY of the
 *    same rows as the same JSON lines; prints the ratios.
 * 2. A real chain of 100,000 events exported and verified, beside raw SHA-256
 *    over the same bytes.
 * It creates and drops its own scratch database.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import nacl from "tweetnacl";
import pg from "pg";
import { chainHash, GENESIS_HASH, type AuditEventBody } from "../src/audit/chain.ts";
import { exportAudit } from "../src/audit/export.ts";
import { verifyExport } from "../src/audit/verify-file.ts";
import { toBase64url } from "../src/crypto/base64url.ts";
import type { PublishedKeys, Signer } from "../src/crypto/signer.ts";
import { migrate } from "../src/db/migrate.ts";
import { openPg } from "../src/db/pg.ts";

const ADMIN_URL =
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const CHAIN = Number(process.env.BENCH_CHAIN ?? 100_000);
const BIG = 1;
const CHAINED = 2;

const pair = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(1));
const signer: Signer = { keyId: "bench", secretKey: pair.secretKey, publicKey: pair.publicKey };
const keys: PublishedKeys = {
  keys: [
    {
      kid: "bench",
      alg: "Ed25519",
      public_key: toBase64url(pair.publicKey),
      status: "current",
      created_at: new Date().toISOString(),
    },
  ],
};

/** Same lines as the export builds, for psql's COPY. */
const COPY_SQL = `COPY (SELECT json_build_object(
    'installation_id', installation_id, 'seq', seq,
    'created_at', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'action', action, 'actor', actor, 'actor_is_bot', actor_is_bot, 'actor_is_agent', actor_is_agent,
    'repo', repo, 'subject', subject, 'outcome', outcome, 'data', data,
    'prev_hash', prev_hash, 'hash', hash)::text
  FROM audit_events WHERE installation_id = ${BIG} ORDER BY seq) TO STDOUT`;

/** Child mode: export one installation to nowhere and report time, bytes and peak RSS. */
async function exportChild(url: string): Promise<void> {
  const db = openPg({ connectionString: url, max: 2 });
  const started = process.hrtime.bigint();
  const out = exportAudit(db, { installationId: BIG, format: "jsonl" }, signer, new Date());
  let bytes = 0;
  for await (const chunk of out.body) bytes += Buffer.byteLength(chunk);
  const manifest = await out.manifest;
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  await db.close();
  process.stdout.write(JSON.stringify({ ms, bytes, count: manifest.count, maxRssKb: process.resourceUsage().maxRSS }));
}

/** Run a command under /usr/bin/time; wall ms and peak RSS of the command. */
function timed(command: string, args: string[]): { ms: number; maxRssKb: number; stdout: string } {
  const started = process.hrtime.bigint();
  const run = spawnSync("/usr/bin/time", ["-f", "%M", command, ...args], { encoding: "utf8", maxBuffer: 1 << 30 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.status !== 0) throw new Error(`${command} failed: ${run.stderr}`);
  const maxRssKb = Number(run.stderr.trim().split("\n").at(-1));
  return { ms, maxRssKb, stdout: run.stdout };
}

async function seedBig(client: pg.Client): Promise<void> {
  await client.query(
    `INSERT INTO audit_events (installation_id, seq, created_at, action, actor, actor_is_bot, actor_is_agent,
        repo, subject, outcome, data, prev_hash, hash)
     SELECT $1, g, timestamptz '2026-01-01' + g * interval '1 second', 'proposal.decided', 'maintainer-' || (g % 50),
        false, g % 7 = 0, 'acme/repo-' || (g % 20), 'proposal:' || md5(g::text), 'approved',
        jsonb_build_object('digest', md5(g::text) || md5((g + 1)::text), 'approvals', g % 3, 'kind', 'deploy'),
        md5((g - 1)::text) || md5((g - 1)::text), md5(g::text) || md5(g::text)
       FROM generate_series(1, $2::int) g`,
    [BIG, EVENTS],
  );
  await client.query("INSERT INTO audit_heads (installation_id, seq, hash) VALUES ($1, $2, $3)", [
    BIG,
    EVENTS,
    "0".repeat(64),
  ]);
}

async function seedChain(client: pg.Client): Promise<void> {
  let prev = GENESIS_HASH;
  const start = Date.parse("2026-01-01T00:00:00.000Z");
  for (let from = 1; from <= CHAIN; from += 5000) {
    const cols: unknown[][] = Array.from({ length: 9 }, () => []);
    for (let seq = from; seq < Math.min(from + 5000, CHAIN + 1); seq += 1) {
      const body: AuditEventBody = {
        installation_id: CHAINED,
        seq,
        created_at: new Date(start + seq * 1000).toISOString(),
        action: "proposal.decided",
        actor: `maintainer-${seq % 50}`,
        actor_is_bot: false,
        actor_is_agent: seq % 7 === 0,
        repo: `acme/repo-${seq % 20}`,
        subject: `proposal:${seq}`,
        outcome: "approved",
        data: { digest: createHash("sha256").update(String(seq)).digest("hex"), approvals: seq % 3 },
      };
      const hash = chainHash(prev, body);
      [
        seq,
        body.created_at,
        body.actor,
        body.actor_is_agent,
        body.repo,
        body.subject,
        JSON.stringify(body.data),
        prev,
        hash,
      ].forEach((v, i) => cols[i]!.push(v));
      prev = hash;
    }
    await client.query(
      `INSERT INTO audit_events (installation_id, seq, created_at, action, actor, actor_is_bot, actor_is_agent, repo, subject, outcome, data, prev_hash, hash)
       SELECT $1, s, c, 'proposal.decided', a, false, ag, r, sub, 'approved', d::jsonb, p, h
         FROM unnest($2::bigint[], $3::timestamptz[], $4::text[], $5::boolean[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
           AS t(s, c, a, ag, r, sub, d, p, h)`,
      [CHAINED, ...cols],
    );
  }
  await client.query("INSERT INTO audit_heads (installation_id, seq, hash) VALUES ($1, $2, $3)", [
    CHAINED,
    CHAIN,
    prev,
  ]);
}

async function main(): Promise<void> {
  const name = `agent_gate_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  try {
    const db = openPg({ connectionString: url.toString() });
    await migrate(db);
    await db.close();
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    let t0 = Date.now();
    await seedBig(client);
    await seedChain(client);
    await client.query("VACUUM ANALYZE audit_events");
    await client.end();
    console.log(`seeded ${EVENTS} + ${CHAIN} events in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // Warm the cache once, then measure each side.
    timed("psql", [url.toString(), "-qAt", "-o", "/dev/null", "-c", COPY_SQL]);
    const copy = timed("psql", [url.toString(), "-qAt", "-o", "/dev/null", "-c", COPY_SQL]);
    const self = fileURLToPath(import.meta.url);
    const child = JSON.parse(
      execFileSync(process.execPath, ["--import", "tsx", self, "--export-child", url.toString()], { encoding: "utf8" }),
    ) as { ms: number; bytes: number; count: number; maxRssKb: number };
    console.log(`\nJSONL export of ${child.count} events, ${(child.bytes / 1e6).toFixed(0)} MB`);
    console.log(
      `  exportAudit : ${(child.ms / 1000).toFixed(2)} s, peak RSS ${(child.maxRssKb / 1024).toFixed(0)} MB (whole Node process)`,
    );
    console.log(
      `  psql COPY   : ${(copy.ms / 1000).toFixed(2)} s, peak RSS ${(copy.maxRssKb / 1024).toFixed(0)} MB (psql)`,
    );
    console.log(`  ratio       : ${(child.ms / copy.ms).toFixed(2)}x COPY time`);

    const chainDb = openPg({ connectionString: url.toString() });
    const out = exportAudit(chainDb, { installationId: CHAINED, format: "jsonl" }, signer, new Date());
    let body = "";
    for await (const chunk of out.body) body += chunk;
    const manifest = await out.manifest;
    await chainDb.close();
    const bytes = Buffer.byteLength(body);
    t0 = performance.now();
    const result = verifyExport(body, manifest, keys);
    const verifyMs = performance.now() - t0;
    if (!result.ok) throw new Error(`verify failed: ${JSON.stringify(result)}`);
    t0 = performance.now();
    createHash("sha256").update(body).digest("hex");
    const shaMs = performance.now() - t0;
    console.log(`\nverify of a real chain of ${result.count} events, ${(bytes / 1e6).toFixed(1)} MB`);
    console.log(
      `  verifyExport : ${(verifyMs / 1000).toFixed(2)} s, ${(bytes / 1e6 / (verifyMs / 1000)).toFixed(1)} MB/s, ${Math.round(result.count / (verifyMs / 1000))} events/s`,
    );
    console.log(`  raw SHA-256  : ${(shaMs / 1000).toFixed(3)} s, ${(bytes / 1e6 / (shaMs / 1000)).toFixed(0)} MB/s`);
    console.log(`  ratio        : ${(verifyMs / shaMs).toFixed(1)}x raw SHA-256 time`);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

if (process.argv[2] === "--export-child") await exportChild(process.argv[3]!);
else await main();

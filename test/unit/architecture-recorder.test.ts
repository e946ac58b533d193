import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// Every change of a proposal's status or state goes through the recorder,
// src/proposals/recorder.ts (one proposal's change) and its bulk changes,
// src/proposals/recorder-bulk.ts; a proposal is created only by
// insertProposal in src/proposals/store.ts. These tests read the source and name the file and
// statement that breaks either rule.

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const RECORDER = "src/proposals/recorder.ts";
const RECORDERS = [RECORDER, "src/proposals/recorder-bulk.ts"];
const STORE = "src/proposals/store.ts";

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|sql)$/.test(entry.name) ? [path] : [];
  });
}

/** The SET clause of each `UPDATE proposals` statement (not of proposals_outreach or another table) that writes status or state. */
function statusOrStateWrites(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(
    /\bUPDATE\s+(?:ONLY\s+)?(?:public\.)?proposals\b(?![_\w])([\s\S]*?)(?=\bWHERE\b|\bRETURNING\b|\bFROM\b|[`"';]|$)/gi,
  )) {
    const set = match[1] ?? "";
    if (/\b(status|state)\s*=/i.test(set)) found.push(match[0].replace(/\s+/g, " ").trim());
  }
  return found;
}

/** Where `INSERT INTO proposals` (not proposals_outreach) occurs, as character offsets. */
function proposalInserts(text: string): number[] {
  return [...text.matchAll(/\bINSERT\s+INTO\s+(?:public\.)?proposals\b(?![_\w])/gi)].map((match) => match.index ?? 0);
}

const files = sourceFiles("src").map((path) => ({
  path: relative(ROOT, join(ROOT, path)),
  text: readFileSync(join(ROOT, path), "utf8"),
}));

describe("one decision recorder", () => {
  it("finds the statements it looks for (the detectors themselves)", () => {
    expect(statusOrStateWrites("UPDATE proposals SET status = 'rejected', reason = $2 WHERE id = $1")).toHaveLength(1);
    expect(statusOrStateWrites("update  proposals\n   set reason = $2, state = $3\n where id = $1")).toHaveLength(1);
    expect(statusOrStateWrites("UPDATE proposals SET pr_number = $2, status = status WHERE id = $1")).toHaveLength(1);
    expect(statusOrStateWrites("UPDATE proposals SET check_run_id = $2 WHERE id = $1")).toEqual([]);
    expect(statusOrStateWrites("UPDATE proposals_outreach SET status = 'x' WHERE proposal_id = $1")).toEqual([]);
    expect(statusOrStateWrites("UPDATE proposal_deadlines SET claimed_until = $2")).toEqual([]);
    expect(
      proposalInserts(
        "INSERT INTO proposals (id) VALUES ($1); INSERT INTO proposals_outreach (proposal_id) VALUES ($1)",
      ),
    ).toEqual([0]);
  });

  it("the recorder holds SQL that writes proposals.status and proposals.state (so the scan sees it)", () => {
    const recorder = files.find((file) => file.path === RECORDER);
    expect(recorder, `${RECORDER} is missing`).toBeDefined();
    const writes = statusOrStateWrites(recorder!.text);
    expect(writes.some((sql) => /\bstatus\s*=/i.test(sql))).toBe(true);
    expect(writes.some((sql) => /\bstate\s*=/i.test(sql))).toBe(true);
    const bulk = files.find((file) => file.path === RECORDERS[1]);
    expect(bulk, `${RECORDERS[1]} is missing`).toBeDefined();
    expect(statusOrStateWrites(bulk!.text).length).toBeGreaterThan(0);
  });

  it("no file but the recorder's two modules writes a proposal's status or state", () => {
    const outside = files
      .filter((file) => !RECORDERS.includes(file.path))
      .flatMap((file) => statusOrStateWrites(file.text).map((sql) => `${file.path}: ${sql}`));
    expect(
      outside,
      "write proposals.status and proposals.state through the recorder (src/proposals/recorder.ts, recorder-bulk.ts)",
    ).toEqual([]);
  });

  it("a proposal is inserted only by insertProposal in the store", () => {
    const elsewhere = files
      .filter((file) => file.path !== STORE && proposalInserts(file.text).length > 0)
      .map((file) => file.path);
    expect(elsewhere, "insert proposals through insertProposal (src/proposals/store.ts)").toEqual([]);

    const store = files.find((file) => file.path === STORE)!.text;
    const start = store.indexOf("export async function insertProposal");
    expect(start).toBeGreaterThan(-1);
    const next = store.indexOf("\nexport ", start + 1);
    const end = next === -1 ? store.length : next;
    const inserts = proposalInserts(store);
    expect(inserts).toHaveLength(1);
    expect(
      inserts.every((at) => at > start && at < end),
      "the store's only INSERT INTO proposals is in insertProposal",
    ).toBe(true);
  });
});

// Every GitHub write is queued in one table, `outbox`, by one function,
// enqueue in src/outbox/queue.ts, as a job made by that module's builder for
// its kind; only the outbox's worker changes a queued row afterwards.
const QUEUE = "src/outbox/queue.ts";
const JOB_KINDS = "src/outbox/job-kinds.ts";

/** The statements that write the outbox table (not outbox_pace), with what they do. */
function outboxWrites(text: string): string[] {
  return [
    ...text.matchAll(/\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(?:ONLY\s+)?(?:public\.)?outbox\b(?![_\w])/gi),
  ].map((match) => match[1]!.replace(/\s+/g, " ").toUpperCase());
}

/** Where an outbox job is made: an object with an `operation` and a `coalesceKey` (the OutboxJob's fields). */
function jobLiterals(text: string): number {
  return [...text.matchAll(/\bcoalesceKey\s*[:,}]/g)].length;
}

describe("one queue of GitHub writes", () => {
  it("finds the statements and jobs it looks for (the detectors themselves)", () => {
    expect(outboxWrites("INSERT INTO outbox (installation_id) VALUES ($1)")).toEqual(["INSERT INTO"]);
    expect(outboxWrites("update outbox set done_at = $2; DELETE FROM outbox WHERE id = $1")).toEqual([
      "UPDATE",
      "DELETE FROM",
    ]);
    expect(outboxWrites("INSERT INTO outbox_pace (installation_id) VALUES ($1)")).toEqual([]);
    expect(outboxWrites("SELECT max(id) FROM outbox WHERE coalesce_key = $1")).toEqual([]);
    expect(jobLiterals("return { installationId, operation: kind, coalesceKey, priority, payload };")).toBe(1);
    expect(jobLiterals('({ operation: "check_run.sync", coalesceKey: `proposal:${id}` })')).toBe(1);
    expect(jobLiterals("job.coalesce_key")).toBe(0);
  });

  it("only src/outbox/ writes the outbox table, and only enqueue (src/outbox/queue.ts) inserts into it", () => {
    const outside = files
      .filter((file) => !file.path.startsWith("src/outbox/") && outboxWrites(file.text).length > 0)
      .map((file) => file.path);
    expect(outside, "queue GitHub writes with enqueue (src/outbox/queue.ts)").toEqual([]);
    const inserts = files.filter((file) => outboxWrites(file.text).includes("INSERT INTO")).map((file) => file.path);
    expect(inserts).toEqual([QUEUE]);
  });

  it("builds outbox jobs only in src/outbox/queue.ts", () => {
    const elsewhere = files
      .filter((file) => file.path !== QUEUE && jobLiterals(file.text) > 0)
      .map((file) => file.path);
    expect(elsewhere, "build each job kind with its builder in src/outbox/queue.ts").toEqual([]);
  });

  it("has a builder next to enqueue for every job kind the worker parses", () => {
    const kindsText = files.find((file) => file.path === JOB_KINDS)!.text;
    const schemas = kindsText.slice(kindsText.indexOf("export const JOB_SCHEMAS"));
    const kinds = [...schemas.matchAll(/^ {2}"([a-z_]+\.[a-z_]+)":/gm)].map((match) => match[1]!);
    expect(kinds.length).toBeGreaterThanOrEqual(5);
    const queue = files.find((file) => file.path === QUEUE)!.text;
    const built = [...queue.matchAll(/\bjob\(\s*installationId,\s*"([a-z_]+\.[a-z_]+)"/g)].map((match) => match[1]!);
    expect(built.sort()).toEqual([...kinds].sort());
  });
});

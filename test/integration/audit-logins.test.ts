import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAudit, readAudit } from "../../src/audit/log.ts";
import { verifyChain, GENESIS_HASH } from "../../src/audit/chain.ts";
import type { Queryable } from "../../src/db/database.ts";
import type { PgliteDatabase } from "../../src/db/pglite.ts";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";

// Issue 26, item 3: the login the app runs as cannot cut or rewrite the audit chain. It owns nothing: no session
// setting opens the append-only trigger, it cannot disable the trigger, change or delete an event, rewind the
// chain's head, or prune inside the retention floor. On the embedded database the same holds for the app's
// session and for every client of its socket, which can never act as the owner again.

const INSTALLATION = 2601;
const DAY = 86_400_000;
let t: TestDatabase;
const now = new Date();

beforeAll(async () => {
  t = await createTestDatabase();
  for (let i = 0; i < 22; i += 1) {
    await t.db.tenant(INSTALLATION, (tx) =>
      appendAudit(tx, INSTALLATION, { action: "test.event", outcome: "ok", data: { i } }, now),
    );
  }
});
afterAll(async () => {
  await t.drop();
});

async function chainIsWhole(): Promise<void> {
  const events = await t.db.tenant(INSTALLATION, (tx) => readAudit(tx, INSTALLATION));
  expect(events).toHaveLength(22);
  expect(verifyChain(events, GENESIS_HASH)).toBeNull();
  const [head] = await t.db.tenant(INSTALLATION, (tx) =>
    tx.query<{ seq: number; hash: string }>("SELECT seq, hash FROM audit_heads WHERE installation_id = $1", [
      INSTALLATION,
    ]),
  );
  expect(head).toEqual({ seq: 22, hash: events[21]!.hash });
}

/** Each statement on its own, as the app's login outside a tenant transaction; every one must be refused. */
async function refusedOutside(run: (sql: string) => Promise<unknown>, statements: string[]): Promise<void> {
  for (const sql of statements) await expect(run(sql), sql).rejects.toThrow();
}

/** What the outside attack did: the setting, then the tail cut and the head rewound. */
const CUT_THE_TAIL = [
  "SET agent_gate.pruning = 'on'",
  `DELETE FROM audit_events WHERE installation_id = ${INSTALLATION} AND seq > 19`,
];

describe("the app's database login cannot cut or rewrite the audit chain", () => {
  it("is not a superuser, owns nothing and bypasses no row level security", async () => {
    const [me] = await t.db.query<{ name: string; rolsuper: boolean; rolbypassrls: boolean; owns: boolean }>(
      `SELECT current_user AS name, rolsuper, rolbypassrls,
              pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = 'audit_events'::regclass), 'USAGE') AS owns
         FROM pg_roles WHERE rolname = current_user`,
    );
    expect(me).toMatchObject({ rolsuper: false, rolbypassrls: false, owns: false });
  });

  it("refuses the pruning setting followed by a DELETE, outside and inside a tenant transaction", async () => {
    await expect(
      t.db.transaction(async (tx) => {
        for (const sql of CUT_THE_TAIL) await tx.query(sql);
      }),
    ).rejects.toThrow();
    await expect(
      t.db.tenant(INSTALLATION, async (tx) => {
        await tx.query(`DELETE FROM audit_events WHERE installation_id = ${INSTALLATION} AND seq > 19`);
      }),
    ).rejects.toThrow();
    await chainIsWhole();
  });

  it("refuses ALTER TABLE … DISABLE TRIGGER, and UPDATE, DELETE and TRUNCATE of the events", async () => {
    await refusedOutside(
      (sql) => t.db.transaction((tx) => tx.query(sql)),
      [
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update",
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        "ALTER TABLE audit_heads DISABLE TRIGGER ALL",
        "ALTER TABLE audit_events NO FORCE ROW LEVEL SECURITY",
        "DROP TRIGGER audit_events_no_delete ON audit_events",
        "UPDATE audit_events SET outcome = 'forged'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "TRUNCATE audit_heads",
      ],
    );
    // A GRANT by a role without the grant option only warns: what matters is that nothing was granted.
    await t.db.query("GRANT DELETE, UPDATE, TRUNCATE ON audit_events TO agent_gate_app").catch(() => []);
    const [rights] = await t.db.query<{ any: boolean }>(
      `SELECT has_table_privilege('agent_gate_app', 'audit_events', 'DELETE, UPDATE, TRUNCATE')
           OR has_table_privilege(current_user, 'audit_events', 'DELETE, UPDATE, TRUNCATE')
           OR has_table_privilege(current_user, 'audit_heads', 'DELETE, TRUNCATE') AS any`,
    );
    expect(rights).toEqual({ any: false });
    for (const sql of [
      "UPDATE audit_events SET outcome = 'forged' WHERE seq = 20",
      "DELETE FROM audit_events WHERE seq > 19",
      "DELETE FROM audit_heads",
    ]) {
      await expect(
        t.db.tenant(INSTALLATION, (tx) => tx.query(sql)),
        sql,
      ).rejects.toThrow();
    }
    await chainIsWhole();
  });

  it("refuses to rewind the chain's head, or to move it onto an event that is not there", async () => {
    const events = await t.db.tenant(INSTALLATION, (tx) => readAudit(tx, INSTALLATION));
    const rewind = (tx: Queryable) =>
      tx.query("UPDATE audit_heads SET seq = 19, hash = $2 WHERE installation_id = $1", [
        INSTALLATION,
        events[18]!.hash,
      ]);
    await expect(t.db.tenant(INSTALLATION, rewind)).rejects.toThrow(/moves forward only/);
    await expect(
      t.db.tenant(INSTALLATION, (tx) =>
        tx.query("UPDATE audit_heads SET seq = 40, hash = $2 WHERE installation_id = $1", [
          INSTALLATION,
          "f".repeat(64),
        ]),
      ),
    ).rejects.toThrow(/names no event/);
    // Even its owner cannot rewind it without first switching the trigger off.
    await expect(
      t.owner.transaction(async (tx) => {
        await tx.query("SELECT agent_gate_enter_tenant($1)", [INSTALLATION]);
        await rewind(tx);
      }),
    ).rejects.toThrow(/moves forward only/);
    await chainIsWhole();
  });

  it("refuses the pruning function with a future cutoff, or one inside the retention floor", async () => {
    const prune = (cutoff: Date) =>
      t.db.tenant(INSTALLATION, (tx) =>
        tx.query("SELECT * FROM agent_gate_prune_audit($1, $2::timestamptz)", [INSTALLATION, cutoff.toISOString()]),
      );
    await expect(prune(new Date(now.getTime() + 365 * DAY))).rejects.toThrow(/retention floor/);
    await expect(prune(new Date(now.getTime() - DAY))).rejects.toThrow(/retention floor/);
    await chainIsWhole();
  });

  it("no session setting opens the append-only trigger, even for the owner", async () => {
    // Today's attack as the owner: the setting no longer lets a DELETE through; only the pruning function deletes.
    await expect(
      t.owner.transaction(async (tx) => {
        await tx.query("SELECT agent_gate_enter_tenant($1)", [INSTALLATION]);
        await tx.query("SELECT set_config('agent_gate.pruning', 'on', true)");
        await tx.query(`DELETE FROM audit_events WHERE installation_id = ${INSTALLATION} AND seq > 19`);
      }),
    ).rejects.toThrow(/append-only/);
    await chainIsWhole();
  });
});

describe.runIf(backend() === "pglite")("the embedded database's socket lends the app's login only", () => {
  let dir: string;
  let stop: () => Promise<void>;
  let client: pg.Client;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "agent-gate-socket-"));
    stop = await (t.db as PgliteDatabase).serveSocket(join(dir, ".s.PGSQL.5432"), 2);
    client = new pg.Client({ host: dir, port: 5432, user: "postgres", database: "postgres" });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await stop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers as agent_gate_service whatever user the client names", async () => {
    const { rows } = await client.query("SELECT current_user AS name");
    expect(rows).toEqual([{ name: "agent_gate_service" }]);
  });

  it("refuses every way back to the owner, and every change to the audit tables", async () => {
    for (const sql of [
      "SET ROLE postgres",
      "RESET ROLE",
      "SET SESSION AUTHORIZATION postgres",
      "RESET ALL",
      "DISCARD ALL",
      "SELECT set_config('role', 'postgres', false)",
      "select pg_catalog.set_config('role', 'none', false)",
      "DO $$ BEGIN EXECUTE 'RESET ROLE'; END $$",
      "CREATE FUNCTION pg_temp.up() RETURNS void LANGUAGE sql SET role = postgres AS 'SELECT 1'",
      "SET agent_gate.pruning = 'on'",
      "ALTER TABLE audit_events DISABLE TRIGGER ALL",
      "UPDATE audit_events SET outcome = 'forged'",
      "DELETE FROM audit_events",
      "TRUNCATE audit_events",
    ]) {
      await expect(client.query(sql), sql).rejects.toThrow();
    }
    // Inside its tenant, the head still only moves forward.
    await client.query(`BEGIN; SELECT agent_gate_enter_tenant(${INSTALLATION})`);
    await expect(
      client.query(`UPDATE audit_heads SET seq = 19 WHERE installation_id = ${INSTALLATION}`),
    ).rejects.toThrow(/moves forward only/);
    await client.query("ROLLBACK");
    // Extended protocol (a parameterised statement) is checked the same way.
    await expect(client.query("SELECT set_config('role', $1, false)", ["postgres"])).rejects.toThrow(
      /refused on the app.s socket: call set_config/,
    );
    const { rows } = await client.query("SELECT current_user AS name");
    expect(rows).toEqual([{ name: "agent_gate_service" }]);
    await chainIsWhole();
  });

  it("still serves the app's own statements: a tenant transaction, as the CLI sends it", async () => {
    await client.query(
      `BEGIN; SELECT agent_gate_enter_tenant(${INSTALLATION}), set_config('role', 'agent_gate_app', true)`,
    );
    const { rows } = await client.query("SELECT count(*)::int AS n FROM audit_events");
    await client.query(`SELECT agent_gate_check_tenant(${INSTALLATION}); COMMIT`);
    expect(rows).toEqual([{ n: 22 }]);
  });

  it("the app's own handle on the embedded database refuses the way back to the owner too", async () => {
    for (const sql of ["RESET ROLE", "SET ROLE postgres", "SELECT set_config('role', 'postgres', false)"]) {
      await expect(t.db.query(sql), sql).rejects.toThrow(/may not/);
    }
    const [row] = await t.db.query<{ name: string }>("SELECT current_user AS name");
    expect(row).toEqual({ name: "agent_gate_service" });
  });
});

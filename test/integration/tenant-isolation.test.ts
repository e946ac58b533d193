import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Queryable } from "../../src/db/database.ts";
import { TenantStatementRefused } from "../../src/db/tenant.ts";
import { appendAudit } from "../../src/audit/log.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  const now = new Date("2026-11-23T10:00:00.000Z");
  for (const id of [71, 72]) {
    await t.db.tenant(id, async (tx) => {
      await appendAudit(tx, id, { action: "test.seed", outcome: "ok" }, now);
      await tx.query("INSERT INTO outbox (installation_id, operation, payload) VALUES ($1, 'check.update', '{}')", [
        id,
      ]);
      await tx.query("INSERT INTO outbox_pace (installation_id, next_at) VALUES ($1, $2)", [id, now]);
      await tx.query(
        "INSERT INTO webhook_deliveries (app_id, delivery_id, event, installation_id, received_at) VALUES (1, $1, 'ping', $2, $3)",
        [`d-${id}`, id, now],
      );
      await tx.query("INSERT INTO proposal_deadlines (proposal_id, installation_id, expires_at) VALUES ($1, $2, $3)", [
        `p-${id}`,
        id,
        now,
      ]);
    });
  }
});
afterAll(async () => {
  await t.drop();
});

/** What the app role sees of installation data, one count per table. */
async function visible(tx: Queryable): Promise<Record<string, number[]>> {
  const seen: Record<string, number[]> = {};
  for (const table of ["audit_events", "outbox", "outbox_pace", "webhook_deliveries", "proposal_deadlines"]) {
    const rows = await tx.query<{ id: number }>(`SELECT DISTINCT installation_id AS id FROM ${table} ORDER BY 1`);
    seen[table] = rows.map((row) => row.id);
  }
  return seen;
}

const ONLY_71 = {
  audit_events: [71],
  outbox: [71],
  outbox_pace: [71],
  webhook_deliveries: [71],
  proposal_deadlines: [71],
};

/**
 * The app role as the database sees it, without the statement guard of
 * db.tenant: the same entry (agent_gate_enter_tenant, then SET LOCAL ROLE) on
 * an owner transaction, so what the SQL itself can do is what is tested.
 */
function asAppRole<T>(installationId: number, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return t.owner.transaction(async (tx) => {
    await tx.query(`SELECT agent_gate_enter_tenant(${installationId}), set_config('role', 'agent_gate_app', true)`);
    return fn(tx);
  });
}

describe("tenant isolation in the database", () => {
  it("keeps the app role in its tenant whatever setting it changes", async () => {
    await asAppRole(71, async (tx) => {
      expect(await visible(tx)).toEqual(ONLY_71);
      await tx.query("SET LOCAL agent_gate.installation_id = '72'");
      expect(await visible(tx)).toEqual(ONLY_71);
      await tx.query("SELECT set_config('agent_gate.installation_id', '72', true)");
      expect(await visible(tx)).toEqual(ONLY_71);
      await tx.query("SELECT set_config('agent_gate.installation_id', '72', false)");
      expect(await visible(tx)).toEqual(ONLY_71);
      await tx.query("RESET agent_gate.installation_id");
      expect(await visible(tx)).toEqual(ONLY_71);
      const [me] = await tx.query<{ user: string }>("SELECT current_user AS user");
      expect(me?.user).toBe("agent_gate_app");
    });
  });

  it("refuses the tenant definer to the app role and a second, different tenant to anyone", async () => {
    await expect(asAppRole(71, (tx) => tx.query("SELECT agent_gate_enter_tenant(72)"))).rejects.toThrow(
      /permission denied/,
    );
    await expect(
      t.db.transaction(async (tx) => {
        await tx.query("SELECT agent_gate_enter_tenant(71)");
        await tx.query("SELECT agent_gate_enter_tenant(71)");
        await tx.query("SELECT agent_gate_enter_tenant(72)");
      }),
    ).rejects.toThrow(/already has a tenant/);
    // The app role cannot write the binding either.
    await expect(asAppRole(71, (tx) => tx.query("UPDATE tenant_bindings SET installation_id = 72"))).rejects.toThrow(
      /permission denied/,
    );
  });

  it("binds a tenant for one transaction only", async () => {
    await t.db.transaction((tx) => tx.query("SELECT agent_gate_enter_tenant(72)"));
    const [row] = await t.db.transaction((tx) =>
      tx.query<{ tenant: number | null }>("SELECT agent_gate_tenant() AS tenant"),
    );
    expect(row?.tenant).toBeNull();
  });

  it("rolls back a tenant transaction that left its role before it ends", async () => {
    await expect(
      asAppRole(71, async (tx) => {
        await tx.query(
          "INSERT INTO outbox (installation_id, operation, payload) VALUES (71, 'check.update', '{\"left\":true}')",
        );
        await tx.query("RESET ROLE");
        await tx.query("SELECT agent_gate_check_tenant(71)");
      }),
    ).rejects.toThrow(/left its role or tenant/);
    const rows = await t.db.query("SELECT 1 FROM outbox WHERE payload ? 'left'");
    expect(rows).toHaveLength(0);
  });
});

describe("tenant transactions (db.tenant)", () => {
  const attempts = [
    "RESET ROLE",
    "SET ROLE postgres",
    "set local role postgres",
    "SET SESSION AUTHORIZATION postgres",
    "SET LOCAL agent_gate.installation_id = '72'",
    "RESET ALL",
    "SELECT set_config('role', 'postgres', true)",
    "SELECT pg_catalog.set_config('agent_gate.installation_id', '72', true)",
    "SELECT \"set_config\"('role', 'postgres', true)",
    "SELECT 1; RESET ROLE",
    "/* x */ RESET ROLE",
    "SAVEPOINT s",
    "ROLLBACK",
    "COMMIT",
    "DO $$ BEGIN RESET ROLE; END $$",
    "DO $x$ BEGIN RESET ROLE; END $x$",
    "CREATE FUNCTION pg_temp.f() RETURNS void LANGUAGE sql AS 'RESET ROLE'",
    "DISCARD ALL",
  ];
  for (const sql of attempts) {
    it(`refuses ${JSON.stringify(sql)} and keeps the tenant`, async () => {
      await t.db.tenant(71, async (tx) => {
        await expect(tx.query(sql)).rejects.toThrow(TenantStatementRefused);
        expect(await visible(tx)).toEqual(ONLY_71);
      });
    });
  }

  it("runs ordinary statements, strings that merely mention those words included", async () => {
    const rows = await t.db.tenant(71, (tx) =>
      tx.query<{ note: string }>("SELECT 'RESET ROLE; set_config(' AS note -- SET ROLE postgres\n"),
    );
    expect(rows[0]?.note).toBe("RESET ROLE; set_config(");
    const updated = await t.db.tenant(71, (tx) =>
      tx.query("UPDATE outbox SET attempts = attempts WHERE installation_id = 71 RETURNING id"),
    );
    expect(updated).toHaveLength(1);
  });

  it("cannot mark another installation's outbox job done or delete its deadline", async () => {
    const done = await t.db.tenant(71, (tx) =>
      tx.query("UPDATE outbox SET done_at = now(), outcome = 'done' WHERE installation_id = 72 RETURNING id"),
    );
    expect(done).toHaveLength(0);
    const deleted = await t.db.tenant(71, (tx) =>
      tx.query("DELETE FROM proposal_deadlines WHERE installation_id = 72 RETURNING proposal_id"),
    );
    expect(deleted).toHaveLength(0);
    const paced = await t.db.tenant(71, (tx) =>
      tx.query("UPDATE outbox_pace SET next_at = now() WHERE installation_id = 72 RETURNING 1"),
    );
    expect(paced).toHaveLength(0);
    await expect(
      t.db.tenant(71, (tx) =>
        tx.query("INSERT INTO outbox (installation_id, operation, payload) VALUES (72, 'check.update', '{}')"),
      ),
    ).rejects.toThrow(/row-level security/);
    const [left] = await t.db.query<{ n: number }>(
      "SELECT count(*)::int8 AS n FROM outbox WHERE installation_id = 72 AND done_at IS NULL",
    );
    expect(left?.n).toBe(1);
    expect(await t.db.query("SELECT 1 FROM proposal_deadlines WHERE installation_id = 72")).toHaveLength(1);
  });

  it("lets the owner connection work across installations (the workers' path)", async () => {
    const rows = await t.db.query<{ id: number }>("SELECT DISTINCT installation_id AS id FROM outbox ORDER BY 1");
    expect(rows.map((row) => row.id)).toEqual([71, 72]);
  });
});

/**
 * Tables the app role cannot touch at all, with why they are not per tenant.
 * A new table must be put under FORCE'd row level security, or listed here.
 */
const OWNER_ONLY: Record<string, string> = {
  installations: "read by authentication before any tenant is known",
  installation_repositories: "read by authentication before any tenant is known",
  agent_tokens: "looked up by token hash before any tenant is known",
  review_sessions: "one person reviews for many installations; read before a tenant is known",
  tenant_bindings: "the tenant of each transaction itself, written only by agent_gate_enter_tenant",
  audit_prune_grants: "the rows the pruning function may delete, written only by agent_gate_prune_audit",
  schema_migrations: "the migrations applied; no installation data",
  webhook_inbox:
    "filled before a delivery's installation is trusted and claimed across installations by the processor (owner connection)",
  webhook_recovery: "the App's delivery-log cursor: one per app, no installation data",
  sweep_leases: "which replica runs a background sweep; no installation data",
  replica_keys: "the key ids each running replica holds; no installation data",
  github_rate_limits:
    "each installation's GitHub rate-limit window (limit, used, remaining, reset), written by every replica's client outside any tenant transaction; counts only, no installation content",
  slack_replays:
    "hashes of Slack interaction requests already taken, checked before a tenant is known; no installation data",
};

/** Tables the app role may read that hold no installation's data. */
const SHARED: Record<string, string> = {
  signing_keys: "one set of receipt-signing keys for every installation; the app role may only SELECT",
  audit_retention_policy: "the retention floor the pruning function enforces; the app role may only SELECT",
};

/** audit_ tables that are the log's working state, not its record: the chain's head (moves only forward, by trigger) and the checkpoint sweep's queue. */
const AUDIT_WORK_TABLES = new Set(["audit_heads", "audit_checkpoint_due"]);

/** Tables the app's login (agent_gate_service) is granted nothing on: only the owner's definer functions write them. */
const NOT_FOR_SERVICE = new Set(["tenant_bindings", "audit_prune_grants"]);

describe("the app's login (agent_gate_service)", () => {
  it("owns no table, may not change the audit tables, and is granted every other table it works with", async () => {
    const tables = await t.owner.query<{ name: string; owned: boolean; access: boolean; audit_write: boolean }>(
      `SELECT c.relname AS name, pg_has_role('agent_gate_service', c.relowner, 'USAGE') AS owned,
              has_table_privilege('agent_gate_service', c.oid, 'SELECT, INSERT, UPDATE, DELETE') AS access,
              has_table_privilege('agent_gate_service', c.oid, 'UPDATE, DELETE, TRUNCATE') AS audit_write
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname`,
    );
    const problems: string[] = [];
    for (const table of tables) {
      if (table.owned) problems.push(`agent_gate_service owns ${table.name}`);
      if (table.name.startsWith("audit_") && !AUDIT_WORK_TABLES.has(table.name) && table.audit_write)
        problems.push(`agent_gate_service may change ${table.name}`);
      if (!table.access && !NOT_FOR_SERVICE.has(table.name)) {
        problems.push(
          `${table.name} grants nothing to agent_gate_service: grant what the app's work across installations needs in its migration, or list it in NOT_FOR_SERVICE`,
        );
      }
    }
    expect(problems).toEqual([]);
  });
});

describe("row level security covers every table", () => {
  it("fails for a table holding installation data without FORCE'd row level security", async () => {
    const tables = await t.db.query<{
      name: string;
      rls: boolean;
      force: boolean;
      tenant_column: boolean;
      app_access: boolean;
      app_write: boolean;
    }>(
      `SELECT c.relname AS name, c.relrowsecurity AS rls, c.relforcerowsecurity AS force,
              EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'installation_id' AND NOT a.attisdropped) AS tenant_column,
              has_table_privilege('agent_gate_app', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') AS app_access,
              has_table_privilege('agent_gate_app', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE') AS app_write
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
        ORDER BY c.relname`,
    );
    expect(tables.length).toBeGreaterThan(10);
    const problems: string[] = [];
    for (const table of tables) {
      const underRls = table.rls && table.force;
      if (OWNER_ONLY[table.name]) {
        if (table.app_access)
          problems.push(`${table.name} is listed as owner-only but the app role has privileges on it`);
      } else if (SHARED[table.name]) {
        if (table.tenant_column) problems.push(`${table.name} is listed as shared but has an installation_id`);
        if (table.app_write) problems.push(`${table.name} is listed as shared but the app role can write it`);
      } else if (!underRls) {
        problems.push(
          `${table.name} has no FORCE'd row level security${table.tenant_column ? " and holds installation data" : ""}`,
        );
      }
    }
    expect(problems).toEqual([]);
    const policies = await t.db.query<{ table: string }>(
      "SELECT DISTINCT tablename AS table FROM pg_policies WHERE schemaname = 'public' AND policyname = tablename || '_tenant'",
    );
    const withTenantPolicy = new Set(policies.map((row) => row.table));
    const missing = tables.filter((table) => table.rls && !withTenantPolicy.has(table.name)).map((table) => table.name);
    expect(missing).toEqual([]);
  });
});

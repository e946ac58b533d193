import { describe, expect, it } from "vitest";
import { checkSessionStatement, SessionStatementRefused } from "../../src/db/session-guard.ts";
import { guardSocketMessage } from "../../src/db/socket-guard.ts";
import { enterTenantSql, tenantCommitCheck } from "../../src/db/tenant.ts";

// The embedded database's app session (and its socket's clients) may send what the app sends, and nothing that
// changes the role, the session or a setting, or runs code of its own.

function message(type: string, ...parts: Buffer[]): Uint8Array {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head.write(type, 0, "latin1");
  head.writeInt32BE(body.length + 4, 1);
  return new Uint8Array(Buffer.concat([head, body]));
}
const cstr = (text: string) => Buffer.from(`${text}\0`, "utf8");
const textOf = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

describe("the embedded database's session guard", () => {
  it.each([
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    `BEGIN; ${enterTenantSql(7)}`,
    `${tenantCommitCheck(7)}; COMMIT`,
    "SELECT set_config('agent_gate.site_sweep', 'on', true)",
    "SELECT * FROM outbox WHERE done_at IS NULL FOR UPDATE SKIP LOCKED",
    "UPDATE installations SET suspended_at = $1 WHERE id = $2",
    "INSERT INTO webhook_inbox (app_id) VALUES ($1) ON CONFLICT DO NOTHING",
    "WITH moved AS (UPDATE audit_heads SET seq = $2 WHERE installation_id = $1 RETURNING 1) SELECT 1",
    "LISTEN agent_gate_decisions",
  ])("lets the app's own statement through: %s", (sql) => {
    expect(() => checkSessionStatement(sql)).not.toThrow();
  });

  it.each([
    "SET ROLE postgres",
    "RESET ROLE",
    "set local role none",
    "SET SESSION AUTHORIZATION postgres",
    "RESET ALL",
    "DISCARD ALL",
    "SET agent_gate.pruning = 'on'",
    "SELECT set_config('role', 'postgres', false)",
    "SELECT set_config('role', 'agent_gate_app', false)",
    "SELECT pg_catalog.set_config('agent_gate.pruning', 'on', true)",
    "SELECT \"set_config\"('role', 'postgres', true)",
    "SELECT 1; RESET ROLE",
    "/* */ SET ROLE postgres",
    "DO $$ BEGIN EXECUTE 'RESET ROLE'; END $$",
    "SELECT $x$RESET ROLE$x$",
    "CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql SET role = postgres AS 'SELECT 1'",
    "ALTER TABLE audit_events DISABLE TRIGGER ALL",
    "TRUNCATE audit_events",
    "COPY audit_events TO PROGRAM 'sh'",
    "GRANT agent_gate_service TO PUBLIC",
    "PREPARE p AS SELECT 1",
    "SELECT lo_import('/etc/passwd')",
    "SELECT pg_read_file('PG_VERSION')",
  ])("refuses %s", (sql) => {
    expect(() => checkSessionStatement(sql)).toThrow(SessionStatementRefused);
  });
});

describe("the embedded database's socket guard", () => {
  it("passes the app's messages as they are", () => {
    const query = message("Q", cstr("SELECT 1"));
    expect(guardSocketMessage(query)).toBe(query);
    const parse = message("P", cstr(""), cstr("SELECT id FROM installations WHERE id = $1"), Buffer.from([0, 0]));
    expect(guardSocketMessage(parse)).toBe(parse);
    const sync = message("S");
    expect(guardSocketMessage(sync)).toBe(sync);
    // A startup message has no type byte: its first four bytes are its length.
    const startup = Buffer.alloc(8);
    startup.writeInt32BE(8, 0);
    startup.writeInt32BE(196_608, 4);
    expect(guardSocketMessage(new Uint8Array(startup))).toEqual(new Uint8Array(startup));
  });

  it("replaces a refused query, parse or function call by a statement that fails with the reason", () => {
    const query = textOf(guardSocketMessage(message("Q", cstr("RESET ROLE"))));
    expect(query.startsWith("Q")).toBe(true);
    expect(query).toContain("RAISE EXCEPTION");
    expect(query).toContain("may not run RESET");
    expect(query).not.toContain("RESET ROLE");

    const parse = textOf(
      guardSocketMessage(
        message("P", cstr("s1"), cstr("SELECT set_config('role', $1, false)"), Buffer.from([0, 1, 0, 0, 0, 25])),
      ),
    );
    expect(parse.startsWith("P")).toBe(true);
    expect(parse).toContain('s1\0SELECT * FROM "refused on the app\'s socket: call set_config"\0');

    const call = textOf(guardSocketMessage(message("F", Buffer.from([0, 0, 8, 0]))));
    expect(call.startsWith("Q")).toBe(true);
    expect(call).toContain("protocol message of type");
  });

  it("keeps a client's quotes out of the failing statement", () => {
    const out = textOf(guardSocketMessage(message("Q", cstr('SET ROLE "x\'; DROP TABLE audit_events; --"'))));
    expect(out).not.toContain("DROP TABLE");
    // Two around the reason, two around the error code: none of the client's.
    expect(out.match(/'/g)?.length).toBe(4);
  });
});

import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { backend } from "../support/database.ts";
import { freePort } from "../support/process-app.ts";
import { runCliProcess } from "../support/cli.ts";

// `agent-gate serve` and `migrate` explain a database they cannot use as the other commands do (exit 3):
// one that does not answer, and a PostgreSQL database that does not exist, which they never create.

const cwd = mkdtempSync(join(tmpdir(), "agent-gate-serve-db-"));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function env(databaseUrl: string, port: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    APP_ID: "4242",
    PRIVATE_KEY: generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs1", format: "pem" })
      .toString(),
    WEBHOOK_SECRET: "serve-db-secret",
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    AGENT_GATE_KEYS: `k1:${Buffer.alloc(32, 9).toString("base64")}`,
    DATABASE_URL: databaseUrl,
  };
}

describe.runIf(backend() === "postgres")(
  "serve and migrate on a database they cannot use",
  { timeout: 120_000 },
  () => {
    it("a database that does not answer: the reason and what to check, exit 3", async () => {
      const closed = await freePort();
      for (const command of [["serve"], ["migrate"]]) {
        const result = await runCliProcess(
          command,
          env(`postgres://agent_gate@127.0.0.1:${closed}/agent_gate`, await freePort()),
          { cwd },
        );
        expect(result.code, `${command[0]}: ${result.stderr}`).toBe(3);
        expect(result.stderr).toMatch(
          /^error: The database did not answer \(.*ECONNREFUSED.*\); check DATABASE_URL and that PostgreSQL is running, then try again\.\n$/,
        );
      }
    });

    it("a PostgreSQL database that does not exist: named, with how to create it; neither command creates it", async () => {
      const missing = new URL(process.env.TEST_DATABASE_URL!);
      missing.pathname = "/agent_gate_serve_missing_db";
      for (const command of [["serve"], ["migrate"]]) {
        const result = await runCliProcess(command, env(missing.toString(), await freePort()), { cwd });
        expect(result.code, `${command[0]}: ${result.stderr}`).toBe(3);
        expect(result.stderr).toContain(
          'The PostgreSQL database "agent_gate_serve_missing_db" on 127.0.0.1:5432 (DATABASE_URL) does not exist: create it (`createdb` or CREATE DATABASE',
        );
      }
    });
  },
);

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase, openOwnerDatabase } from "../../src/db/open.ts";
import { readSettings } from "../../src/config/settings.ts";
import { backend } from "../support/database.ts";

// The app keeps the embedded database's buffer pool (the data dir's 128MB); a CLI command that opens the data dir
// for itself reads a few pages, and starts with 16MB, since PGlite sets aside and clears the whole pool at start.

const tmp = mkdtempSync(join(tmpdir(), "agent-gate-buffers-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const storage = readSettings({ AGENT_GATE_DATA_DIR: join(tmp, "data") }).storage;

async function sharedBuffers(
  open: () => Promise<{ query: (sql: string) => Promise<Record<string, unknown>[]>; close(): Promise<void> }>,
) {
  const db = await open();
  try {
    const [row] = await db.query("SELECT current_setting('shared_buffers') AS value");
    return row?.value;
  } finally {
    await db.close();
  }
}

describe.runIf(backend() === "pglite")("the embedded database's buffer pool", { timeout: 60_000 }, () => {
  it("is the data dir's own for the app, and small for a command", async () => {
    expect(await sharedBuffers(() => openDatabase(storage, { create: true, migrate: () => {} }))).toBe("16MB");
    expect(await sharedBuffers(() => openOwnerDatabase(storage, "migrate"))).toBe("16MB");
    expect(await sharedBuffers(() => openDatabase(storage, { serve: true }))).toBe("128MB");
  });
});

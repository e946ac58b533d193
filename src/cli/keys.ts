import type { Command } from "commander";
import type { CliContext } from "./context.ts";
import { generateKeyEntry, newKeyId, resolveKeyring } from "../crypto/keyring.ts";
import { publishedKeys, reencryptSealed, rotateSigningKey } from "../keys/store.ts";
import { describeReplica, replicasWithout } from "../keys/replicas.ts";
import { EXIT } from "./context.ts";
import { renderTable } from "./table.ts";
import { jsonOutput } from "./snake-json.ts";
import type { Database } from "../db/database.ts";
import { openOwnerDatabase, type StorageSettings } from "../db/open.ts";
import { migrate } from "../db/migrate.ts";

export function registerKeys(program: Command, ctx: CliContext): void {
  const keys = program
    .command("keys")
    .description("Keyring for encryption at rest (AGENT_GATE_KEYS) and receipt-signing keys.");

  keys
    .command("generate")
    .description("Print a new AGENT_GATE_KEYS entry (kid:base64key). Prepend it to AGENT_GATE_KEYS to make it current.")
    .option("--kid <id>", "key id: 1-32 letters, digits, _ or - (default: k<date>-<random>)")
    .action((options: { kid?: string }) => {
      ctx.out(generateKeyEntry(options.kid ?? newKeyId(ctx.now())));
    });

  keys
    .command("list")
    .description("List the receipt-signing keys: current, and retired ones still published for old receipts.")
    .option("--json", "print the keys.json document")
    .action(async (options: { json?: boolean }) => {
      const db = await ctx.openDb();
      const published = await publishedKeys(db);
      if (options.json) {
        ctx.out(jsonOutput(published));
        return;
      }
      if (published.keys.length === 0) {
        ctx.out("no signing keys yet (the first is created when the app signs its first receipt, or by `keys rotate`)");
        return;
      }
      ctx.out(
        renderTable(
          ["kid", "status", "created", "public key"],
          published.keys.map((key) => [key.kid, key.status, key.created_at, key.public_key]),
        ),
      );
    });

  keys
    .command("rotate")
    .description(
      "Add a new receipt-signing key (the old one is retired but stays published, so old receipts still verify) " +
        "and re-encrypt every stored secret under the current keyring key.",
    )
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      [
        "",
        "To rotate the keyring key itself (encryption at rest; docs/operations.md):",
        "  1. run `agent-gate keys generate` and keep its output safe (NEW);",
        "  2. on every replica add it as a second entry, AGENT_GATE_KEYS=<old>,<NEW>, and restart;",
        "  3. run `AGENT_GATE_KEYS=<NEW>,<old> agent-gate keys rotate`: stored secrets move to the new key",
        "     (refused while a running replica lacks NEW; the replica is named);",
        "  4. make NEW current on every replica, run `keys rotate` again, then drop the old entry",
        "     once `agent-gate doctor` shows key_ids ok without it.",
        "Without DATABASE_URL and AGENT_GATE_KEYS, the keyring file in AGENT_GATE_DATA_DIR is used.",
      ].join("\n"),
    )
    .action(async (options: { json?: boolean }) => {
      const settings = ctx.settings().storage;
      // Re-sealing reads every installation's secrets at once: the owner's work (AGENT_GATE_MIGRATION_DATABASE_URL;
      // on the embedded database, with the app stopped), not the app login's.
      const db = await openOwnerDatabase(settings, "keys rotate");
      try {
        await migrate(db);
        await rotate(db, settings, options);
      } finally {
        await db.close();
      }
    });

  async function rotate(db: Database, settings: StorageSettings, options: { json?: boolean }): Promise<void> {
    const keyring = resolveKeyring(ctx.settings().keys, {
      dataDir: settings.dataDir,
      embedded: !settings.databaseUrl,
      log: (msg) => ctx.err(msg),
      now: ctx.now(),
    });
    // A live replica without the new key could not open what is about to be re-sealed under it.
    const lacking = await replicasWithout(db, keyring.current.id, ctx.now());
    if (lacking.length > 0) {
      ctx.err(
        `error: not rotating: ${lacking.length} running replica(s) do not hold key ${keyring.current.id}: ` +
          `${lacking.map(describeReplica).join("; ")}. Add the new entry to AGENT_GATE_KEYS on every replica ` +
          "(as a second entry is enough), restart them, then run `agent-gate keys rotate` again.",
      );
      ctx.exitWith(EXIT.failed);
      return;
    }
    // Re-seal first: a keyring missing an old key fails here, before anything changes.
    const resealed = await reencryptSealed(db, keyring);
    const signer = await rotateSigningKey(db, keyring, ctx.now());
    const retired = (await publishedKeys(db)).keys.filter((key) => key.status === "retired").map((key) => key.kid);
    if (options.json) {
      ctx.out(jsonOutput({ signing_key: signer.keyId, retired, resealed, keyring_key: keyring.current.id }));
      return;
    }
    ctx.out(`new signing key: ${signer.keyId}`);
    ctx.out(`retired (still published): ${retired.length ? retired.join(", ") : "none"}`);
    ctx.out(`re-encrypted ${resealed} stored secret(s) under keyring key ${keyring.current.id}`);
  }
}

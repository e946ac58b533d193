import { readFile, writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { checkInstallationForm, INSTALLATION_ARG, resolveInstallation } from "./installation-ref.ts";
import type { Database } from "../db/database.ts";
import { EXIT, type CliContext } from "./context.ts";
import { GateError, ValidationError } from "../errors.ts";
import { resolveKeyring } from "../crypto/keyring.ts";
import { parsePublishedKeys } from "../crypto/receipts.ts";
import { currentSigner } from "../keys/store.ts";
import { chainCheckpoint, verifyCheckpoint } from "../audit/checkpoint.ts";
import { exportAudit } from "../audit/export.ts";
import { writeExportFile } from "../audit/export-file.ts";
import { parseExportRequest } from "../audit/filters.ts";
import type { Manifest } from "../audit/manifest.ts";
import { mayAlterRetentionFloor, pruneAudit, retentionCutoff, setRetentionFloor } from "../audit/retention.ts";
import { verifyExportFile } from "../audit/verify-stream.ts";
import { jsonOutput } from "./snake-json.ts";

interface ExportFlags {
  installation: string;
  since?: string;
  until?: string;
  repo?: string;
  action?: string;
  format?: string;
  manifest: string;
  output?: string;
}

/**
 * A progress line on the terminal, rewritten in place at most ten times a
 * second; `null` ends it (the last text shown, then a newline).
 */
function progressLine(ctx: CliContext): (text: string | null) => void {
  let shown = 0;
  let last = "";
  return (text) => {
    if (text === null) {
      if (last) ctx.err(`\r${last}`);
      return;
    }
    last = text;
    const at = Date.now();
    if (at - shown < 100) return;
    shown = at;
    process.stderr.write(`\r${text}`);
  };
}

async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new GateError("file_unreadable", `Could not read the ${what} file ${path}.`, { status: 400, cause: error });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new GateError("file_malformed", `The ${what} file ${path} is not JSON.`, { status: 400, cause: error });
  }
}

/** Write to stdout, waiting when the pipe is full. */
function writeOut(chunk: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(chunk, (error) => (error ? reject(error) : resolve()));
  });
}

/** The app's current signing key, from the key store under the configured keyring. */
function loadSigner(db: Database, ctx: CliContext) {
  const settings = ctx.settings().storage;
  const keyring = resolveKeyring(ctx.settings().keys, {
    dataDir: settings.dataDir,
    embedded: !settings.databaseUrl,
    log: (msg) => ctx.err(msg),
    now: ctx.now(),
  });
  return currentSigner(db, keyring, ctx.now());
}

export function registerAudit(program: Command, ctx: CliContext): void {
  const audit = program.command("audit").description("Export, verify and prune the audit trail.");

  audit
    .command("export")
    .description("Stream one installation's events (JSONL or CSV) to stdout or --output FILE, and write the signed manifest to a file; progress on a terminal.")
    .requiredOption(`--installation ${INSTALLATION_ARG}`, "installation id or account login")
    .requiredOption("--manifest <file>", "where to write the signed manifest (JSON)")
    .option("--since <time>", "ISO 8601, inclusive")
    .option("--until <time>", "ISO 8601, exclusive")
    .option("--repo <owner/name>", "only events of this repository (exact match)")
    .option("--action <action>", "only events with this action (exact match)")
    .option("--format <format>", "jsonl or csv", "jsonl")
    .option("--output <file>", "write the body to this file instead of stdout (atomically: a temporary file beside it, renamed into place)")
    .action(async (flags: ExportFlags) => {
      checkInstallationForm(flags.installation);
      const { filters, format } = parseExportRequest(flags);
      const db = await ctx.openDb();
      const id = await resolveInstallation(db, flags.installation);
      const signer = await loadSigner(db, ctx);
      const out = exportAudit(db, { installationId: id, format, ...filters }, signer, ctx.now());
      const progress = ctx.stderrIsTTY() ? progressLine(ctx) : null;
      let manifest: Manifest;
      if (flags.output) {
        manifest = await writeExportFile(out, flags.output, (events) => progress?.(`wrote ${events} events to ${flags.output}`));
      } else {
        let bytes = 0;
        for await (const chunk of out.body) {
          await writeOut(chunk);
          bytes += Buffer.byteLength(chunk);
          progress?.(`exported ${out.eventsRead()} events, ${(bytes / 1e6).toFixed(1)} MB`);
        }
        manifest = await out.manifest;
      }
      progress?.(null);
      await writeFile(flags.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
      ctx.err(`exported ${manifest.count} events${flags.output ? ` to ${flags.output}` : ""}; manifest in ${flags.manifest} (key ${manifest.kid})`);
    });

  audit
    .command("verify")
    .description("Check an export offline: every hash and link, the body digest and the manifest signature. Exit 0 ok, 1 fault.")
    .argument("<file>", "the exported body")
    .requiredOption("--manifest <file>", "the signed manifest written with the export")
    .requiredOption("--keys <file>", "keys.json as the app serves it at /.well-known/agent-gate/keys.json")
    .option("--json", "print the result as JSON")
    .action(async (file: string, flags: { manifest: string; keys: string; json?: boolean }) => {
      const keys = parsePublishedKeys(await readJsonFile(flags.keys, "keys"));
      const manifest = (await readJsonFile(flags.manifest, "manifest")) as Manifest;
      let result;
      try {
        result = await verifyExportFile(file, manifest, keys);
      } catch (error) {
        throw new GateError("file_unreadable", `Could not read the export file ${file}.`, { status: 400, cause: error });
      }
      if (flags.json) ctx.out(jsonOutput(result));
      if (result.ok) {
        if (!flags.json) ctx.out(`ok: ${result.count} events verified (${manifest.format}, key ${manifest.kid})`);
        return;
      }
      ctx.err(result.line === 0 ? `FAULT: ${result.reason}` : `FAULT at line ${result.line}: ${result.reason}`);
      process.exitCode = EXIT.failed;
    });

  audit
    .command("checkpoint")
    .description("Print a signed checkpoint of the chain head (C2SP signed note), or check one with --verify.")
    .option(`--installation ${INSTALLATION_ARG}`, "installation id or account login (to sign a checkpoint)")
    .option("--verify <file>", "a checkpoint note to check against --keys")
    .option("--keys <file>", "keys.json, with --verify")
    .action(async (flags: { installation?: string; verify?: string; keys?: string }) => {
      if (flags.verify) {
        if (!flags.keys) throw new ValidationError([{ field: "--keys", message: "is required with --verify" }]);
        const keys = parsePublishedKeys(await readJsonFile(flags.keys, "keys"));
        const result = verifyCheckpoint(await readFile(flags.verify, "utf8"), keys);
        if (result.ok) {
          ctx.out(`ok: installation ${result.checkpoint.installationId}, seq ${result.checkpoint.seq}, head ${result.checkpoint.hash}`);
        } else {
          ctx.err(`FAULT: ${result.reason}`);
          process.exitCode = EXIT.failed;
        }
        return;
      }
      if (!flags.installation) throw new ValidationError([{ field: "--installation", message: "is required" }]);
      checkInstallationForm(flags.installation);
      const db = await ctx.openDb();
      const id = await resolveInstallation(db, flags.installation);
      const signer = await loadSigner(db, ctx);
      process.stdout.write(await db.tenant(id, (tx) => chainCheckpoint(tx, id, signer)));
    });

  audit
    .command("prune")
    .description("Delete events older than the retention period behind an audit.pruned checkpoint.")
    .requiredOption(`--installation ${INSTALLATION_ARG}`, "installation id or account login")
    .option("--before <time>", "ISO 8601 cutoff (default: now minus AGENT_GATE_RETENTION_DAYS, 90)")
    .option("--json", "print the result as JSON")
    .action(async (flags: { installation: string; before?: string; json?: boolean }) => {
      checkInstallationForm(flags.installation);
      const now = ctx.now();
      const before = flags.before ? new Date(flags.before) : retentionCutoff(now, ctx.settings().retentionDays);
      if (Number.isNaN(before.getTime())) {
        throw new ValidationError([{ field: "--before", message: "must be an ISO 8601 time, e.g. 2026-08-01T00:00:00Z" }]);
      }
      const db = await ctx.openDb();
      const id = await resolveInstallation(db, flags.installation);
      // The database keeps the retention period as its pruning floor; the owner sets it (`agent-gate migrate`),
      // and so does this command when it runs as the owner.
      if (await mayAlterRetentionFloor(db)) await setRetentionFloor(db, ctx.settings().retentionDays);
      const result = await pruneAudit(db, id, before, now);
      ctx.out(flags.json ? jsonOutput(result) : `pruned ${result.pruned_count} events before ${before.toISOString()}`);
    });
}

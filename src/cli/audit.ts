import { readFile, writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { checkInstallationForm, INSTALLATION_ARG, resolveInstallation } from "./installation-ref.ts";
import type { Database } from "../db/database.ts";
import { EXIT, type CliContext } from "./context.ts";
import { GateError, ValidationError } from "../errors.ts";
import { resolveKeyring } from "../crypto/keyring.ts";
import { parsePublishedKeys } from "../crypto/receipts.ts";
import { currentSigner } from "../keys/store.ts";
import { verifyCheckpoint, type Checkpoint } from "../audit/checkpoint.ts";
import { checkpointNow } from "../audit/checkpoint-store.ts";
import { parseVerifierKey, type NoteVerifier } from "../audit/note.ts";
import type { PublishedKeys } from "../crypto/signer.ts";
import { cosignaturesAt } from "../audit/witness-store.ts";
import { proveConsistency, proveInclusion, type InclusionProof } from "../audit/prove.ts";
import { verifyInclusionProof } from "../audit/prove-verify.ts";
import { exportAudit } from "../audit/export.ts";
import { writeExportFile } from "../audit/export-file.ts";
import { parseExportRequest } from "../audit/filters.ts";
import type { Manifest } from "../audit/manifest.ts";
import { mayAlterRetentionFloor, pruneAudit, retentionCutoff, setRetentionFloor } from "../audit/retention.ts";
import { verifyExportFile } from "../audit/verify-stream.ts";
import { jsonOutput } from "./snake-json.ts";

/** `--witness` keys, in signed-note verifier form. */
function witnessKeys(texts: string[] | undefined) {
  return (texts ?? []).map((text) => {
    const key = parseVerifierKey(text);
    if (!key)
      throw new ValidationError([
        { field: "--witness", message: "must be a verifier key in signed-note form: <name>+<hex key id>+<base64 key>" },
      ]);
    return key;
  });
}

/**
 * `audit verify --witness` values: a tlog-witness's verifier key, or the
 * checkpoint file a repository witness holds (the file on its branch, e.g.
 * `git show agent-gate-checkpoints:agent-gate/audit/<id>/checkpoint`), which
 * must be signed by the app's keys.
 */
async function verifyWitnessArgs(texts: string[] | undefined, keys: PublishedKeys) {
  const vkeys: NoteVerifier[] = [];
  const held: { file: string; checkpoint: Checkpoint }[] = [];
  for (const text of texts ?? []) {
    const key = parseVerifierKey(text);
    if (key) {
      vkeys.push(key);
      continue;
    }
    const note = await readFile(text, "utf8").catch(() => null);
    const checked = note === null ? null : verifyCheckpoint(note, keys);
    if (!checked?.ok)
      throw new ValidationError([
        {
          field: "--witness",
          message: `must be a verifier key in signed-note form (<name>+<hex key id>+<base64 key>) or a repository witness's checkpoint file signed by --keys${checked ? `: ${text}: ${checked.reason}` : ""}`,
        },
      ]);
    held.push({ file: text, checkpoint: checked.checkpoint });
  }
  return { vkeys, held };
}

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
    ctx.progress(`\r${text}`);
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

async function readTextFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new GateError("file_unreadable", `Could not read the ${what} file ${path}.`, { status: 400, cause: error });
  }
}

function treeSize(text: string, field: string): number {
  const size = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(size))
    throw new ValidationError([{ field, message: "must be a tree size (a whole number)" }]);
  return size;
}

/** Each checkpoint a repository witness holds: does the export extend it too? */
async function checkRepositoryHeld(
  file: string,
  manifest: Manifest,
  keys: PublishedKeys,
  held: { file: string; checkpoint: Checkpoint }[],
): Promise<{ file: string; size: number; root: string; extended: boolean; reason?: string }[]> {
  const checked = [];
  for (const h of held) {
    const result = await verifyExportFile(file, manifest, keys, h.checkpoint);
    const { size, root } = h.checkpoint;
    checked.push(
      result.ok
        ? { file: h.file, size, root, extended: true }
        : {
            file: h.file,
            size,
            root,
            extended: false,
            reason: `the log does not extend the repository witness's checkpoint ${h.file} (tree size ${size}): ${result.reason}`,
          },
    );
  }
  return checked;
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
    .description(
      "Stream one installation's events (JSONL or CSV) to stdout or --output FILE, and write the signed manifest to a file; progress on a terminal.",
    )
    .requiredOption(`--installation ${INSTALLATION_ARG}`, "installation id or account login")
    .requiredOption("--manifest <file>", "where to write the signed manifest (JSON)")
    .option("--since <time>", "ISO 8601, inclusive")
    .option("--until <time>", "ISO 8601, exclusive")
    .option("--repo <owner/name>", "only events of this repository (exact match)")
    .option("--action <action>", "only events with this action (exact match)")
    .option("--format <format>", "jsonl or csv", "jsonl")
    .option(
      "--output <file>",
      "write the body to this file instead of stdout (atomically: a temporary file beside it, renamed into place)",
    )
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
        manifest = await writeExportFile(out, flags.output, (events) =>
          progress?.(`wrote ${events} events to ${flags.output}`),
        );
      } else {
        let bytes = 0;
        for await (const chunk of out.body) {
          await ctx.write(chunk);
          bytes += Buffer.byteLength(chunk);
          progress?.(`exported ${out.eventsRead()} events, ${(bytes / 1e6).toFixed(1)} MB`);
        }
        manifest = await out.manifest;
      }
      progress?.(null);
      await writeFile(flags.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
      ctx.err(
        `exported ${manifest.count} events${flags.output ? ` to ${flags.output}` : ""}; manifest in ${flags.manifest} (key ${manifest.kid})`,
      );
    });

  audit
    .command("verify")
    .description(
      "Check an export offline: every hash and link, the body digest and the manifest signature. Exit 0 ok, 1 fault.",
    )
    .argument("<file>", "the exported body")
    .requiredOption("--manifest <file>", "the signed manifest written with the export")
    .requiredOption("--keys <file>", "keys.json as the app serves it at /.well-known/agent-gate/keys.json")
    .option(
      "--checkpoint <file>",
      "a signed checkpoint kept earlier: the export must extend it (refused if the log was cut or rewritten)",
    )
    .option(
      "--witness <vkey or file>",
      "a witness's verifier key: report whether it cosigned the --checkpoint; or the checkpoint file a repository witness holds: check the log extends it (repeatable)",
      (value: string, all: string[] = []) => [...all, value],
    )
    .option("--json", "print the result as JSON")
    .action(
      async (
        file: string,
        flags: { manifest: string; keys: string; checkpoint?: string; witness?: string[]; json?: boolean },
      ) => {
        const keys = parsePublishedKeys(await readJsonFile(flags.keys, "keys"));
        const manifest = (await readJsonFile(flags.manifest, "manifest")) as Manifest;
        const { vkeys: witnesses, held: repositoryHeld } = await verifyWitnessArgs(flags.witness, keys);
        let held: Checkpoint | undefined;
        let cosignedBy: string[] = [];
        if (flags.checkpoint) {
          const checked = verifyCheckpoint(await readTextFile(flags.checkpoint, "checkpoint"), keys, witnesses);
          if (!checked.ok) {
            ctx.err(`FAULT: the checkpoint ${flags.checkpoint} does not verify: ${checked.reason}`);
            ctx.exitWith(EXIT.failed);
            return;
          }
          held = checked.checkpoint;
          cosignedBy = checked.otherSignatures;
        }
        let result;
        try {
          result = await verifyExportFile(file, manifest, keys, held);
        } catch (error) {
          throw new GateError("file_unreadable", `Could not read the export file ${file}.`, {
            status: 400,
            cause: error,
          });
        }
        const repositories = result.ok ? await checkRepositoryHeld(file, manifest, keys, repositoryHeld) : [];
        const fault = repositories.find((r) => !r.extended);
        if (flags.json)
          ctx.out(
            jsonOutput({
              ...(fault ? { ...result, ok: false, reason: fault.reason } : result),
              ...(held ? { cosigned_by: cosignedBy } : {}),
              ...(repositoryHeld.length > 0 ? { repository_witnesses: repositories } : {}),
            }),
          );
        if (fault) {
          if (!flags.json) ctx.err(`FAULT: ${fault.reason}`);
          ctx.exitWith(EXIT.failed);
          return;
        }
        if (result.ok) {
          if (!flags.json) ctx.out(`ok: ${result.count} events verified (${manifest.format}, key ${manifest.kid})`);
          if (!flags.json && held) ctx.out(`ok: the log extends the checkpoint of tree size ${held.size}`);
          if (!flags.json && held)
            ctx.out(
              cosignedBy.length > 0
                ? `witnesses: the checkpoint is cosigned by ${cosignedBy.join(", ")}`
                : "witnesses: no witness given with --witness cosigned the checkpoint",
            );
          if (!flags.json)
            for (const r of repositories)
              ctx.out(
                `witnesses: the repository witness's checkpoint ${r.file} holds tree size ${r.size}; the log extends it`,
              );
          return;
        }
        ctx.err(result.line === 0 ? `FAULT: ${result.reason}` : `FAULT at line ${result.line}: ${result.reason}`);
        ctx.exitWith(EXIT.failed);
      },
    );

  audit
    .command("checkpoint")
    .description(
      "Print a signed checkpoint of the installation's audit tree as it is now (C2SP tlog-checkpoint note), or check one with --verify.",
    )
    .option(`--installation ${INSTALLATION_ARG}`, "installation id or account login (to sign a checkpoint)")
    .option("--verify <file>", "a checkpoint note to check against --keys")
    .option("--keys <file>", "keys.json, with --verify")
    .action(async (flags: { installation?: string; verify?: string; keys?: string }) => {
      if (flags.verify) {
        if (!flags.keys) throw new ValidationError([{ field: "--keys", message: "is required with --verify" }]);
        const keys = parsePublishedKeys(await readJsonFile(flags.keys, "keys"));
        const result = verifyCheckpoint(await readTextFile(flags.verify, "checkpoint"), keys);
        if (result.ok) {
          ctx.out(
            `ok: installation ${result.checkpoint.installationId}, tree size ${result.checkpoint.size}, root ${result.checkpoint.root}`,
          );
        } else {
          ctx.err(`FAULT: ${result.reason}`);
          ctx.exitWith(EXIT.failed);
        }
        return;
      }
      if (!flags.installation) throw new ValidationError([{ field: "--installation", message: "is required" }]);
      checkInstallationForm(flags.installation);
      const db = await ctx.openDb();
      const id = await resolveInstallation(db, flags.installation);
      const signer = await loadSigner(db, ctx);
      // The note with the cosignatures its witnesses answered, when they did already.
      const note = await db.tenant(id, async (tx) => {
        const checkpoint = await checkpointNow(tx, id, signer, ctx.now());
        return checkpoint.note + (await cosignaturesAt(tx, id, checkpoint.size)).join("");
      });
      await ctx.write(note);
    });

  audit
    .command("prove")
    .description(
      "Print an inclusion proof of one event (--event) in a signed checkpoint, or a consistency proof between two tree sizes (--from, --to); check an inclusion proof with --verify.",
    )
    .option(`--installation ${INSTALLATION_ARG}`, "installation id or account login")
    .option("--event <hash>", "the event's chain hash (hex), e.g. a receipt's redemption event")
    .option("--from <size>", "consistency proof: the earlier tree size")
    .option("--to <size>", "consistency proof: the later tree size (default: a checkpoint of the tree now)")
    .option("--verify <file>", "an inclusion proof to check offline against --keys")
    .option("--keys <file>", "keys.json, with --verify")
    .option(
      "--witness <vkey>",
      "with --verify: a witness's verifier key (repeatable); report whether it cosigned the proof's checkpoint",
      (value: string, all: string[] = []) => [...all, value],
    )
    .action(
      async (flags: {
        installation?: string;
        event?: string;
        from?: string;
        to?: string;
        verify?: string;
        keys?: string;
        witness?: string[];
      }) => {
        if (flags.verify) {
          if (!flags.keys) throw new ValidationError([{ field: "--keys", message: "is required with --verify" }]);
          const keys = parsePublishedKeys(await readJsonFile(flags.keys, "keys"));
          const result = verifyInclusionProof(
            (await readJsonFile(flags.verify, "proof")) as InclusionProof,
            keys,
            witnessKeys(flags.witness),
          );
          if (result.ok) {
            ctx.out(
              `ok: leaf ${result.leafIndex} is in installation ${result.checkpoint.installationId}'s tree of size ${result.checkpoint.size}`,
            );
            if (flags.witness)
              ctx.out(
                result.cosignedBy.length > 0
                  ? `witnesses: the checkpoint is cosigned by ${result.cosignedBy.join(", ")}`
                  : "witnesses: no witness given with --witness cosigned the checkpoint",
              );
          } else {
            ctx.err(`FAULT: ${result.reason}`);
            ctx.exitWith(EXIT.failed);
          }
          return;
        }
        if (!flags.installation) throw new ValidationError([{ field: "--installation", message: "is required" }]);
        if (!flags.event === (flags.from === undefined)) {
          throw new ValidationError([{ field: "--event", message: "give either --event <hash> or --from <size>" }]);
        }
        const db = await ctx.openDb();
        const id = await resolveInstallation(db, flags.installation);
        const signer = await loadSigner(db, ctx);
        const now = ctx.now();
        const proof = await db.tenant(id, async (tx) => {
          const signed = await checkpointNow(tx, id, signer, now);
          // The note carries the cosignatures its witnesses answered, when they did already.
          const checkpoint = { ...signed, note: signed.note + (await cosignaturesAt(tx, id, signed.size)).join("") };
          if (flags.event) return proveInclusion(tx, id, flags.event, checkpoint);
          const from = treeSize(flags.from!, "--from");
          const to = flags.to === undefined ? checkpoint.size : treeSize(flags.to, "--to");
          if (from > to || to > checkpoint.size) {
            throw new ValidationError([
              { field: "--from", message: `must be at most --to, and --to at most the tree's size ${checkpoint.size}` },
            ]);
          }
          return {
            ...(await proveConsistency(tx, id, from, to)),
            ...(to === checkpoint.size ? { checkpoint: checkpoint.note } : {}),
          };
        });
        ctx.out(JSON.stringify(proof, null, 2));
      },
    );

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
        throw new ValidationError([
          { field: "--before", message: "must be an ISO 8601 time, e.g. 2026-08-01T00:00:00Z" },
        ]);
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

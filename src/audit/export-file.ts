import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import path from "node:path";
import { GateError } from "../errors.ts";
import type { AuditExport } from "./export.ts";
import type { Manifest } from "./manifest.ts";

/**
 * Write an export's body to `file` atomically: into a new temporary file
 * beside it (mode 0600: the trail is the installation's own), flushed to disk,
 * then renamed over `file`. A failure part-way removes the temporary file and
 * leaves `file` as it was. `onChunk` hears the number of events written so far.
 */
export async function writeExportFile(
  out: AuditExport,
  file: string,
  onChunk?: (events: number) => void,
): Promise<Manifest> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  let handle;
  try {
    handle = await open(temp, "wx", 0o600);
  } catch (error) {
    throw new GateError(
      "file_unwritable",
      `Could not create a file beside ${file}: check that its directory exists and is writable.`,
      { status: 400, cause: error },
    );
  }
  try {
    for await (const chunk of out.body) {
      await handle.write(chunk);
      onChunk?.(out.eventsRead());
    }
    const manifest = await out.manifest;
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, file);
    return manifest;
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}

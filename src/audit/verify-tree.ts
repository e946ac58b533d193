import type { Checkpoint } from "./checkpoint.ts";
import { appendLeaf, eventLeaf, frontierLength, frontierRoot } from "./merkle.ts";
import type { Manifest } from "./manifest.ts";

/**
 * Holds an export to a checkpoint the verifier already has: rebuilding the
 * tree from the exported events (leaf = SHA-256(0x00 || chain hash)), the
 * tree at the checkpoint's size must have the checkpoint's root. A cut tail
 * never reaches that size; an edited and re-hashed event changes the root.
 */
export class CheckpointExtension {
  readonly #held: Checkpoint;
  readonly #manifest: Manifest;
  #size = -1;
  #frontier: Buffer[] = [];
  #matched = false;

  constructor(held: Checkpoint, manifest: Manifest) {
    this.#held = held;
    this.#manifest = manifest;
  }

  /** A fault before any event is read, or null. */
  start(): string | null {
    const m = this.#manifest;
    if (this.#held.installationId !== m.installation_id) {
      return `the checkpoint is of installation ${this.#held.installationId}, the export of ${m.installation_id}`;
    }
    if (!m.contiguous)
      return "a filtered export (repo or action) cannot be held to a checkpoint: export the whole range";
    if (typeof m.tree_first_seq !== "number" || !Array.isArray(m.tree_start_frontier)) {
      return "the manifest does not place the export in the audit tree (exported by an older version)";
    }
    return null;
  }

  /** Feed each event in order; a fault, or null. */
  event(seq: number, hash: string): string | null {
    const first = this.#manifest.tree_first_seq!;
    if (this.#size < 0) {
      const fault = this.#begin(Math.max(0, seq - first));
      if (fault) return fault;
    }
    if (seq < first) return null;
    if (seq - first !== this.#size) return `event seq ${seq} is not leaf ${this.#size} of the tree`;
    const step = appendLeaf(this.#frontier, this.#size, eventLeaf(hash));
    this.#frontier = step.frontier;
    this.#size += 1;
    return this.#compare();
  }

  end(): string | null {
    if (this.#size < 0) {
      const fault = this.#begin(0);
      if (fault) return fault;
    }
    if (this.#matched) return null;
    return `the log does not extend the checkpoint: the export ends at tree size ${this.#size}, short of the checkpoint's ${this.#held.size} (events the checkpoint holds are missing: the tail was cut)`;
  }

  #begin(startSize: number): string | null {
    const frontier = this.#manifest.tree_start_frontier!;
    if (
      frontier.length !== frontierLength(startSize) ||
      !frontier.every((h) => typeof h === "string" && /^[0-9a-f]{64}$/.test(h))
    ) {
      return "the manifest's tree_start_frontier does not fit the export's first event";
    }
    if (this.#held.size < startSize) {
      return `the checkpoint (tree size ${this.#held.size}) predates the export's first event (leaf ${startSize}): export from an earlier event, or hold it to a later checkpoint`;
    }
    this.#frontier = frontier.map((h) => Buffer.from(h, "hex"));
    this.#size = startSize;
    return this.#compare();
  }

  #compare(): string | null {
    if (this.#size !== this.#held.size) return null;
    if (frontierRoot(this.#frontier).toString("hex") !== this.#held.root) {
      return `the log does not extend the checkpoint: its tree of size ${this.#held.size} has another root (events up to it were changed)`;
    }
    this.#matched = true;
    return null;
  }
}

import { Counter, Gauge, type Registry } from "prom-client";
import type { Database } from "../db/database.ts";
import { refusedWitnesses } from "./witness-store.ts";
import type { WitnessOutcome } from "./witness-sweep.ts";

/**
 * Witnesses in the app's registry: checkpoint sends by outcome (this
 * process), and the witnesses that refused a checkpoint (all replicas), an
 * alert. Returns the counter the witness sweep counts with.
 */
export function witnessMetrics(registry: Registry, db: Database): (outcome: WitnessOutcome) => void {
  const sends = new Counter({
    name: "agent_gate_witness_sends_total",
    help: "Checkpoints sent to audit witnesses, by outcome (cosigned; committed, to a repository witness's branch; conflict; failed: retried; refused: the log does not extend what the witness holds).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "agent_gate_witness_refused",
    help: "Audit witnesses that refused a checkpoint as inconsistent with what they hold (an alert; `agent-gate doctor` names them).",
    registers: [registry],
    async collect() {
      this.set((await refusedWitnesses(db)).length);
    },
  });
  return (outcome) => sends.inc({ outcome });
}

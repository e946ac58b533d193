import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { EXIT, type CliContext } from "./context.ts";
import { GateError, ValidationError } from "../errors.ts";
import { AttestationError, verifyAttestation, type AttestationExpectation } from "../crypto/attestation.ts";
import { loadKeys } from "./receipt.ts";
import { jsonOutput } from "./snake-json.ts";

function expectation(options: { digest?: string; repo?: string }): AttestationExpectation {
  if (options.repo !== undefined && !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(options.repo.trim())) {
    throw new ValidationError([{ field: "--repo", message: "must be owner/name" }]);
  }
  if (options.digest !== undefined && !/^[0-9a-fA-F]{40}([0-9a-fA-F]{24})?$/.test(options.digest.trim())) {
    throw new ValidationError([{ field: "--digest", message: "must be a hex SHA-256 (64) or commit SHA (40)" }]);
  }
  return {
    ...(options.digest === undefined ? {} : { digest: options.digest }),
    ...(options.repo === undefined ? {} : { repo: options.repo }),
  };
}

export function registerAttestation(program: Command, ctx: CliContext): void {
  const attestation = program
    .command("attestation")
    .description("Approval attestations: in-toto Statements in DSSE envelopes, signed by the app.");
  attestation
    .command("verify")
    .description(
      "Check an attestation offline: the signature over DSSE's PAE by a key in keys.json, the statement and predicate types, and the digest and repository when given. Exit 0 valid, 1 invalid.",
    )
    .argument("<file>", "the DSSE envelope as JSON (the redemption answer's `attestation`)")
    .requiredOption("--keys <file-or-url>", "keys.json file, or the app's /.well-known/agent-gate/keys.json URL")
    .option(
      "--digest <sha256>",
      "what is about to be executed: a subject's digest (commit SHA or content SHA-256) or the approved digest",
    )
    .option("--repo <owner/name>", "the repository it is about to be executed in (a fork's attestation is refused)")
    .option("--json", "print the result as JSON")
    .action(async (file: string, options: { keys: string; digest?: string; repo?: string; json?: boolean }) => {
      const expected = expectation(options);
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (error) {
        throw new GateError("attestation_unreadable", `Could not read the attestation file ${file}.`, {
          status: 400,
          cause: error,
        });
      }
      const keys = await loadKeys(options.keys);
      try {
        let envelope: unknown;
        try {
          envelope = JSON.parse(text);
        } catch {
          throw new AttestationError("attestation_malformed", `The attestation file ${file} is not JSON.`);
        }
        const statement = verifyAttestation(envelope, keys, expected);
        const { proposal, approvers, redemption } = statement.predicate;
        ctx.out(
          options.json
            ? jsonOutput({
                valid: true,
                statement_type: statement._type,
                predicate_type: statement.predicateType,
                // Digest algorithms (gitCommit, sha256) as values: in-toto's names, kept as they are signed.
                subject: statement.subject.map((s) => ({
                  name: s.name,
                  digests: Object.entries(s.digest).map(([algorithm, value]) => `${algorithm}:${value}`),
                })),
                predicate: statement.predicate,
              })
            : `valid: approved ${proposal.kind} ${proposal.repo} proposal ${proposal.id} by ${approvers.map((a) => a.login).join(", ")}, redeemed ${redemption.redeemed_at} (${redemption.id}); subject ${statement.subject
                .map(
                  (s) =>
                    `${s.name} ${Object.entries(s.digest)
                      .map(([k, v]) => `${k}:${v}`)
                      .join(" ")}`,
                )
                .join("; ")}`,
        );
      } catch (error) {
        if (!(error instanceof AttestationError)) throw error;
        if (options.json) ctx.out(jsonOutput({ valid: false, code: error.code, message: error.message }));
        ctx.err(`invalid: ${error.message} (${error.code})`);
        ctx.exitWith(EXIT.failed);
      }
    });
}

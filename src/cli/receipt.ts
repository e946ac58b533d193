import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { EXIT, type CliContext } from "./context.ts";
import { GateError, UnavailableError, ValidationError } from "../errors.ts";
import { parsePublishedKeys, ReceiptError, verifyReceipt, type ReceiptExpectation } from "../crypto/receipts.ts";
import type { PublishedKeys } from "../crypto/signer.ts";
import { installationIdOf } from "./installation-ref.ts";
import { jsonOutput } from "./snake-json.ts";

/** keys.json from a file, or from the app's URL (…/.well-known/agent-gate/keys.json). */
export async function loadKeys(source: string): Promise<PublishedKeys> {
  let text: string;
  if (/^https?:\/\//i.test(source)) {
    let response: Response;
    try {
      response = await fetch(source, { headers: { accept: "application/json" } });
    } catch (error) {
      throw new UnavailableError(`Could not fetch the keys from ${source}; check the URL and the network.`, error);
    }
    if (!response.ok) throw new UnavailableError(`Fetching the keys from ${source} answered ${response.status}.`);
    text = await response.text();
  } else {
    try {
      text = await readFile(source, "utf8");
    } catch (error) {
      throw new GateError("keys_unreadable", `Could not read the keys file ${source}.`, { status: 400, cause: error });
    }
  }
  try {
    return parsePublishedKeys(JSON.parse(text));
  } catch (error) {
    if (error instanceof GateError) throw error;
    throw new GateError("keys_malformed", `The keys from ${source} are not JSON.`, { status: 400, cause: error });
  }
}

const KINDS = ["commit", "deploy", "outreach"];

/** The options as what the executor expects; a malformed option is a usage error naming it. */
function receiptExpectation(options: {
  digest: string;
  repo: string;
  kind?: string;
  installation?: string;
}): ReceiptExpectation {
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(options.repo.trim())) {
    throw new ValidationError([{ field: "--repo", message: "must be owner/name" }]);
  }
  if (options.kind !== undefined && !KINDS.includes(options.kind)) {
    throw new ValidationError([{ field: "--kind", message: `must be one of ${KINDS.join(", ")}` }]);
  }
  const installationId = options.installation === undefined ? undefined : installationIdOf(options.installation);
  if (installationId === null) {
    throw new ValidationError([{ field: "--installation", message: "must be a positive whole number" }]);
  }
  return {
    digest: options.digest,
    repo: options.repo,
    ...(options.kind === undefined ? {} : { kind: options.kind }),
    ...(installationId === undefined ? {} : { installationId }),
  };
}

export function registerReceipt(program: Command, ctx: CliContext): void {
  const receipt = program.command("receipt").description("Approval receipts signed by the app.");
  receipt
    .command("verify")
    .description(
      "Check a receipt offline: signature, key, digest, repository (and kind and installation when given), expiry and redemption. Exit 0 valid, 1 invalid.",
    )
    .argument("<receipt>", "the receipt, base64url(payload).base64url(signature)")
    .requiredOption("--keys <file-or-url>", "keys.json file, or the app's /.well-known/agent-gate/keys.json URL")
    .requiredOption("--digest <hex>", "digest of what is about to be executed (head SHA or SHA-256)")
    .requiredOption("--repo <owner/name>", "the repository it is about to be executed in (a fork's receipt is refused)")
    .option("--kind <kind>", "the kind expected: commit, deploy or outreach")
    .option("--installation <id>", "the installation id expected")
    .option("--json", "print the result as JSON")
    .action(
      async (
        text: string,
        options: { keys: string; digest: string; repo: string; kind?: string; installation?: string; json?: boolean },
      ) => {
        const expected = receiptExpectation(options);
        const keys = await loadKeys(options.keys);
        try {
          const payload = verifyReceipt(text, keys, expected, ctx.now());
          ctx.out(
            options.json
              ? jsonOutput({ valid: true, payload })
              : `valid: ${payload.decision} ${payload.kind} ${payload.repo} proposal ${payload.proposal_id} by ${payload.approvers.join(", ")}, redeemed ${payload.redeemed_at} (${payload.redemption_id}), expires ${payload.expires_at}, key ${payload.kid}`,
          );
        } catch (error) {
          if (!(error instanceof ReceiptError)) throw error;
          if (options.json) ctx.out(jsonOutput({ valid: false, code: error.code, message: error.message }));
          ctx.err(`invalid: ${error.message} (${error.code})`);
          ctx.exitWith(EXIT.failed);
        }
      },
    );
}

import * as core from "@actions/core";
import type { CreatedProposal, Redeemed } from "./api-types.ts";
import { approvalStatement, checkCanAttest, recordApproval, withArtifact } from "./attest.ts";
import { bearerSource } from "./auth.ts";
import { withRetry } from "./backoff.ts";
import { GateClient } from "./client.ts";
import { systemClock, type Clock } from "./clock.ts";
import { ActionError, failureMessage } from "./errors.ts";
import { runnerTransport, type Transport } from "./transport.ts";
import { inputForField } from "./outreach.ts";
import { readInputs, readWorkflow, type Inputs, type Workflow } from "./inputs.ts";
import { waitForDecision, type DecidedState } from "./wait.ts";
import { writeJobSummary, type SummaryFacts } from "./summary.ts";

/** What run() takes from the outside world; tests pass their own. */
export interface RunDeps {
  env: NodeJS.ProcessEnv;
  transport: Transport;
  clock: Clock;
  getIDToken: (audience: string) => Promise<string>;
}

const REDEEM_GRACE_MS = 2 * 60_000;

function defaultDeps(): RunDeps {
  return {
    env: process.env,
    transport: runnerTransport,
    clock: systemClock,
    getIDToken: (audience) => core.getIDToken(audience),
  };
}

/**
 * The Action: propose, print the link, wait for the decision, redeem the
 * approval. Every failure, thrown Error or not, fails the step.
 */
export async function run(deps: Partial<RunDeps> = {}): Promise<void> {
  try {
    await gate({ ...defaultDeps(), ...deps });
  } catch (thrown) {
    core.setFailed(failureMessage(thrown));
  }
}

async function gate(deps: RunDeps): Promise<void> {
  const { clock, env } = deps;
  const started = clock.now();

  // 1. Mask the token before anything can print it, then read the inputs.
  for (const secret of ["token", "github-token"]) {
    const raw = core.getInput(secret);
    if (raw !== "") core.setSecret(raw);
  }
  const inputs = readInputs((name) => core.getInput(name));
  const workflow = readWorkflow(env);
  if (inputs.attest) checkCanAttest(env, inputs.githubToken);
  const deadline = started + inputs.timeoutMinutes * 60_000;

  // 2. Propose.
  const bearer = bearerSource(inputs.token, inputs.audience, deps.getIDToken, clock);
  const client = new GateClient(inputs.serverUrl, bearer, deps.transport, (field) =>
    inputForField(field, inputs.contentIsJson),
  );
  const onRetry = (error: unknown, delayMs: number): void =>
    core.warning(`${failureMessage(error)}; retrying in ${Math.ceil(delayMs / 1000)} s`);
  const proposal = await withRetry(() => client.create(proposalBody(inputs, workflow)), { clock, deadline, onRetry });
  core.setOutput("proposal-id", proposal.id);
  core.info(`Proposal ${proposal.id} (${proposal.kind} ${proposal.repo}) waits for a maintainer's decision:`);
  core.info(proposal.url);

  // 3. Wait for the decision.
  const waited = await waitForDecision(client, proposal.id, {
    clock,
    deadline,
    waitSeconds: inputs.waitSeconds,
    onRetry,
    onPending: () => core.info(`Still pending; decide at ${proposal.url}`),
  });
  const facts = { inputs, workflow, proposal, env };
  if (waited.outcome === "timeout") {
    core.setOutput("decision", "timed out");
    await summarise(facts, { decision: "timed out" });
    const last = waited.lastError === undefined ? "" : ` Last error: ${failureMessage(waited.lastError)}.`;
    throw new ActionError(
      `No decision on proposal ${proposal.id} within ${inputs.timeoutMinutes} minute(s) (timeout-minutes).${last} Decide at ${proposal.url}`,
    );
  }
  const state = checkBinding(waited.state, proposal);
  core.setOutput("decision", state.status);

  // 4. Act on it: only an approval, redeemed for this digest, passes.
  if (state.status !== "approved") {
    await summarise(facts, { decision: state.status, state });
    throw new ActionError(refusalMessage(state));
  }
  // An approval already used elsewhere cannot be used here.
  if (state.redeemed) {
    await summarise(facts, { decision: "approved", state });
    throw new ActionError(
      `Proposal ${proposal.id} was approved but its approval was already redeemed; it is single-use, not proceeding`,
    );
  }
  // The receipt is the answer of the redemption, for the digest this step is
  // about to execute: the one it proposed. An approval that arrives just
  // before the timeout still gets its redeem retries.
  const redeemDeadline = Math.max(deadline, clock.now() + REDEEM_GRACE_MS);
  const redeemed = await withRetry(() => client.redeem(proposal.id, proposal.digest), {
    clock,
    deadline: redeemDeadline,
    onRetry,
  });
  if (redeemed.digest !== proposal.digest) {
    throw new ActionError(
      `Agent Gate redeemed digest ${redeemed.digest}, not the proposed ${proposal.digest}; refusing to continue`,
    );
  }
  const receiptKid = redeemed.receipt.kid;
  core.setOutput("approvers", state.approvers.join(","));
  core.setOutput("receipt", redeemed.receipt.receipt);
  if (redeemed.attestation !== undefined) core.setOutput("attestation", JSON.stringify(redeemed.attestation));
  await summarise(facts, { decision: "approved", state, receiptKid });
  core.info(
    `Approved by ${state.approvers.join(", ")} at ${state.decided_at ?? "?"}; redeemed as ${redeemed.redemption_id}, receipt key ${receiptKid}`,
  );
  if (inputs.attest) await attestApproval(redeemed, proposal, workflow, inputs, env);
}

/** `attest: true`: the step passes only once the approval is recorded with Sigstore and GitHub. */
async function attestApproval(
  redeemed: Redeemed,
  proposal: CreatedProposal,
  workflow: Workflow,
  inputs: Inputs,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const statement = withArtifact(approvalStatement(redeemed, proposal, workflow), inputs.artifact, workflow);
  const recorded = await recordApproval(statement, inputs.githubToken!, redeemed.redemption_id);
  core.setOutput("attestation-bundle", JSON.stringify(recorded.bundle));
  const witness = recorded.tlogID === undefined ? "a timestamp" : `Rekor log index ${recorded.tlogID}`;
  if (recorded.attestationID === undefined) {
    core.info(`Approval attested with Sigstore (${witness})`);
    return;
  }
  const server = (env.GITHUB_SERVER_URL ?? "https://github.com").replace(/\/+$/, "");
  const url = `${server}/${workflow.repo}/attestations/${recorded.attestationID}`;
  core.setOutput("attestation-id", recorded.attestationID);
  core.setOutput("attestation-url", url);
  core.info(`Approval attested with Sigstore (${witness}) and stored with GitHub: ${url}`);
}

function proposalBody(inputs: Inputs, workflow: Workflow) {
  return {
    kind: inputs.kind,
    repo: workflow.repo,
    sha: workflow.sha,
    summary: inputs.summary,
    ...(inputs.environment === undefined ? {} : { environment: inputs.environment }),
    ...(inputs.site === undefined ? {} : { site: inputs.site }),
    ...(inputs.outreach === undefined ? {} : { content: inputs.outreach }),
  };
}

/** The decision must be about what this step proposed, nothing else. */
function checkBinding(state: DecidedState, proposal: CreatedProposal): DecidedState {
  if (state.id !== proposal.id || state.digest !== proposal.digest || state.repo !== proposal.repo) {
    throw new ActionError(
      `Agent Gate answered for a different proposal than the one created (${proposal.id}, digest ${proposal.digest}); refusing to continue`,
    );
  }
  return state;
}

function refusalMessage(state: DecidedState): string {
  if (state.status === "expired") {
    return `Proposal ${state.id} expired at ${state.expires_at} without an approval`;
  }
  const who = state.approvers.length > 0 ? ` by ${state.approvers.join(", ")}` : "";
  const when = state.decided_at ? ` at ${state.decided_at}` : "";
  const why = state.reason ? `: ${state.reason}` : "";
  return `Proposal ${state.id} was ${state.status}${who}${when}${why}`;
}

async function summarise(
  facts: Omit<SummaryFacts, "decision" | "state" | "receiptKid"> & { env: NodeJS.ProcessEnv },
  outcome: Pick<SummaryFacts, "decision" | "state" | "receiptKid">,
): Promise<void> {
  // Outside a runner (no summary file) there is nowhere to write it.
  const file = facts.env.GITHUB_STEP_SUMMARY;
  if (!file) return;
  await writeJobSummary(core.summary, file, { ...facts, ...outcome });
}

import { redeemProposal, type Redeemer, type Redemption } from "../proposals/redeem.ts";
import { inScope, stored, type Principal } from "./auth.ts";
import type { RequestDeps } from "./deps.ts";
import { receiptSigner } from "./receipt-signer.ts";

export type RedeemRequest = (principal: Principal, id: string, digest: string) => Promise<RedemptionAnswer>;
export type RedemptionAnswer = ReturnType<typeof redemptionAnswer>;

/**
 * Use an approval once: the receipt-signing key is resolved first (without one
 * nothing is redeemed), then the redemption answers with the signed receipt
 * and the same approval as an in-toto attestation.
 */
export function approvalRedeemer(deps: RequestDeps): RedeemRequest {
  const signer = receiptSigner(deps);
  return async (principal, id, digest) => {
    const key = await stored(signer);
    const redeemed = await stored(() => redeemProposal(deps.db, redeemerOf(principal), id, digest, deps.now(), key));
    return redemptionAnswer(redeemed);
  };
}

/** The one answer that carries a receipt: the redemption, its signed receipt and the attestation. */
function redemptionAnswer(redeemed: Redemption) {
  return {
    id: redeemed.proposal.id,
    status: "redeemed",
    redeemed: true,
    redemption_id: redeemed.redemption_id,
    redeemed_at: redeemed.redeemed_at.toISOString(),
    digest: redeemed.proposal.digest,
    receipt: { receipt: redeemed.receipt, kid: redeemed.kid },
    attestation: redeemed.attestation,
  };
}

/** Who redeems, and which proposals they may touch: their scope, and only what they proposed. */
export function redeemerOf(principal: Principal): Redeemer {
  return {
    installationId: principal.installationId,
    actor: principal.actor,
    identity: principal.identity,
    inScope: (proposal) => inScope(principal, proposal),
  };
}

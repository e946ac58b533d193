import type { Database } from "../db/database.ts";
import { parseKeyring, type Keyring } from "../crypto/keyring.ts";
import type { Signer } from "../crypto/signer.ts";
import { UnavailableError } from "../errors.ts";
import { currentSigner } from "../keys/store.ts";
import type { Settings } from "../config/settings.ts";

export interface ReceiptDeps {
  db: Database;
  now: () => Date;
  settings: Pick<Settings, "keys">;
  /** The keyring the app resolved at start; else AGENT_GATE_KEYS; else no receipts, and so no redemptions. */
  keyring?: Keyring;
}

export type ReceiptSigner = () => Promise<Signer>;

/**
 * The key that signs the receipt of a redemption, resolved before the
 * redemption starts: without a keyring (or when the key cannot be opened) the
 * redemption is refused with 503 and the approval is not used up.
 */
export function receiptSigner(deps: ReceiptDeps): ReceiptSigner {
  const keyring = deps.keyring ?? (deps.settings.keys ? parseKeyring(deps.settings.keys) : null);
  return async () => {
    if (!keyring) {
      throw new UnavailableError("No receipt-signing key is configured (set AGENT_GATE_KEYS); nothing was redeemed.");
    }
    return currentSigner(deps.db, keyring, deps.now());
  };
}

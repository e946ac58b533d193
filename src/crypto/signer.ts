/** An Ed25519 signing key as tweetnacl holds it (secretKey is 64 bytes, publicKey 32). */
export interface Signer {
  keyId: string;
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/** The public keys the app serves at /.well-known/agent-gate/keys.json. */
export interface PublishedKeys {
  keys: {
    kid: string;
    alg: "Ed25519";
    /** base64url of the 32-byte public key */
    public_key: string;
    status: "current" | "retired";
    created_at: string;
  }[];
}

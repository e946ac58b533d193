import { createPrivateKey, sign } from "node:crypto";

const FIX =
  "paste the whole .pem file GitHub generated for the App (BEGIN and END lines included; on one line, newlines as \\n), or set PRIVATE_KEY_PATH to that file";

/**
 * Why a GitHub App private key cannot be used, or null when it signs: GitHub Apps sign their JWTs with
 * RS256, so the key must parse as a private key, be RSA, and sign. The message never holds the key.
 */
export function checkAppKey(pem: string): string | null {
  let key;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    return `is not a PEM private key (${(error as Error).message.replace(/^error:[0-9A-F]+:/, "")}): ${FIX}`;
  }
  if (key.asymmetricKeyType !== "rsa") {
    return `is a ${key.asymmetricKeyType ?? "non-RSA"} key, and GitHub Apps sign with RS256: ${FIX}`;
  }
  try {
    sign("sha256", Buffer.from("agent-gate"), key);
  } catch (error) {
    return `does not sign (${(error as Error).message}): ${FIX}`;
  }
  return null;
}

/** base64url without padding (RFC 4648 §5), strict on decode. */
export function toBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

/** Decode base64url; null when the text holds anything but the base64url alphabet. */
export function fromBase64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  return new Uint8Array(Buffer.from(text, "base64url"));
}

/** Decode standard base64 or base64url (padding optional); null when malformed. */
export function fromBase64(text: string): Uint8Array | null {
  const trimmed = text.replace(/=+$/, "");
  if (!/^[A-Za-z0-9+/_-]*$/.test(trimmed) || trimmed.length % 4 === 1) return null;
  return new Uint8Array(Buffer.from(trimmed.replace(/\+/g, "-").replace(/\//g, "_"), "base64url"));
}

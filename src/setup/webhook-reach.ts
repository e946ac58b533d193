import { isIP } from "node:net";

/**
 * Why GitHub cannot deliver webhooks to a URL, or null when it may: a loopback or private address, or a
 * name that only this network resolves (localhost, *.local, *.internal, a name without a dot).
 */
export function unreachableReason(url: string): string | null {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, "").toLowerCase();
  } catch {
    return "it is not a URL";
  }
  if (host === "localhost" || host.endsWith(".localhost")) return `${host} is this machine`;
  if (/\.(local|internal|lan|home\.arpa)$/.test(host) || (!host.includes(".") && isIP(host) === 0))
    return `${host} is a name only your network knows`;
  if (isIP(host) === 4) {
    const [a, b] = host.split(".").map(Number) as [number, number];
    if (a === 127) return `${host} is this machine (loopback)`;
    if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168))
      return `${host} is a private address`;
    if (a === 169 && b === 254) return `${host} is a link-local address`;
    if (a === 100 && b >= 64 && b <= 127) return `${host} is a carrier-grade NAT address`;
    if (a === 0) return `${host} is not an address others can reach`;
  }
  if (isIP(host) === 6) {
    if (host === "::1" || host === "::") return `${host} is this machine (loopback)`;
    if (/^f[cd]/.test(host)) return `${host} is a private (unique local) address`;
    if (/^fe[89ab]/.test(host)) return `${host} is a link-local address`;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
    if (mapped) return unreachableReason(`http://${mapped[1]}/`);
    const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
    if (hex) {
      const [high, low] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
      return unreachableReason(`http://${high >> 8}.${high & 255}.${low >> 8}.${low & 255}/`);
    }
  }
  return null;
}

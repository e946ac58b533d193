import { domainToASCII } from "node:url";
import { isIP } from "node:net";
import { parse } from "tldts";
import { ValidationError } from "../errors.ts";

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * The canonical form of a site name: lower case, no trailing dot, IDN as
 * punycode. Refuses anything that is not a registrable host name: URLs, ports,
 * wildcards, IP addresses, single labels and public suffixes (co.uk,
 * github.io), which no one installation can own.
 */
export function normalizeDomain(input: unknown, field = "domain"): string {
  const fail = (message: string): never => {
    throw new ValidationError([{ field, message }]);
  };
  if (typeof input !== "string" || input.trim() === "") return fail("must be a domain name such as example.com");
  let name = input.trim().toLowerCase();
  if (name.endsWith(".")) name = name.slice(0, -1);
  if (/[/:@?#*\s\\]/.test(name))
    return fail("must be a bare domain name such as example.com, without scheme, port, path or wildcard");
  if (isIP(name) !== 0) return fail("must be a domain name, not an IP address");
  const ascii = domainToASCII(name);
  if (ascii === "" || ascii.length > 253) return fail("is not a valid domain name");
  const labels = ascii.split(".");
  if (!labels.every((label) => LABEL.test(label))) return fail("is not a valid domain name");
  const parsed = parse(ascii, { allowPrivateDomains: true });
  if (labels.length < 2 && parsed.isIcann !== true) return fail("is not a valid domain name");
  if (parsed.publicSuffix === ascii || parsed.domain === null) {
    return fail(`${ascii} is a public suffix: verify a domain registered under it instead`);
  }
  return ascii;
}

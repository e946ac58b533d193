import { describe, expect, it } from "vitest";
import { normalizeDomain } from "../../src/sites/domain.ts";
import { ValidationError } from "../../src/errors.ts";

describe("normalizeDomain", () => {
  it.each([
    ["example.com", "example.com"],
    ["Example.COM", "example.com"],
    ["example.com.", "example.com"],
    ["  www.Example.com.  ", "www.example.com"],
    ["bücher.example", "xn--bcher-kva.example"],
    ["BÜCHER.example.", "xn--bcher-kva.example"],
    ["xn--bcher-kva.example", "xn--bcher-kva.example"],
    ["例え.jp", "xn--r8jz45g.jp"],
    ["shop.example.co.uk", "shop.example.co.uk"],
    ["example.co.uk", "example.co.uk"],
    ["someone.github.io", "someone.github.io"],
  ])("%s → %s", (input, expected) => {
    expect(normalizeDomain(input)).toBe(expected);
  });

  it.each([
    ["co.uk", "public suffix"],
    ["CO.UK.", "public suffix"],
    ["github.io", "public suffix"],
    ["com", "public suffix"],
    ["localhost", "not a valid domain name"],
    ["https://example.com", "without scheme"],
    ["example.com/path", "without scheme"],
    ["example.com:443", "without scheme"],
    ["*.example.com", "wildcard"],
    ["192.0.2.1", "IP address"],
    ["exa mple.com", "without scheme"],
    ["-bad.example", "not a valid domain name"],
    ["a..example", "not a valid domain name"],
    [`${"a".repeat(64)}.example`, "not a valid domain name"],
    ["", "must be a domain name"],
    [42, "must be a domain name"],
  ])("refuses %j (%s)", (input, message) => {
    expect(() => normalizeDomain(input)).toThrow(ValidationError);
    expect(() => normalizeDomain(input)).toThrow(message);
  });

  it("names the field at fault", () => {
    try {
      normalizeDomain("co.uk", "site");
      expect.unreachable();
    } catch (error) {
      expect((error as ValidationError).issues).toEqual([
        { field: "site", message: expect.stringContaining("public suffix") },
      ]);
    }
  });
});

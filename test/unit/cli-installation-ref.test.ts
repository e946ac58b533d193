import { describe, expect, it } from "vitest";
import { checkInstallationForm, installationIdOf } from "../../src/cli/installation-ref.ts";

// Every command that takes --installation (token, site, audit, witness, channel, explain, receipt verify)
// reads an installation id with this one parser.
describe("installationIdOf", () => {
  it.each([
    ["1", 1],
    ["61", 61],
    [" 42 ", 42],
    ["9007199254740991", 9007199254740991],
    ["0", null],
    ["007", null],
    ["-1", null],
    ["1.5", null],
    ["1e3", null],
    ["9007199254740993", null],
    ["12345678901234567", null],
    ["acme", null],
    ["", null],
  ])("%j → %j", (text, id) => {
    expect(installationIdOf(text)).toBe(id);
  });
});

describe("checkInstallationForm", () => {
  it.each(["61", "acme", "acme-corp", "a"])("accepts %j (an id or a login)", (text) => {
    expect(() => checkInstallationForm(text)).not.toThrow();
  });

  it.each(["-acme", "acme--corp", "acme_corp", "a".repeat(40), ""])("refuses %j, naming --installation", (text) => {
    expect(() => checkInstallationForm(text)).toThrow(
      expect.objectContaining({ issues: [expect.objectContaining({ field: "--installation" })] }),
    );
  });
});

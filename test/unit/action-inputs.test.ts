import { describe, expect, it } from "vitest";
import { backoffDelay } from "../../action/src/backoff.ts";
import { failureMessage } from "../../action/src/errors.ts";
import { inputForField, splitRecipients } from "../../action/src/outreach.ts";
import { inputNames } from "../../action/src/inputs.ts";
import { readFileSync } from "node:fs";
import { parse } from "yaml";

// Pure parts of the Action. Everything it sends and receives is tested with the
// committed bundle against the running app (test/integration/action-bundle.test.ts).

describe("backoffDelay", () => {
  it.each([
    [0, 0, 500],
    [0, 1, 1_000],
    [3, 0.5, 6_000],
    [5, 0, 15_000],
    [5, 1, 30_000],
    [40, 1, 30_000],
  ])("attempt %i with random()=%d waits %i ms", (attempt, random, expected) => {
    expect(backoffDelay(attempt, () => random)).toBe(expected);
  });
});

describe("failureMessage", () => {
  it.each([
    [new Error("boom"), "Unexpected error: boom"],
    ["text", "Unexpected failure: text"],
    [{ code: 1 }, 'Unexpected failure: {"code":1}'],
    [undefined, "Unexpected failure: undefined"],
  ])("renders %j", (thrown, expected) => {
    expect(failureMessage(thrown)).toBe(expected);
  });
});

describe("inputs", () => {
  it("reads exactly the inputs action.yml declares", () => {
    const declared = Object.keys(
      (parse(readFileSync("action/action.yml", "utf8")) as { inputs: Record<string, unknown> }).inputs,
    );
    expect([...inputNames].sort()).toEqual(declared.sort());
  });

  it.each([
    ["a@b.example", ["a@b.example"]],
    [" a@b.example , c@d.example ", ["a@b.example", "c@d.example"]],
    ["a@b.example\nc@d.example\n", ["a@b.example", "c@d.example"]],
    ["a@b.example,\n\n ,c@d.example", ["a@b.example", "c@d.example"]],
  ])("splits recipients %j", (text, expected) => {
    expect(splitRecipients(text)).toEqual(expected);
  });

  it.each([
    ["content.recipients.2", false, "input 'recipients' item 3"],
    ["content.body", false, "input 'content'"],
    ["content.channel", false, "input 'channel'"],
    ["content.recipients.0", true, "input 'content' field 'recipients.0'"],
    ["summary", false, "input 'summary'"],
    ["sha", false, "sha"],
  ])("names the input of the app's field %s", (field, json, expected) => {
    expect(inputForField(field, json)).toBe(expected);
  });
});

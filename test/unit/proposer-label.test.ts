import { describe, expect, it } from "vitest";
import { proposerLabel } from "../../src/proposals/proposer.ts";

describe("proposerLabel", () => {
  it.each([
    ["token:agt_abcd", { token_name: "release-bot" }, { text: "release-bot (token agt_abcd)", isLogin: false }],
    ["token:agt_abcd", {}, { text: "token agt_abcd", isLogin: false }],
    ["token:agt_abcd", { token_name: "agt_abcd" }, { text: "token agt_abcd", isLogin: false }],
    ["octocat", { token_name: "release-bot" }, { text: "octocat", isLogin: true }],
    [null, {}, { text: "unknown", isLogin: false }],
  ])("%s with %j reads %j", (author, details, expected) => {
    expect(proposerLabel(author, details)).toEqual(expected);
  });
});

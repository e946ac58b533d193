import { describe, expect, it } from "vitest";
import { CSV_COLUMNS, csvCell, csvEventRecord, csvHeader } from "../../src/audit/csv.ts";

describe("csvCell", () => {
  it.each([
    ["plain", "plain"],
    ['=HYPERLINK("http://x")', `"'=HYPERLINK(""http://x"")"`],
    ["+1+1", "'+1+1"],
    ["-2+3", "'-2+3"],
    ["@SUM(A1)", "'@SUM(A1)"],
    ["\tcmd", "'\tcmd"],
    ["\rcmd", `"'\rcmd"`],
    ["a,b", `"a,b"`],
    ['say "hi"', `"say ""hi"""`],
    ["line\nbreak", `"line\nbreak"`],
    [" padded", `" padded"`],
    ["", ""],
  ])("renders %j as %j", (input, expected) => {
    expect(csvCell(input)).toBe(expected);
  });

  it("renders null as an empty cell and numbers and booleans as text", () => {
    expect(csvCell(null)).toBe("");
    expect(csvCell(42)).toBe("42");
    expect(csvCell(false)).toBe("false");
  });
});

describe("csv records", () => {
  it("has a header naming every column, CRLF-terminated", () => {
    expect(csvHeader()).toBe(`${CSV_COLUMNS.join(",")}\r\n`);
  });

  it("flattens an event with data as canonical JSON and neutralises hostile fields", () => {
    const record = csvEventRecord({
      installation_id: 7,
      seq: 3,
      created_at: "2026-11-23T10:00:00.000Z",
      action: "=cmd|' /C calc'!A0",
      actor: "@evil",
      actor_is_bot: false,
      actor_is_agent: true,
      repo: "o/r",
      subject: null,
      outcome: "-1",
      data: { z: 1, a: "x,y" },
      prev_hash: "0".repeat(64),
      hash: "f".repeat(64),
    });
    expect(record).toBe(
      `7,3,2026-11-23T10:00:00.000Z,'=cmd|' /C calc'!A0,'@evil,false,true,o/r,,'-1,"{""a"":""x,y"",""z"":1}",${"0".repeat(64)},${"f".repeat(64)}\r\n`,
    );
  });
});

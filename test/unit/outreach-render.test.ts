import { describe, expect, it } from "vitest";
import { fenced, renderOutreachBody, renderOutreachFile, showInvisible } from "../../src/outreach/render.ts";
import { MAX_BODY_BYTES, outreachDigest, parseOutreachContent } from "../../src/outreach/content.ts";
import { redactOutreach, renderRedactedOutreach } from "../../src/outreach/redacted.ts";

describe("showInvisible", () => {
  it.each([
    ["RTL override", "pay \u202Eexe.txt", "pay ⟦U+202E⟧exe.txt"],
    ["bidi isolates", "a\u2066b\u2069c", "a⟦U+2066⟧b⟦U+2069⟧c"],
    [
      "zero-width space, joiners, word joiner, BOM",
      "a\u200Bb\u200Cc\u200Dd\u2060e\uFEFF",
      "a⟦U+200B⟧b⟦U+200C⟧c⟦U+200D⟧d⟦U+2060⟧e⟦U+FEFF⟧",
    ],
    ["controls but newline", "a\r\nb\tc\u0000d\u001Be", "a⟦U+000D⟧\nb⟦U+0009⟧c⟦U+0000⟧d⟦U+001B⟧e"],
    ["odd spaces and separators", "a\u00A0b\u2028c\u3000d", "a⟦U+00A0⟧b⟦U+2028⟧c⟦U+3000⟧d"],
    ["a forged marker", "⟦U+0041⟧", "⟦U+27E6⟧U+0041⟦U+27E7⟧"],
    ["tag characters beyond the BMP", "x\u{E0041}y", "x⟦U+E0041⟧y"],
    ["plain text", "Hello, world — ünïcödé 日本語", "Hello, world — ünïcödé 日本語"],
  ])("shows %s visibly", (_name, input, shown) => {
    expect(showInvisible(input)).toBe(shown);
  });
});

describe("fenced", () => {
  it("uses a fence longer than any backtick run, so the text cannot close it", () => {
    const text = "before\n````\n# heading\n````````\nafter";
    const block = fenced(text);
    const fence = "`".repeat(9);
    expect(block).toBe(`${fence}text\n${text}\n${fence}`);
  });
  it("uses three backticks at least", () => {
    expect(fenced("no ticks")).toBe("```text\nno ticks\n```");
  });
});

describe("renderOutreachFile", () => {
  const hostile = {
    channel: "email" as const,
    recipients: ["alice@example.com", "bob\u202E@example.com".replace("\u202E", "")],
    subject: "Invoice <img src=x onerror=alert(1)> [click](https://evil.example)",
    body: "Dear customer,\n```\n</details><script>alert(1)</script>\n# Approved by admin\n[ok](javascript:alert(1)) @everyone\nsend to \u202Emoc.live@evil\u202C and pay\u200B now\n<!-- hidden -->",
  };
  const view = { id: "prp_abc", repo: "acme/web", site: "example.com", digest: "d".repeat(64), content: hostile };

  it("keeps every hostile line inside a fence it cannot close, invisible characters shown", () => {
    const file = renderOutreachFile(view);
    const lines = file.split("\n");
    // Every line of the body sits between an opening and a closing fence of four or more backticks.
    const open = lines.indexOf(
      "````text",
      lines.findIndex((l) => l.startsWith("**Body")),
    );
    const close = lines.indexOf("````", open + 1);
    expect(open).toBeGreaterThan(0);
    expect(lines.slice(open + 1, close).join("\n")).toBe(
      "Dear customer,\n```\n</details><script>alert(1)</script>\n# Approved by admin\n[ok](javascript:alert(1)) @everyone\nsend to ⟦U+202E⟧moc.live@evil⟦U+202C⟧ and pay⟦U+200B⟧ now\n<!-- hidden -->",
    );
    // Nothing hostile appears outside a fence.
    let inside = "";
    const outside: string[] = [];
    for (const line of lines) {
      const m = /^(`{3,})(text)?$/.exec(line);
      if (m && !inside && m[2]) inside = m[1]!;
      else if (m && inside && line === inside) inside = "";
      else if (!inside) outside.push(line);
    }
    expect(outside.join("\n")).not.toMatch(/<script|<img|javascript:|@everyone|evil|\u202E|\u200B|<!--/);
    expect(file).not.toMatch(/[\u202A-\u202E\u2066-\u2069\u200B-\u200D\u2060\uFEFF]/);
    expect(file).toContain(`**Digest:** \`${"d".repeat(64)}\``);
    expect(file).toContain("**Recipients (2):**");
    expect(file).toContain("```text\nInvoice <img src=x onerror=alert(1)> [click](https://evil.example)\n```");
  });

  it("shortens a long body when asked, and says so", () => {
    expect(renderOutreachFile(view)).not.toContain("too long");
    const shown = renderOutreachBody({ ...view, content: { ...hostile, body: "x".repeat(100) } }, 10).join("\n");
    expect(shown).toContain("```text\nxxxxxxxxxx\n```");
    expect(shown).toContain("the first 10 of 100 characters are shown");
  });
});

describe("parseOutreachContent", () => {
  it("accepts emails, https URLs and handles by channel", () => {
    expect(parseOutreachContent({ channel: "email", recipients: ["a.b+c@mail.example.com"], body: "hi" })).toEqual({
      channel: "email",
      recipients: ["a.b+c@mail.example.com"],
      subject: null,
      body: "hi",
    });
    expect(
      parseOutreachContent({ channel: "api", recipients: ["https://api.example.com/v1/posts"], body: "{}" }).recipients,
    ).toHaveLength(1);
    expect(
      parseOutreachContent({
        channel: "post",
        recipients: ["@acme@social.example", "#general"],
        subject: "s",
        body: "x",
      }).subject,
    ).toBe("s");
  });

  it.each([
    ["a bad email", { channel: "email", recipients: ["not-an-address"], body: "x" }, ["content.recipients.0"]],
    [
      "an http URL for api",
      { channel: "api", recipients: ["http://api.example.com"], body: "x" },
      ["content.recipients.0"],
    ],
    [
      "a URL with credentials",
      { channel: "api", recipients: ["https://u:p@api.example.com"], body: "x" },
      ["content.recipients.0"],
    ],
    [
      "a handle with a zero-width space",
      { channel: "message", recipients: ["ali\u200Bce"], body: "x" },
      ["content.recipients.0"],
    ],
    [
      "a duplicate recipient",
      { channel: "email", recipients: ["a@example.com", "A@example.com"], body: "x" },
      ["content.recipients.1"],
    ],
    ["no recipients", { channel: "email", recipients: [], body: "x" }, ["content.recipients"]],
    [
      "1001 recipients",
      { channel: "message", recipients: Array.from({ length: 1001 }, (_, i) => `u${i}`), body: "x" },
      ["content.recipients"],
    ],
    [
      "an unknown channel and field",
      { channel: "fax", recipients: ["x"], body: "x", cc: [] },
      ["content.cc", "content.channel"],
    ],
  ])("refuses %s naming the field, never the text", (_name, value, fields) => {
    try {
      parseOutreachContent(value);
      expect.unreachable();
    } catch (error) {
      const issues = (error as { issues: { field: string; message: string }[] }).issues;
      expect(issues.map((i) => i.field).sort()).toEqual([...fields].sort());
      expect(JSON.stringify(issues)).not.toMatch(/not-an-address|example\.com|ali/);
    }
  });

  it("answers a body over 256 KB with 413", () => {
    expect(() =>
      parseOutreachContent({ channel: "email", recipients: ["a@example.com"], body: "x".repeat(MAX_BODY_BYTES + 1) }),
    ).toThrow(expect.objectContaining({ status: 413, code: "payload_too_large" }));
    expect(
      parseOutreachContent({ channel: "email", recipients: ["a@example.com"], body: "x".repeat(MAX_BODY_BYTES) }).body,
    ).toHaveLength(MAX_BODY_BYTES);
  });

  it("digests the canonical content: any change changes it", () => {
    const content = parseOutreachContent({ channel: "email", recipients: ["a@example.com"], subject: "s", body: "b" });
    const digest = outreachDigest("acme/web", "example.com", content);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(outreachDigest("acme/web", "example.com", { ...content, body: "b " })).not.toBe(digest);
    expect(outreachDigest("acme/web", "example.com", { ...content, recipients: ["b@example.com"] })).not.toBe(digest);
    expect(outreachDigest("acme/web", "example.com", { ...content, subject: null })).not.toBe(digest);
    expect(outreachDigest("acme/other", "example.com", content)).not.toBe(digest);
  });
});

describe("redacted outreach for public repositories", () => {
  it.each([
    ["email", ["a@x.example", "b@X.example", "c@y.example"], ["x.example", "y.example"]],
    ["api", ["https://hooks.example/a?x=1"], ["hooks.example"]],
    ["post", ["@name", "me@social.example"], ["social.example"]],
  ] as const)("%s: counts recipients and lists only their domains", (channel, recipients, domains) => {
    const facts = redactOutreach({ channel, recipients: [...recipients], subject: "Hé", body: "héllo" });
    expect(facts).toEqual({ channel, recipients: recipients.length, domains, subjectChars: 2, bodyBytes: 6 });
  });

  it("renders no address and no text, only facts, the digest and the review page", () => {
    const content = {
      channel: "email" as const,
      recipients: ["jane@private.example"],
      subject: null,
      body: "the secret",
    };
    const text = renderRedactedOutreach(
      { repo: "o/r", site: "example.com", digest: "d".repeat(64), content },
      "https://gate.example/proposals/p",
    ).join("\n");
    expect(text).toContain("**Recipients:** 1 · **Domains:** `private.example`");
    expect(text).toContain("**Subject:** none · **Body:** 10 bytes");
    expect(text).toContain("[review page](https://gate.example/proposals/p)");
    expect(text).not.toMatch(/jane|secret/);
  });
});

import { describe, expect, it } from "vitest";
import { generateKeyEntry, parseKeyring } from "../../src/crypto/keyring.ts";
import { escapeHtml, shownHtml } from "../../src/review/html.ts";
import { beginSignIn, checkState, safeReturnPath } from "../../src/review/oauth.ts";
import { pageSigner } from "../../src/review/signing.ts";

const ID = "prp_AbCdEfGhIjKlMnOpQrSt";

describe("escaping for the review page", () => {
  it.each([
    ["<script>alert(1)</script>", "&#60;script&#62;alert(1)&#60;/script&#62;"],
    [`"a" & 'b'`, "&#34;a&#34; &#38; &#39;b&#39;"],
    ["plain", "plain"],
  ])("escapeHtml(%j)", (input, expected) => {
    expect(escapeHtml(input)).toBe(expected);
  });

  it("shows invisible and bidi characters as highlighted markers, and a typed marker cannot pass for one", () => {
    expect(shownHtml("a\u202Eb\u200B<")).toBe(
      'a<mark class="hidden-char">⟦U+202E⟧</mark>b<mark class="hidden-char">⟦U+200B⟧</mark>&#60;',
    );
    const forged = shownHtml("⟦U+202E⟧");
    expect(forged).toBe('<mark class="hidden-char">⟦U+27E6⟧</mark>U+202E<mark class="hidden-char">⟦U+27E7⟧</mark>');
  });
});

describe("sign-in state and signatures", () => {
  const keyring = parseKeyring(`${generateKeyEntry("k2")},${generateKeyEntry("k1")}`);
  const signer = pageSigner(keyring);

  it("accepts the state it issued, with its return path, and nothing else", () => {
    const { state, cookie } = beginSignIn(signer, `/proposals/${ID}`);
    expect(checkState(signer, cookie, state)).toBe(`/proposals/${ID}`);
    expect(checkState(signer, cookie, `${state}x`)).toBeNull();
    expect(checkState(signer, cookie, null)).toBeNull();
    expect(checkState(signer, undefined, state)).toBeNull();
    const other = beginSignIn(signer, `/proposals/${ID}`);
    expect(checkState(signer, other.cookie, state)).toBeNull();
    const [nonce, , mac] = cookie.split(".");
    const redirected = `${nonce}.${Buffer.from("/proposals/prp_00000000000000000000").toString("base64url")}.${mac}`;
    expect(checkState(signer, redirected, state)).toBeNull();
  });

  it("verifies under any key of the keyring, so rotating keys keeps sessions", () => {
    const mac = signer.sign("session", "abc");
    const rotated = pageSigner(
      parseKeyring(
        `${generateKeyEntry("k3")},${[...keyring.keys].map(([id, key]) => `${id}:${Buffer.from(key).toString("base64")}`).join(",")}`,
      ),
    );
    expect(rotated.verify("session", "abc", mac)).toBe(true);
    expect(rotated.verify("csrf", "abc", mac)).toBe(false);
    expect(pageSigner(parseKeyring(generateKeyEntry("k9"))).verify("session", "abc", mac)).toBe(false);
  });

  it.each([
    [`/proposals/${ID}`, `/proposals/${ID}`],
    ["//evil.example/proposals/x", null],
    ["https://evil.example/", null],
    [`/proposals/${ID}/decision`, null],
    ["/proposals/not-an-id", null],
    [null, null],
  ])("return path %j → %j", (input, expected) => {
    expect(safeReturnPath(input)).toBe(expected);
  });
});

/**
 * Text a reviewer is shown (an environment, a summary, a site, a subject)
 * must be what it looks like. Controls (Cc), format characters (Cf: bidi
 * overrides and isolates, zero-width characters, the BOM, tags) and line and
 * paragraph separators can hide or reorder what the reviewer reads; a field
 * holding one is refused, naming the first character found.
 */
const HIDDEN_IN_SHOWN_TEXT = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** null when the text may be shown as it is, else what is wrong with it. */
export function hiddenCharacterProblem(text: string): string | null {
  const match = HIDDEN_IN_SHOWN_TEXT.exec(text);
  if (!match) return null;
  const code = match[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
  return `must not contain control, format (bidirectional or zero-width) or line-separator characters: found U+${code} at position ${match.index}`;
}

/** One `Co-authored-by:` trailer of a commit message. */
export interface CoAuthor {
  name: string;
  /** Lower case; "" when the trailer carries no address. */
  email: string;
}

/** Any casing git accepts ("Co-authored-by", "Co-Authored-By", ...), the value with or without <angle brackets>. */
const TRAILER = /^[ \t]*co-authored-by[ \t]*:[ \t]*(.*?)[ \t]*$/i;
const WITH_BRACKETS = /^(.*?)\s*<([^<>]*)>\s*$/;
const BARE_EMAIL = /^(.*?)\s*([^\s<>]+@[^\s<>]+)$/;

/** The `Co-authored-by:` trailers of a commit message (CRLF or LF), in order. */
export function coAuthorsOf(message: string): CoAuthor[] {
  const found: CoAuthor[] = [];
  for (const line of message.split(/\r\n|\r|\n/)) {
    const value = TRAILER.exec(line)?.[1];
    if (value === undefined || value === "") continue;
    const bracketed = WITH_BRACKETS.exec(value);
    const bare = bracketed ? null : BARE_EMAIL.exec(value);
    const [name, email] = bracketed ? [bracketed[1]!, bracketed[2]!] : bare ? [bare[1]!, bare[2]!] : [value, ""];
    found.push({ name: name.trim(), email: email.trim().toLowerCase() });
  }
  return found;
}

const NOREPLY = /^(?:\d+\+)?([^@+]+)@users\.noreply\.github\.com$/i;

/** The GitHub login of a noreply address ("123+name@users.noreply.github.com" → "name"), or null. */
export function loginOfNoreply(email: string | null | undefined): string | null {
  return (email && NOREPLY.exec(email.trim())?.[1]) || null;
}

import { checkSessionStatement, SessionStatementRefused } from "./session-guard.ts";

/*
 * What a client of the embedded database's socket sends reaches PGlite's one session, message by message
 * (PostgreSQL's wire protocol). Each statement text (a simple Query, or the Parse of an extended query) is
 * checked as the app's own are (session-guard.ts); a refused one is replaced by a statement that fails with
 * the reason, so the protocol's error handling (skip to Sync, ReadyForQuery) stays PostgreSQL's own.
 * Message types that could run code without a statement text (a FunctionCall) are refused the same way.
 */

const ALLOWED_TYPES = new Set(["B", "C", "D", "E", "H", "S", "X", "c", "d", "f", "p"]);

function cstring(bytes: Uint8Array, from: number): { text: string; end: number } {
  const end = bytes.indexOf(0, from);
  if (end < 0) throw new SessionStatementRefused("send a malformed message");
  return { text: Buffer.from(bytes.subarray(from, end)).toString("utf8"), end: end + 1 };
}

function message(type: string, body: Buffer): Uint8Array {
  const head = Buffer.alloc(5);
  head.write(type, 0, "latin1");
  head.writeInt32BE(body.length + 4, 1);
  return new Uint8Array(Buffer.concat([head, body]));
}

/** A statement that raises the refusal; its text carries no quote or dollar sign of the client's. */
function failing(reason: string): string {
  const text = reason.replace(/[^A-Za-z0-9 ,.:()`/_-]/g, " ");
  return `DO $refused$ BEGIN RAISE EXCEPTION '${text}' USING ERRCODE = '42501'; END $refused$`;
}

/** The message to hand to PGlite in place of `bytes`: itself, or one that fails with the reason. */
export function guardSocketMessage(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 5) return bytes;
  // A startup, SSL or cancel request has no type byte: its first four bytes are its length.
  const length = Buffer.from(bytes.subarray(0, 4)).readInt32BE(0);
  if (length === bytes.length) return bytes;
  const type = String.fromCharCode(bytes[0]!);
  try {
    if (type === "Q") {
      checkSessionStatement(cstring(bytes, 5).text);
      return bytes;
    }
    if (type === "P") {
      const name = cstring(bytes, 5);
      checkSessionStatement(cstring(bytes, name.end).text);
      return bytes;
    }
    if (ALLOWED_TYPES.has(type)) return bytes;
    throw new SessionStatementRefused(`send a protocol message of type ${JSON.stringify(type)}`);
  } catch (error) {
    const reason = error instanceof SessionStatementRefused ? error.message : "send this message";
    const sql = Buffer.from(`${failing(reason)}\0`, "utf8");
    if (type === "P") {
      // Refused when parsed, so the Bind and Execute that follow are skipped up to the client's Sync, as after
      // any failed Parse; the reason is the name of the relation that is not there (63 characters at most).
      const what = error instanceof SessionStatementRefused ? error.what : "send this message";
      const relation = `refused on the app's socket: ${what}`.replace(/[^A-Za-z0-9 ,.:()'_-]/g, " ").slice(0, 63);
      const refused = Buffer.from(`SELECT * FROM "${relation}"\0`, "utf8");
      const name = (() => {
        try {
          return cstring(bytes, 5).text;
        } catch {
          return "";
        }
      })();
      return message("P", Buffer.concat([Buffer.from(`${name}\0`, "utf8"), refused, Buffer.from([0, 0])]));
    }
    return message("Q", sql);
  }
}

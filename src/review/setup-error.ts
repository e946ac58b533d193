import { GateError } from "../errors.ts";

/** What a reviewer is told when the operator's configuration stops sign-in: the details go to the log. */
export const SETUP_MESSAGE = "Sign-in is not set up for this app; ask its administrator.";

/**
 * The operator's configuration keeps the review page from working (no OAuth
 * client, no keyring). Its message names what to set, for the log; a
 * reviewer sees only SETUP_MESSAGE.
 */
export class SetupError extends GateError {
  constructor(code: string, operatorMessage: string) {
    super(code, operatorMessage, { status: 503 });
  }
}

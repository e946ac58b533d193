/** What GitHub last said of the App's own credentials (its JWT): accepted, or refused with a reason. */
export class AppCredentials {
  #refused: string | null = null;

  /** null while GitHub accepts the App's JWT (or has not been asked yet); else why it did not. */
  get refused(): string | null {
    return this.#refused;
  }

  /** Watches an App-authenticated client: a 401 marks the credentials refused, any success clears it. */
  watch<
    T extends {
      hook: {
        after(name: "request", fn: () => void): void;
        error(name: "request", fn: (error: unknown) => unknown): void;
      };
    },
  >(client: T): T {
    client.hook.after("request", () => {
      this.#refused = null;
    });
    client.hook.error("request", (error: unknown) => {
      if ((error as { status?: unknown }).status === 401) {
        const message = (error as { message?: unknown }).message;
        this.#refused = `GitHub refused the App's credentials (401${typeof message === "string" ? `: ${message.slice(0, 100)}` : ""}): check that APP_ID and PRIVATE_KEY belong to the same App`;
      }
      throw error;
    });
    return client;
  }
}

import type { z } from "zod";
import type { Principal } from "../requests/auth.ts";
import type { Progress } from "../requests/wait.ts";

/** What a tool call knows: who is calling, and how to report progress. */
export interface ToolCall {
  principal: Principal;
  signal: AbortSignal;
  progress: Progress | null;
  /** Ask again who the caller is (after a wait): throws the common refusal for a key revoked or expired meanwhile. */
  reauthenticate: () => Promise<void>;
}

export interface Tool<S extends z.ZodType = z.ZodType> {
  name: string;
  title: string;
  description: string;
  input: S;
  /** True when the tool changes nothing. */
  readOnly: boolean;
  /** The review page of the proposal a call names, for refusals about a proposal the caller can see. */
  link?(args: z.infer<S>): string;
  run(call: ToolCall, args: z.infer<S>): Promise<Record<string, unknown>>;
}

/**
 * A tool typed by its own input schema, listed beside the others. The cast is the one place a tool's narrower
 * `run(args: z.infer<S>)` is listed as taking any input: the server parses every call's arguments with that same
 * tool's `input` schema before calling `run` or `link`, so the arguments always fit.
 */
export const tool = <S extends z.ZodType>(t: Tool<S>): Tool => t as unknown as Tool;

// Lint with type information (typescript-eslint), over src, test, action and bench. Formatting is Prettier's job.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const EMPTY_CATCH = {
  selector:
    "CallExpression[callee.property.name='catch'] > ArrowFunctionExpression[body.type='BlockStatement'][body.body.length=0]",
  message: "A .catch(() => {}) hides a failure: log it with its cause, count it, or let it fail.",
};

// `x as unknown as T` throws the type away. Webhook payloads and contexts come typed from Probot's
// `app.on("event.action")` (Context<E>); gathered facts and decisions are plain typed data.
const DOUBLE_CAST = {
  selector: "TSAsExpression[expression.type='TSAsExpression'][expression.typeAnnotation.type='TSUnknownKeyword']",
  message: "No `as unknown as` here: take the typed Context<E> Probot gives (or the payload type) instead of a cast.",
};

export default tseslint.config(
  { ignores: ["dist/**", "action/dist/**", "node_modules/**", ".agent-gate/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": [
        "error",
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
      "no-empty": ["error", { allowEmptyCatch: false }],
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
      "no-restricted-syntax": ["error", EMPTY_CATCH],
    },
  },
  {
    // The rooms that read webhooks and decide on them.
    files: ["src/gates/**/*.ts", "src/webhooks/**/*.ts", "src/policy/**/*.ts"],
    rules: { "no-restricted-syntax": ["error", EMPTY_CATCH, DOUBLE_CAST] },
  },
  {
    // A CLI command writes, and sets its exit code, through its context (CliContext), so that a test can run it in
    // its own process (test/support/cli.ts). Only `mcp`, which serves stdin and stdout, takes the process's streams.
    files: ["src/cli/**/*.ts"],
    ignores: ["src/cli/mcp.ts"],
    rules: {
      "no-restricted-properties": [
        "error",
        ...["stdout", "stderr", "stdin", "exitCode", "exit"].map((property) => ({
          object: "process",
          property,
          message: "A CLI command writes and exits through its context: ctx.out, ctx.err, ctx.write, ctx.exitWith.",
        })),
      ],
    },
  },
  {
    // Tests, benchmarks and scripts drive fixtures and third-party shapes: `any` is allowed there, not in src.
    files: ["test/**/*.ts", "bench/**/*.ts", "scripts/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly", Buffer: "readonly" } },
  },
);

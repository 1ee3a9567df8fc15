// One flat config for the whole monorepo; each workspace runs `eslint .` from
// its own folder and ESLint finds this file by walking up.
import js from "@eslint/js";
import sigmaserve from "@sigmaserve/eslint-plugin";
import tseslint from "typescript-eslint";

const root = import.meta.dirname;

/**
 * Which internal packages each library package may import (DESIGN.md §3).
 * An entry is a package (any entry it exports) or a subpath: where DESIGN.md
 * says "subpath only", only the subpaths listed may be imported (the router
 * reads tokenizers and configs but never loads the ORT runtime of model).
 * Apps may import any package but never another app; testkit is for tests only.
 */
const allow = {
  "@sigmaserve/proto": [],
  "@sigmaserve/model": [],
  "@sigmaserve/kvcache": [],
  "@sigmaserve/telemetry": [],
  "@sigmaserve/engine": ["@sigmaserve/model", "@sigmaserve/kvcache"],
  "@sigmaserve/kv-index": ["@sigmaserve/kvcache/events", "@sigmaserve/kvcache/hash"],
  // coord speaks kvcache's event types on the bus, through the pure `/events` entry only.
  "@sigmaserve/coord": ["@sigmaserve/proto", "@sigmaserve/kvcache/events"],
  "@sigmaserve/client": ["@sigmaserve/proto"],
  // The worker and the router as libraries, so one process can host both on the memory bus.
  "@sigmaserve/worker-runtime": ["@sigmaserve/proto", "@sigmaserve/model", "@sigmaserve/kvcache", "@sigmaserve/engine", "@sigmaserve/coord", "@sigmaserve/telemetry"],
  "@sigmaserve/router-runtime": [
    "@sigmaserve/proto",
    "@sigmaserve/model/tokenizer",
    "@sigmaserve/model/config",
    "@sigmaserve/kvcache/hash",
    "@sigmaserve/kvcache/events",
    "@sigmaserve/kv-index",
    "@sigmaserve/coord",
    "@sigmaserve/telemetry",
  ],
};

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/src/gen/**", "**/.turbo/**", ".tools/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: "module",
      globals: { process: "readonly", console: "readonly", Buffer: "readonly", setTimeout: "readonly", clearTimeout: "readonly", URL: "readonly" },
    },
    plugins: { sigmaserve },
    rules: {
      "sigmaserve/package-boundaries": ["error", { root, allow, testOnly: ["@sigmaserve/testkit"] }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
    },
  },
  {
    // Tests talk to untyped protocol clients (proto-loader) where `any` is the honest type.
    files: ["**/*.test.ts", "**/testing/**"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);

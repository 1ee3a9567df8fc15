/**
 * The repository's own eslint.config.js, run on snippets placed in real
 * workspaces: the "subpath only" arrows of DESIGN.md §3 hold in the config
 * the packages lint with, not only in the rule's unit tests. The router may
 * reach @sigmaserve/model through /tokenizer and /config only (never the ORT
 * runtime), kv-index may reach kvcache through /events and /hash only.
 */
import { ESLint } from "eslint";
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { test } from "node:test";

const repoRoot = resolve(import.meta.dirname, "..", "..", "..");
const eslint = new ESLint({ cwd: repoRoot });

/** The package-boundaries findings for `code` as if it were the file at `path` (relative to the repo root). */
async function boundaryFindings(path, code) {
  const [result] = await eslint.lintText(code, { filePath: join(repoRoot, path) });
  return result.messages.filter((m) => m.ruleId === "sigmaserve/package-boundaries").map((m) => m.messageId);
}

test("repo config - router-runtime reaches model through /tokenizer and /config only", async () => {
  const file = "packages/router-runtime/src/generate/entry-probe.ts";
  assert.deepEqual(await boundaryFindings(file, 'export { ByteTokenizer } from "@sigmaserve/model/tokenizer";\nexport { presetConfig } from "@sigmaserve/model/config";\n'), []);
  assert.deepEqual(await boundaryFindings(file, 'export { OrtDenseModel } from "@sigmaserve/model/runtime";\n'), ["subpathOnly"]);
  assert.deepEqual(await boundaryFindings(file, 'export { demoModel } from "@sigmaserve/model/weights";\n'), ["subpathOnly"]);
  assert.deepEqual(await boundaryFindings(file, 'export { ByteTokenizer } from "@sigmaserve/model";\n'), ["noRootEntry", "subpathOnly"]);
});

test("repo config - router-runtime and kv-index reach kvcache through /hash and /events only", async () => {
  assert.deepEqual(await boundaryFindings("packages/router-runtime/src/entry-probe.ts", 'export { prefixBlockHashes } from "@sigmaserve/kvcache/hash";\n'), []);
  assert.deepEqual(await boundaryFindings("packages/router-runtime/src/entry-probe.ts", 'export { KvCacheManager } from "@sigmaserve/kvcache";\n'), ["subpathOnly"]);
  assert.deepEqual(await boundaryFindings("packages/kv-index/src/entry-probe.ts", 'export { KvEventConsumer } from "@sigmaserve/kvcache/events";\n'), []);
  assert.deepEqual(await boundaryFindings("packages/kv-index/src/entry-probe.ts", 'export { KvCacheManager } from "@sigmaserve/kvcache";\n'), ["subpathOnly"]);
});

test("repo config - the engine and the worker may load the ORT runtime", async () => {
  for (const path of ["packages/engine/src/entry-probe.ts", "packages/worker-runtime/src/entry-probe.ts"]) {
    assert.deepEqual(await boundaryFindings(path, 'export { OrtDenseModel } from "@sigmaserve/model/runtime";\n'), [], path);
  }
});

import { RuleTester } from "eslint";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { packageBoundaries } from "./package-boundaries.js";

// A miniature monorepo on disk: the rule reads real package.json files.
const root = mkdtempSync(join(tmpdir(), "sigmaserve-boundaries-"));
function workspace(dir, name, exportsField = { ".": "./dist/index.js" }) {
  mkdirSync(join(root, dir, "src"), { recursive: true });
  writeFileSync(join(root, dir, "package.json"), JSON.stringify({ name, exports: exportsField }));
}
workspace("apps/router", "@sigmaserve/router");
workspace("apps/worker", "@sigmaserve/worker");
workspace("packages/kvcache", "@sigmaserve/kvcache", { ".": "./dist/index.js", "./hash": "./dist/hash/index.js", "./events": "./dist/events/index.js" });
workspace("packages/kv-index", "@sigmaserve/kv-index");
// No root entry: importers name the subpath they need; only ./runtime loads onnxruntime-node.
workspace("packages/model", "@sigmaserve/model", { "./tokenizer": "./dist/tokenizer/index.js", "./config": "./dist/config/index.js", "./runtime": "./dist/runtime/index.js" });
workspace("packages/engine", "@sigmaserve/engine");
workspace("packages/router-runtime", "@sigmaserve/router-runtime");
workspace("packages/testkit", "@sigmaserve/testkit");

RuleTester.describe = describe;
RuleTester.it = it;
after(() => rmSync(root, { recursive: true, force: true }));

const options = [
  {
    root,
    allow: {
      "@sigmaserve/kv-index": ["@sigmaserve/kvcache/events", "@sigmaserve/kvcache/hash"],
      "@sigmaserve/kvcache": [],
      "@sigmaserve/model": [],
      "@sigmaserve/engine": ["@sigmaserve/model", "@sigmaserve/kvcache"],
      "@sigmaserve/router-runtime": ["@sigmaserve/model/tokenizer", "@sigmaserve/model/config", "@sigmaserve/kvcache/hash", "@sigmaserve/kv-index"],
    },
    testOnly: ["@sigmaserve/testkit"],
  },
];
const at = (path) => join(root, path);
const tester = new RuleTester({ languageOptions: { ecmaVersion: 2024, sourceType: "module" } });

tester.run("sigmaserve/package-boundaries", packageBoundaries, {
  valid: [
    { filename: at("apps/router/src/main.js"), code: 'import { x } from "@sigmaserve/kv-index";', options },
    { filename: at("apps/router/src/main.js"), code: 'import { hash } from "@sigmaserve/kvcache/hash";', options },
    { filename: at("apps/router/src/a/b.js"), code: 'import { y } from "../c.js"; import z from "node:fs";', options },
    { filename: at("packages/kv-index/src/index.js"), code: 'export * from "@sigmaserve/kvcache/hash";', options },
    { filename: at("packages/kvcache/src/pool.test.js"), code: 'import { startNatsServer } from "@sigmaserve/testkit";', options },
    { filename: at("test/cluster.test.js"), code: 'import { a } from "@sigmaserve/testkit"; import { b } from "@sigmaserve/router";', options },
    // Subpath only: the router may tokenize and read configs, kv-index may read events and hashes.
    {
      filename: at("packages/router-runtime/src/generate/normalize.js"),
      code: 'import { ByteTokenizer } from "@sigmaserve/model/tokenizer"; import { presetConfig } from "@sigmaserve/model/config"; import { h } from "@sigmaserve/kvcache/hash";',
      options,
    },
    { filename: at("packages/kv-index/src/kv-index.js"), code: 'import { KvEventConsumer } from "@sigmaserve/kvcache/events";', options },
    // A package allowed by name may use any entry it exports, the ORT runtime included.
    { filename: at("packages/engine/src/runner.js"), code: 'import { OrtDenseModel } from "@sigmaserve/model/runtime"; import { pool } from "@sigmaserve/kvcache";', options },
  ],
  invalid: [
    {
      filename: at("apps/router/src/main.js"),
      code: 'import { scheduler } from "@sigmaserve/worker";',
      options,
      errors: [{ message: "@sigmaserve/router imports the app @sigmaserve/worker: apps never import each other; move the shared code into a package" }],
    },
    {
      filename: at("packages/kvcache/src/index.js"),
      code: 'import { route } from "@sigmaserve/router";',
      options,
      errors: [{ messageId: "packageToApp" }],
    },
    {
      filename: at("apps/router/src/main.js"),
      code: 'import { pool } from "@sigmaserve/kvcache/src/pool.js";',
      options,
      errors: [
        {
          message:
            "deep import '@sigmaserve/kvcache/src/pool.js': @sigmaserve/kvcache exports only @sigmaserve/kvcache, @sigmaserve/kvcache/hash, @sigmaserve/kvcache/events; import from the package entry point",
        },
      ],
    },
    {
      filename: at("apps/router/src/main.js"),
      code: 'const m = await import("../../worker/src/scheduler.js");',
      options,
      errors: [{ messageId: "escapesWorkspace" }],
    },
    {
      filename: at("packages/kv-index/src/index.js"),
      code: 'export { pool } from "../../kvcache/src/pool.js";',
      options,
      errors: [{ messageId: "escapesWorkspace" }],
    },
    {
      filename: at("packages/kvcache/src/index.js"),
      code: 'import { x } from "@sigmaserve/kv-index";',
      options,
      errors: [{ message: "@sigmaserve/kvcache may not import @sigmaserve/kv-index (allowed: no internal package); see DESIGN.md §3" }],
    },
    {
      filename: at("apps/router/src/main.js"),
      code: 'import { startNatsServer } from "@sigmaserve/testkit";',
      options,
      errors: [{ messageId: "testOnly" }],
    },
    {
      filename: at("packages/router-runtime/src/generate/normalize.js"),
      code: 'import { OrtDenseModel } from "@sigmaserve/model/runtime";',
      options,
      errors: [
        {
          message:
            "@sigmaserve/router-runtime may import @sigmaserve/model only through @sigmaserve/model/tokenizer, @sigmaserve/model/config, not '@sigmaserve/model/runtime'; see DESIGN.md §3",
        },
      ],
    },
    {
      // A dynamic import, a re-export and a test file are no way around it.
      filename: at("packages/router-runtime/src/http/server.test.js"),
      code: 'const m = await import("@sigmaserve/model/runtime"); export { OrtDenseModel } from "@sigmaserve/model/runtime";',
      options,
      errors: [{ messageId: "subpathOnly" }, { messageId: "subpathOnly" }],
    },
    {
      filename: at("packages/router-runtime/src/generate/normalize.js"),
      code: 'import { ByteTokenizer } from "@sigmaserve/model";',
      options,
      errors: [
        { message: "@sigmaserve/model has no root entry; import the subpath you need: @sigmaserve/model/tokenizer, @sigmaserve/model/config, @sigmaserve/model/runtime" },
        { messageId: "subpathOnly" },
      ],
    },
    {
      filename: at("packages/kv-index/src/kv-index.js"),
      code: 'import { KvCacheManager } from "@sigmaserve/kvcache";',
      options,
      errors: [
        {
          message:
            "@sigmaserve/kv-index may import @sigmaserve/kvcache only through @sigmaserve/kvcache/events, @sigmaserve/kvcache/hash, not '@sigmaserve/kvcache'; see DESIGN.md §3",
        },
      ],
    },
    {
      filename: at("packages/router-runtime/src/index.js"),
      code: 'import { scheduler } from "@sigmaserve/engine";',
      options,
      errors: [{ messageId: "notAllowed" }],
    },
  ],
});

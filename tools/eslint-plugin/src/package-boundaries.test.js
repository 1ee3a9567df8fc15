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
workspace("packages/kvcache", "@sigmaserve/kvcache", { ".": "./dist/index.js", "./hash": "./dist/hash/index.js" });
workspace("packages/kv-index", "@sigmaserve/kv-index");
workspace("packages/testkit", "@sigmaserve/testkit");

RuleTester.describe = describe;
RuleTester.it = it;
after(() => rmSync(root, { recursive: true, force: true }));

const options = [
  {
    root,
    allow: { "@sigmaserve/kv-index": ["@sigmaserve/kvcache"], "@sigmaserve/kvcache": [] },
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
            "deep import '@sigmaserve/kvcache/src/pool.js': @sigmaserve/kvcache exports only @sigmaserve/kvcache, @sigmaserve/kvcache/hash; import from the package entry point",
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
  ],
});

/**
 * Rule `sigmaserve/package-boundaries`: the dependency rules of DESIGN.md §3.
 *
 * - Apps never import each other, and packages never import apps.
 * - No deep imports across workspaces: `@sigmaserve/x` or a subpath that x
 *   declares in its package.json `exports` (e.g. `@sigmaserve/kvcache/hash`).
 * - No relative import that climbs out of its own workspace (use the package name).
 * - A package imports only the internal packages it is allowed (option `allow`,
 *   keyed by package name; a package not listed may import any package). An
 *   allowed entry is a package name (any entry it exports) or a subpath
 *   (`@sigmaserve/model/tokenizer`): once a package is allowed only through
 *   subpaths, its root and its other subpaths are refused ("subpath only" in
 *   DESIGN.md §3, e.g. the router never imports the ORT runtime of
 *   @sigmaserve/model).
 * - Test-only packages (option `testOnly`, e.g. @sigmaserve/testkit) are imported
 *   only from tests: `*.test.ts`, a `testing/` folder, `test/` or `bench/`.
 */
import { dirname, relative, resolve, sep } from "node:path";
import { owningWorkspace, readWorkspaceMap, splitSpecifier } from "./workspace-map.js";

const TEST_FILE = /(\.test\.[cm]?[jt]sx?$)|([/\\]testing[/\\])/;

/** @type {Map<string, ReturnType<typeof readWorkspaceMap>>} */
const mapsByRoot = new Map();

function isTestFile(root, file) {
  const top = relative(root, file).split(sep)[0];
  return top === "test" || top === "bench" || TEST_FILE.test(file);
}

/** @type {import("eslint").Rule.RuleModule} */
export const packageBoundaries = {
  meta: {
    type: "problem",
    docs: { description: "Enforce sigmaserve's package boundaries (DESIGN.md §3)" },
    schema: [
      {
        type: "object",
        properties: {
          root: { type: "string" },
          scope: { type: "string" },
          allow: { type: "object", additionalProperties: { type: "array", items: { type: "string" } } },
          testOnly: { type: "array", items: { type: "string" } },
        },
        required: ["root"],
        additionalProperties: false,
      },
    ],
    messages: {
      appToApp: "{{from}} imports the app {{to}}: apps never import each other; move the shared code into a package",
      packageToApp: "{{from}} imports the app {{to}}: packages never import apps",
      deepImport: "deep import '{{specifier}}': {{to}} exports only {{exported}}; import from the package entry point",
      noRootEntry: "{{to}} has no root entry; import the subpath you need: {{exported}}",
      escapesWorkspace: "relative import '{{specifier}}' leaves {{from}}; import the other workspace by its package name",
      notAllowed: "{{from}} may not import {{to}} (allowed: {{allowed}}); see DESIGN.md §3",
      subpathOnly: "{{from}} may import {{to}} only through {{entries}}, not '{{specifier}}'; see DESIGN.md §3",
      testOnly: "{{to}} is test-only: import it from *.test.ts, a testing/ folder, test/ or bench/",
    },
  },
  create(context) {
    const options = context.options[0];
    const root = resolve(options.root);
    const scope = options.scope ?? "@sigmaserve/";
    let map = mapsByRoot.get(root);
    if (map === undefined) mapsByRoot.set(root, (map = readWorkspaceMap(root)));
    const file = context.filename;
    const from = owningWorkspace(map, file);
    const inTest = isTestFile(root, file);

    function check(node, specifier) {
      if (typeof specifier !== "string") return;
      if (specifier.startsWith(".")) {
        if (from === undefined) return;
        const target = resolve(dirname(file), specifier);
        if (relative(from.dir, target).startsWith("..")) {
          context.report({ node, messageId: "escapesWorkspace", data: { specifier, from: from.name } });
        }
        return;
      }
      if (!specifier.startsWith(scope)) return;
      const { name, subpath } = splitSpecifier(specifier);
      const to = map.byName.get(name);
      if (to === undefined || to === from) return;
      if (!to.subpaths.has(subpath)) {
        const exported = [...to.subpaths].map((s) => (s === "." ? name : `${name}/${s}`)).join(", ");
        context.report({ node, messageId: subpath === "." ? "noRootEntry" : "deepImport", data: { specifier, to: name, exported } });
      }
      if ((options.testOnly ?? []).includes(name) && !inTest) {
        context.report({ node, messageId: "testOnly", data: { to: name } });
      }
      if (from === undefined) return;
      if (to.kind === "app") {
        context.report({ node, messageId: from.kind === "app" ? "appToApp" : "packageToApp", data: { from: from.name, to: name } });
        return;
      }
      const allowed = options.allow?.[from.name];
      if (allowed === undefined || allowed.includes(name) || (inTest && (options.testOnly ?? []).includes(name))) return;
      // Subpath entries of this package ("@sigmaserve/model/tokenizer"): only those may be imported.
      const entries = allowed.filter((entry) => entry.startsWith(`${name}/`));
      if (entries.length === 0) {
        context.report({ node, messageId: "notAllowed", data: { from: from.name, to: name, allowed: allowed.join(", ") || "no internal package" } });
      } else if (!entries.includes(specifier)) {
        context.report({ node, messageId: "subpathOnly", data: { from: from.name, to: name, entries: entries.join(", "), specifier } });
      }
    }

    const source = (node) => check(node.source, node.source?.value);
    return {
      ImportDeclaration: source,
      ExportNamedDeclaration: (node) => node.source && source(node),
      ExportAllDeclaration: source,
      ImportExpression: (node) => node.source.type === "Literal" && check(node.source, node.source.value),
    };
  },
};

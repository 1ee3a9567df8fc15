/**
 * Which workspace owns a file, and what each workspace is called and exports.
 *
 * Built once per lint run from apps/<dir>/package.json and
 * packages/<dir>/package.json under the repository root. Synchronous on
 * purpose: ESLint rules are synchronous.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";

/** Folders whose children are workspaces, and the kind each child is. */
const WORKSPACE_KINDS = /** @type {const} */ ({ apps: "app", packages: "package", tools: "tool" });

/**
 * @typedef {{ name: string, dir: string, kind: "app" | "package" | "tool", subpaths: Set<string> }} Workspace
 * @typedef {{ root: string, byName: Map<string, Workspace>, byDir: Map<string, Workspace> }} WorkspaceMap
 */

/** @param {string} root absolute path of the repository @returns {WorkspaceMap} */
export function readWorkspaceMap(root) {
  /** @type {Map<string, Workspace>} */
  const byName = new Map();
  /** @type {Map<string, Workspace>} */
  const byDir = new Map();
  for (const [parent, kind] of Object.entries(WORKSPACE_KINDS)) {
    const parentDir = join(root, parent);
    if (!existsSync(parentDir)) continue;
    for (const entry of readdirSync(parentDir, { withFileTypes: true })) {
      const manifestPath = join(parentDir, entry.name, "package.json");
      if (!entry.isDirectory() || !existsSync(manifestPath)) continue;
      const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
      const exportsField = manifest.exports ?? {};
      // "." plus every declared subpath ("./hash" → "hash").
      const subpaths = new Set(
        typeof exportsField === "string" ? ["."] : Object.keys(exportsField).map((key) => (key === "." ? "." : key.replace(/^\.\//, ""))),
      );
      const workspace = { name: manifest.name, dir: join(parentDir, entry.name), kind, subpaths };
      byName.set(workspace.name, workspace);
      byDir.set(workspace.dir, workspace);
    }
  }
  return { root, byName, byDir };
}

/** The workspace whose folder holds `file`, or undefined (test/, bench/, root files). @param {WorkspaceMap} map @param {string} file */
export function owningWorkspace(map, file) {
  const parts = relative(map.root, file).split(sep);
  if (parts.length < 3 || !(parts[0] in WORKSPACE_KINDS)) return undefined;
  return map.byDir.get(join(map.root, parts[0], parts[1]));
}

/** Splits "@sigmaserve/kvcache/hash" into the package name and the subpath ("hash"), or "." for the root. @param {string} specifier */
export function splitSpecifier(specifier) {
  const parts = specifier.split("/");
  const nameLength = specifier.startsWith("@") ? 2 : 1;
  return { name: parts.slice(0, nameLength).join("/"), subpath: parts.length > nameLength ? parts.slice(nameLength).join("/") : "." };
}

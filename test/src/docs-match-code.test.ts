/**
 * The docs cannot drift from the code: every exported error class has a row in
 * docs/errors.md (and every error class the page names exists), and every
 * relative link in the READMEs and docs/ lands on a file inside the repo.
 * Both are read straight from the sources, so adding an error class or moving
 * a file without updating the docs fails here.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SKIP_DIRS = new Set(["node_modules", "dist", "gen", ".turbo", "build", "results", ".git"]);

function walk(dir: string, keep: (path: string) => boolean, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, keep, out);
    else if (keep(path)) out.push(path);
  }
  return out;
}

/** Exported classes that extend Error, directly or through another error class: [name, the workspace that declares it, file]. */
function errorClasses(): [string, string, string][] {
  const sources = ["packages", "apps"].flatMap((dir) => walk(join(ROOT, dir), (p) => p.endsWith(".ts") && !p.endsWith(".test.ts") && !p.endsWith(".d.ts") && !p.includes("/testing/")));
  const declared: { name: string; base: string; file: string }[] = [];
  for (const file of sources) {
    for (const match of readFileSync(file, "utf8").matchAll(/^export (?:abstract )?class (\w+) extends (\w+)/gm)) {
      declared.push({ name: match[1]!, base: match[2]!, file: relative(ROOT, file) });
    }
  }
  const bases = new Map(declared.map((entry) => [entry.name, entry.base]));
  const isError = (name: string, seen = new Set<string>()): boolean => {
    if (name === "Error") return true;
    const base = bases.get(name);
    if (base === undefined || seen.has(name)) return false;
    seen.add(name);
    return isError(base, seen);
  };
  // packages/<name>/src/... or apps/<name>/src/... → <name> (the package column of the page).
  return declared.filter((entry) => isError(entry.name)).map((entry) => [entry.name, entry.file.split("/")[1]!, entry.file]);
}

test("docs - docs/errors.md has a row for every exported error class in its package, and names no class that does not exist", () => {
  const page = readFileSync(join(ROOT, "docs/errors.md"), "utf8");
  const rows = new Set([...page.matchAll(/^\| `(\w+)` \| ([\w-]+) \|/gm)].map((m) => `${m[1]} ${m[2]}`));
  const classes = errorClasses();
  assert.ok(classes.length > 50, `found only ${classes.length} error classes: the scan is broken`);
  const missing = classes.filter(([name, pkg]) => !rows.has(`${name} ${pkg}`)).map(([name, pkg, file]) => `${name} (${pkg}: ${file})`);
  assert.deepEqual(missing, [], "error classes without a row '| `Name` | package |' in docs/errors.md");
  const known = new Set(classes.map(([name]) => name));
  const stale = [...new Set([...page.matchAll(/`([A-Z]\w*Error)`/g)].map((m) => m[1]!))].filter((name) => !known.has(name));
  assert.deepEqual(stale, [], "docs/errors.md names error classes that no longer exist");
});

test("docs - every relative link and every repo path written as code in the READMEs and docs/ resolves inside the repo", () => {
  const pages = [
    ...walk(join(ROOT, "docs"), (p) => p.endsWith(".md")),
    ...["packages", "apps", "tools", "bench", "test", "infra"].flatMap((dir) => walk(join(ROOT, dir), (p) => p.endsWith("README.md"))),
    join(ROOT, "README.md"),
  ];
  const broken: string[] = [];
  for (const page of pages) {
    const text = readFileSync(page, "utf8").replace(/```[\s\S]*?```/g, "");
    for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = match[1]!;
      if (/^[a-z]+:/i.test(target) || target.startsWith("#")) continue;
      const path = resolve(dirname(page), target.split("#")[0]!);
      const where = `${relative(ROOT, page)} → ${target}`;
      if (relative(ROOT, path).startsWith("..")) broken.push(`${where} (leaves the repo)`);
      else if (!existsSync(path)) broken.push(`${where} (no such file)`);
    }
    // Paths written as code: `packages/x/src/y.ts` from the repo root, `../y` from the page, must exist inside the repo.
    for (const match of text.matchAll(/`((?:\.\.\/|(?:packages|apps|docs|infra|bench|test|tools|deploy)\/)[\w./-]+)`/g)) {
      const target = match[1]!;
      const where = `${relative(ROOT, page)} → \`${target}\``;
      const path = target.startsWith("../") ? resolve(dirname(page), target) : join(ROOT, target);
      if (relative(ROOT, path).startsWith("..")) broken.push(`${where} (leaves the repo)`);
      else if (!target.includes("*") && !existsSync(path)) broken.push(`${where} (no such path)`);
    }
  }
  assert.deepEqual(broken, []);
});

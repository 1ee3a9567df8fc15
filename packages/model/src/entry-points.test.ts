/**
 * The entries of @sigmaserve/model and what each one drags in.
 *
 * The split exists so that the router and the CLI can tokenize and read
 * configs without loading onnxruntime-node: only `./runtime` may reach it.
 * Two independent checks: the static import graph of each entry's sources
 * (which names the chain when it breaks), and a fresh process that imports
 * the entry and lists the shared libraries it mapped (the ground truth:
 * onnxruntime-node maps its native binding as soon as it is imported).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import ts from "typescript";

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ORT = "onnxruntime-node";

/** Entry name → whether it may reach onnxruntime-node. */
const ENTRIES = { tokenizer: false, config: false, weights: false, reference: false, runtime: true } as const;
type EntryName = keyof typeof ENTRIES;
const ENTRY_NAMES = Object.keys(ENTRIES) as EntryName[];

/**
 * The static import graph from one source file: every file it reaches and,
 * for each bare specifier (a package or node: builtin) it reaches, the chain
 * of files that leads there, relative to the package folder.
 */
function importGraph(entryFile: string): Map<string, string[]> {
  const chains = new Map<string, string[]>();
  const queue: [string, string[]][] = [[entryFile, [relative(packageDir, entryFile)]]];
  const seen = new Set<string>([entryFile]);
  while (queue.length > 0) {
    const [file, chain] = queue.shift()!;
    for (const { fileName: specifier } of ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles) {
      if (!specifier.startsWith(".")) {
        if (!chains.has(specifier)) chains.set(specifier, [...chain, specifier]);
        continue;
      }
      // Sources import each other as ./x.js (NodeNext); the file on disk is ./x.ts.
      const target = resolve(dirname(file), specifier.replace(/\.js$/, ".ts"));
      if (seen.has(target)) continue;
      seen.add(target);
      queue.push([target, [...chain, relative(packageDir, target)]]);
    }
  }
  return chains;
}

/** The third-party packages a chain map reaches (not node: builtins), sorted. */
function packagesReached(chains: Map<string, string[]>): string[] {
  return [...chains.keys()].filter((specifier) => !specifier.startsWith("node:")).sort();
}

test("model - package.json exports exactly the five entries, each built from src/<entry>/index.ts", () => {
  const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { exports: Record<string, { types: string; default: string }> };
  assert.deepEqual(
    manifest.exports,
    Object.fromEntries(ENTRY_NAMES.map((name) => [`./${name}`, { types: `./dist/${name}/index.d.ts`, default: `./dist/${name}/index.js` }])),
  );
  for (const name of ENTRY_NAMES) assert.ok(existsSync(join(packageDir, "src", name, "index.ts")), `src/${name}/index.ts`);
});

test("model - only ./runtime reaches onnxruntime-node in the static import graph", () => {
  const graphs = Object.fromEntries(ENTRY_NAMES.map((name) => [name, importGraph(join(packageDir, "src", name, "index.ts"))])) as Record<EntryName, Map<string, string[]>>;
  for (const name of ENTRY_NAMES.filter((entry) => !ENTRIES[entry])) {
    assert.equal(graphs[name].get(ORT), undefined, `./${name} reaches ${ORT} through ${graphs[name].get(ORT)?.join(" → ")}`);
  }
  const reached = Object.fromEntries(ENTRY_NAMES.map((name) => [name, packagesReached(graphs[name])]));
  // NOTE: exact lists, so a new dependency of an ORT-free entry is a decision someone makes here, not a drift.
  assert.deepEqual(reached, {
    tokenizer: ["@huggingface/tokenizers"],
    config: ["zod"],
    weights: ["@huggingface/tokenizers", "zod"],
    reference: ["zod"],
    runtime: ["@bufbuild/protobuf", "@bufbuild/protobuf/codegenv2", ORT, "zod"],
  });
  assert.deepEqual(graphs.runtime.get(ORT), ["src/runtime/index.ts", "src/runtime/ort-dense-model.ts", ORT]);
});

/** The shared libraries with "onnxruntime" in their name that a fresh process maps after importing one entry. */
async function ortLibrariesMappedBy(name: EntryName): Promise<string[]> {
  const url = pathToFileURL(join(packageDir, "src", name, "index.ts")).href;
  const script = `await import(${JSON.stringify(url)}); process.stdout.write(JSON.stringify(process.report.getReport().sharedObjects));`;
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: packageDir });
  return (JSON.parse(stdout) as string[]).map((path) => path.slice(path.lastIndexOf("/") + 1)).filter((file) => file.includes("onnxruntime"));
}

test("model - a process that imports an ORT-free entry maps no onnxruntime library; one that imports ./runtime maps ORT's binding", async () => {
  for (const name of ENTRY_NAMES) {
    const mapped = await ortLibrariesMappedBy(name);
    // The binding's file name is the same on every platform (libonnxruntime's is not).
    if (ENTRIES[name]) assert.ok(mapped.includes("onnxruntime_binding.node"), `@sigmaserve/model/${name} maps ${JSON.stringify(mapped)}`);
    else assert.deepEqual(mapped, [], `@sigmaserve/model/${name}`);
  }
});

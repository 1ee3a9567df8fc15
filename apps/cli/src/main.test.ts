import { referenceForward } from "@sigmaserve/model/reference";
import { demoModel } from "@sigmaserve/model/weights";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { main } from "./main.js";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
const root = await mkdtemp(join(tmpdir(), "sigmaserve-cli-"));
after(() => rm(root, { recursive: true, force: true }));

/** Runs the CLI as a real process. */
async function sigmaserve(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--import", "tsx", MAIN, ...args], { maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Runs the CLI in-process (same code path minus the process wrapper): fast for argument errors. */
async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

test("cli - model make writes byte-identical files for the same seed", async () => {
  const a = await sigmaserve("model", "make", "--preset", "sigma-tiny", "--seed", "0", "--out", join(root, "a"));
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /wrote sigma-tiny \(seed 0, 4 layers, f32\)/);
  const b = await run("model", "make", "--preset", "sigma-tiny", "--seed", "0", "--out", join(root, "b"));
  assert.equal(b.code, 0, b.stderr);
  for (const file of ["config.json", "model.safetensors", "tokenizer.json"]) {
    assert.ok((await readFile(join(root, "a", file))).equals(await readFile(join(root, "b", file))), file);
  }
});

test("cli - model inspect shows the paper's KV bytes for sigma-1.5b against std-1.5b", async () => {
  const { code, stdout } = await run("model", "inspect", "--preset", "sigma-1.5b", "--json");
  assert.equal(code, 0);
  const report = JSON.parse(stdout);
  assert.deepEqual(report.kv_elements_per_token_per_layer, { k: 256, v: 1024 });
  assert.equal(report.kv_bytes_per_token.bf16.all_layers.total, 66_560);
  assert.equal(report.gqa_twin.kv_bytes_per_token.bf16.all_layers.total, 106_496);
  const text = await run("model", "inspect", "--preset", "sigma-1.5b");
  assert.match(text.stdout, /bf16 +512 +2,048 +2,560 +13,312 +53,248 +66,560 \| +106,496 +1\.60x/);
});

test("cli - model inspect reads a model directory", async () => {
  await run("model", "make", "--preset", "sigma-tiny-gqa", "--layers", "1", "--out", join(root, "gqa"));
  const { code, stdout } = await run("model", "inspect", join(root, "gqa"), "--json");
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(stdout).heads, { query: 8, key: 4, value: 4, head_dim: 32 });
});

test("cli - model logits prints the reference's final-position logits, and --path ort agrees", async () => {
  const tokens = [72, 101, 108, 108, 111];
  const { config, weights } = demoModel("sigma-tiny", 0);
  const expected = referenceForward(config, weights, tokens).logits.subarray(4 * config.vocab_size);
  const reference = await sigmaserve("model", "logits", join(root, "a"), "--tokens", tokens.join(","), "--json");
  assert.equal(reference.code, 0, reference.stderr);
  const parsed = JSON.parse(reference.stdout);
  assert.deepEqual(parsed.tokens, tokens);
  assert.deepEqual(parsed.logits, Array.from(expected));
  const ort = await run("model", "logits", "--preset", "sigma-tiny", "--tokens", tokens.join(","), "--path", "ort", "--json");
  const ortLogits: number[] = JSON.parse(ort.stdout).logits;
  assert.ok(ortLogits.every((value, i) => Math.abs(value - expected[i]!) <= 1e-4));
  const all = await run("model", "logits", "--preset", "sigma-tiny", "--tokens", "1,2,3", "--all-positions", "--json");
  assert.equal(JSON.parse(all.stdout).logits.length, 3);
});

test("cli - bad arguments exit 2 with a message naming the flag", async () => {
  const cases: [string[], RegExp][] = [
    [["model", "make", "--out", join(root, "x")], /--preset is required \(one of sigma-tiny, sigma-tiny-gqa, sigma-1\.5b, std-1\.5b, llama-tiny\)/],
    [["model", "make", "--preset", "sigma-tiny"], /--out is required/],
    [["model", "make", "--preset", "sigma-tiny", "--out", "x", "--seed=-1"], /--seed must be an integer >= 0, got "-1"/],
    [["model", "make", "--preset", "sigma-tiny", "--out", "x", "--dtype", "f8"], /--dtype must be one of f32, f16, bf16, got "f8"/],
    [["model", "make", "--preset", "sigma-tiny", "--out", "x", "--bogus"], /Unknown option '--bogus'/],
    [["model", "logits", "--preset", "sigma-tiny"], /--tokens is required/],
    [["model", "logits", "--preset", "sigma-tiny", "--tokens", "1,300"], /--tokens: token 1 is "300", expected an integer in \[0, 259\)/],
    [["model", "logits", "--preset", "sigma-tiny", "--tokens", "1,x"], /--tokens: token 1 is "x"/],
    [["model", "logits", "--preset", "sigma-tiny", "--tokens", "1", "--path", "gpu"], /--path must be one of reference, ort, got "gpu"/],
    [["model", "inspect"], /give either a model DIR or --preset, not both/],
    [["model", "inspect", "dir", "--preset", "sigma-tiny"], /give either a model DIR or --preset, not both/],
    [["model", "inspect", "a", "b"], /unexpected argument "b"/],
    [["model", "frobnicate"], /unknown command "model frobnicate"/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await run(...args);
    assert.equal(code, 2, `${args.join(" ")} → ${code}: ${stderr}`);
    assert.match(stderr, message, args.join(" "));
  }
});

test("cli - a missing model directory exits 1 naming the file", async () => {
  const { code, stderr } = await run("model", "inspect", join(root, "nope"));
  assert.equal(code, 1);
  assert.match(stderr, /nope\/config\.json is invalid: \(file\): cannot be read/);
});

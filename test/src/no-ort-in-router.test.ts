/**
 * The router process and the CLI never load onnxruntime-node; only what runs
 * a model does. A real cluster (nats-server, one worker, the router, each
 * from its built dist/main.js) serves a completion, then two independent
 * probes look at each process:
 *
 * - /proc/<pid>/maps of the live process: ORT maps its native library
 *   (onnxruntime_binding.node, libonnxruntime) as soon as it is imported.
 * - record-loads.mjs, a preload that logs every module URL the process
 *   resolves (and, at exit, every shared library it mapped).
 *
 * The worker beside the router is the control: the same probes must find ORT
 * there, so an empty answer for the router means absent, not unseen. The CLI
 * runs `--help`, `status` against the cluster and `model logits` on the
 * reference path (no ORT), then `model logits --path ort` (ORT, the control).
 * Linux only (/proc), as the rest of test/.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { startCluster, type Cluster } from "./cluster.js";

const CLI = join(dirname(createRequire(import.meta.url).resolve("@sigmaserve/cli/package.json")), "dist", "main.js");
const RECORD_LOADS = pathToFileURL(join(import.meta.dirname, "testing", "record-loads.mjs")).href;
/** Where onnxruntime-node's JS lives once resolved; its native files all have "onnxruntime" in their names. */
const ORT_MODULE = "/node_modules/onnxruntime-node/";

/** Node flags that make a process log what it loads into `logPath`. */
const recordLoadsInto = (logPath: string) => ["--import", `${RECORD_LOADS}?log=${encodeURIComponent(logPath)}`];

interface LoadLog {
  resolved: string[];
  mapped: string[];
}

async function readLoadLog(logPath: string): Promise<LoadLog> {
  const lines = (await readFile(logPath, "utf8")).split("\n");
  const field = (prefix: string) => lines.filter((line) => line.startsWith(prefix)).map((line) => line.slice(prefix.length));
  return { resolved: field("resolved "), mapped: field("mapped ") };
}

/** A native library: a Node addon or a shared object (libonnxruntime.so.1, .dylib on macOS). */
const NATIVE_LIBRARY = /\.(node|so(\.\d+)*|dylib)$/;

/**
 * The file names (not paths) of the mapped native libraries with
 * "onnxruntime" in their name, sorted and unique. NOTE: ORT also maps a
 * telemetry database (~/.cache/Microsoft/DeveloperTools/.onnxruntime/*.db-shm)
 * on some machines; only libraries count, so the answer is the same everywhere.
 */
function ortFiles(paths: string[]): string[] {
  const files = paths.map((path) => path.slice(path.lastIndexOf("/") + 1));
  return [...new Set(files.filter((file) => file.includes("onnxruntime") && NATIVE_LIBRARY.test(file)))].sort();
}

/** What /proc/<pid>/maps of a live process says it has mapped (the path column of each line). */
async function mappedFiles(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/maps`, "utf8"))
    .split("\n")
    .map((line) => line.split(/\s+/).slice(5).join(" "))
    .filter((path) => path.startsWith("/"));
}

describe("no onnxruntime-node outside what runs a model", () => {
  let cluster: Cluster;
  let logDir: string;
  const routerLog = () => join(logDir, "router.log");
  const workerLog = () => join(logDir, "worker.log");

  before(async () => {
    logDir = await mkdtemp(join(tmpdir(), "sigmaserve-no-ort-"));
    cluster = await startCluster({ workers: 1, routerNodeArgs: recordLoadsInto(routerLog()), workerNodeArgs: recordLoadsInto(workerLog()) });
    for (let i = 0; i < 200; i++) {
      const models = (await (await fetch(`http://${cluster.httpAddress}/v1/models`)).json()) as { data: unknown[] };
      if (models.data.length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  after(async () => {
    await cluster?.stop();
    await rm(logDir, { recursive: true, force: true });
  });

  test("router - serves a completion with no onnxruntime mapped or resolved; the worker that ran it has both", async () => {
    // Through the router's tokenizer, the routing and the relay: every path a request takes in the router.
    const response = await fetch(`http://${cluster.httpAddress}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "sigma-tiny", prompt: "Hello", max_tokens: 4, temperature: 0, ignore_eos: true }),
    });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens, 4);

    const router = cluster.router.child.pid!;
    const worker = cluster.workers[0]!.child.pid!;
    assert.deepEqual(ortFiles(await mappedFiles(router)), []);
    assert.deepEqual(ortFiles(await mappedFiles(worker)), ["libonnxruntime.so.1", "onnxruntime_binding.node"]);

    const routerLoads = await readLoadLog(routerLog());
    const workerLoads = await readLoadLog(workerLog());
    assert.deepEqual(routerLoads.resolved.filter((url) => url.includes(ORT_MODULE)), []);
    // The probe saw the router's own imports (the tokenizer entry), and ORT where it is loaded.
    assert.ok(routerLoads.resolved.some((url) => url.endsWith("/model/dist/tokenizer/index.js")), "the router resolves @sigmaserve/model/tokenizer");
    assert.ok(workerLoads.resolved.some((url) => url.includes(ORT_MODULE)), "the worker resolves onnxruntime-node");
    assert.equal(routerLoads.resolved.some((url) => url.endsWith("/model/dist/runtime/index.js")), false);
  });

  test("cli - --help, status and reference logits load no onnxruntime; logits --path ort loads it", async () => {
    const runs = {
      help: ["--help"],
      status: ["status", "--http", cluster.httpAddress],
      "logits reference": ["model", "logits", "--preset", "sigma-tiny", "--tokens", "72,105"],
      "logits ort": ["model", "logits", "--preset", "sigma-tiny", "--tokens", "72,105", "--path", "ort"],
    };
    const seen: Record<string, { resolvedOrt: boolean; mappedOrt: string[] }> = {};
    const stdouts: Record<string, string> = {};
    for (const [name, args] of Object.entries(runs)) {
      const logPath = join(logDir, `cli-${name.replace(" ", "-")}.log`);
      const { stdout } = await promisify(execFile)(process.execPath, [...recordLoadsInto(logPath), CLI, ...args], { timeout: 60_000 });
      const loads = await readLoadLog(logPath);
      assert.ok(loads.mapped.length > 0, `${name}: the exit hook ran`);
      seen[name] = { resolvedOrt: loads.resolved.some((url) => url.includes(ORT_MODULE)), mappedOrt: ortFiles(loads.mapped) };
      stdouts[name] = stdout;
    }
    assert.deepEqual(seen, {
      help: { resolvedOrt: false, mappedOrt: [] },
      status: { resolvedOrt: false, mappedOrt: [] },
      "logits reference": { resolvedOrt: false, mappedOrt: [] },
      "logits ort": { resolvedOrt: true, mappedOrt: ["libonnxruntime.so.1", "onnxruntime_binding.node"] },
    });
    // Each run did its job: usage, the worker in the router's view, logits of the last position.
    assert.match(stdouts["help"]!, /^usage: sigmaserve <command>/);
    assert.match(stdouts["status"]!, /^w0 /m);
    assert.match(stdouts["logits reference"]!, /^position 1 \(token 105\): top /);
    assert.match(stdouts["logits ort"]!, /^position 1 \(token 105\): top /);
  });
});

/**
 * The worker as a real process: it prints its address, serves, and on
 * SIGTERM finishes the request it is running before it exits 0.
 */
import { createGrpcClient, workerv1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

test("worker process - SIGTERM drains the running request, then exits 0", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "--preset", "sigma-tiny", "--port", "0", "--worker-id", "w-test"], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    const lines = createInterface({ input: child.stdout! });
    let address: string | undefined;
    const logs: Record<string, unknown>[] = [];
    for await (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry["msg"] === "worker listening") {
        address = entry["address"] as string;
        break;
      }
    }
    assert.ok(address, "the worker logged its address");
    const client = createGrpcClient(workerv1.WorkerService, address);
    const tokens: number[] = [];
    let finishReason: number | undefined;
    for await (const message of client.generate({ requestId: "drain-me", model: "sigma-tiny", promptTokenIds: [72, 105], sampling: { temperature: 0, maxTokens: 60, ignoreEos: true } })) {
      if (message.event.case === "chunk") {
        tokens.push(...message.event.value.tokenIds);
        if (tokens.length === 2) child.kill("SIGTERM");
      } else if (message.event.case === "finish") finishReason = message.event.value.finishReason;
    }
    assert.equal(tokens.length, 60, "the running request finished after SIGTERM");
    assert.equal(finishReason, 2 /* LENGTH */);
    client.close();
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(code, 0);
  } finally {
    child.kill("SIGKILL");
  }
});

test("worker process - a bad flag exits 2 naming it", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "--kv-device-mib=-5"], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  assert.equal(code, 2);
  assert.match(stderr, /--kv-device-mib: Too small: expected number to be >0/);
});

test("worker process - a KV dtype it does not know exits 2 naming the flag and the choices", async () => {
  const bad = await runWorker(["--kv-k-dtype", "fp8"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^sigmaserve worker: --kv-k-dtype: must be f32, bf16 or f16 \(see "sigmaserve worker --help"\)\n$/);
});

/** Runs the worker process to its exit (for command lines that answer without serving). */
async function runWorker(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

test("worker process - --help lists every flag with its description and default; --version answers", async () => {
  const help = await runWorker(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: sigmaserve worker \(--preset NAME \[--seed N\] \| --model DIR\) \[options\]$/m);
  assert.match(help.stdout, /^ {2}--kv-device-mib MIB +device memory for the K and V pools, MiB \(default: 256\)$/m);
  assert.match(help.stdout, /^ {2}--role both\|prefill\|decode +.+ \(default: both\)$/m);
  assert.match(help.stdout, /^ {2}--kv-dtype f32\|bf16\|f16 +element type of the K and V pools .+ \(default: bf16\)$/m);
  assert.match(help.stdout, /^ {2}--kv-v-dtype f32\|bf16\|f16 +element type of the V pools \(device and host\); default: --kv-dtype$/m);
  assert.match(help.stdout, /^ {2}--drain-migrate +on SIGTERM, hand running requests/m);
  assert.match(help.stdout, /^ {2}--log-level LEVEL +fatal \| error/m);
  assert.ok([...help.stdout.matchAll(/^ {2}--[a-z]/gm)].length >= 30, "every flag is listed");
  const version = await runWorker(["--version"]);
  assert.deepEqual([version.code, version.stdout], [0, "sigmaserve worker 0.1.0\n"]);
});

test("worker process - a bad --log-level exits 2, an unknown preset exits 1, each in one line without a stack trace", async () => {
  const bad = await runWorker(["--preset", "sigma-tiny", "--log-level", "loud"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^sigmaserve worker: --log-level must be one of fatal, error, warn, info, debug, trace, silent, got "loud" \(see "sigmaserve worker --help"\)\n$/);
  const unknown = await runWorker(["--preset", "sigma-huge", "--port", "0", "--log-level=error"]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^sigmaserve worker: unknown preset "sigma-huge".*\n$/);
  assert.equal(unknown.stdout, "", "nothing logged below error");
});

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

/**
 * Cross-process checks that no nats-server outlives its parent. A child Node
 * process (src/testing/hold-nats-server.ts) starts a server and reports its pid;
 * then the child dies without calling stop().
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { once } from "node:events";
import { dirname } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

/** Time allowed for the server to vanish once its parent is gone (it takes ~20 ms). */
const VANISH_TIMEOUT_MS = 5_000;
/** Poll interval while waiting for a pid to vanish. */
const POLL_MS = 20;
/** The child has to load tsx (~0.5 s) and start a server. */
const TEST_TIMEOUT_MS = 20_000;

const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const HOLD_SCRIPT = fileURLToPath(new URL("./testing/hold-nats-server.ts", import.meta.url));

interface HeldServer {
  pid: number;
  port: number;
  storeDir: string;
}

test("watchdog - a SIGKILLed parent leaves no nats-server behind", { timeout: TEST_TIMEOUT_MS }, async () => {
  const child = spawnHolder("hold");
  const held = await readHeldServer(child.stdout);
  assert.ok(isAlive(held.pid), "the server runs while its parent does");

  child.kill("SIGKILL");
  await once(child, "exit");

  await waitUntil(() => !isAlive(held.pid), `nats-server ${held.pid} still running after its parent was SIGKILLed`);
  await waitUntil(() => !existsSync(dirname(held.storeDir)), `temp dir of ${held.pid} not removed`);
});

test("watchdog - a parent that ends without stop() exits and leaves no nats-server", { timeout: TEST_TIMEOUT_MS }, async () => {
  const child = spawnHolder("return");
  const exited = once(child, "exit");
  const held = await readHeldServer(child.stdout);

  // The server must not keep the parent's event loop alive.
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0);
  await waitUntil(() => !isAlive(held.pid), `nats-server ${held.pid} outlived its parent`);
  await waitUntil(() => !existsSync(dirname(held.storeDir)), `temp dir of ${held.pid} not removed`);
});

function spawnHolder(mode: "hold" | "return") {
  return spawn(process.execPath, ["--import", "tsx", HOLD_SCRIPT, mode], {
    cwd: PACKAGE_DIR,
    stdio: ["ignore", "pipe", "inherit"],
  });
}

async function readHeldServer(stdout: NodeJS.ReadableStream): Promise<HeldServer> {
  let text = "";
  for await (const chunk of stdout) {
    text += String(chunk);
    const newline = text.indexOf("\n");
    if (newline >= 0) return JSON.parse(text.slice(0, newline)) as HeldServer;
  }
  throw new Error(`the child exited without reporting a server; it printed: ${text}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw err;
  }
}

async function waitUntil(condition: () => boolean, failure: string): Promise<void> {
  const deadline = Date.now() + VANISH_TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(failure);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

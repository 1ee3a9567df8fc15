/**
 * The router as a real process: it refuses to start without a way to find
 * workers (exit 2 naming the flags), and with a static list it logs its
 * addresses, answers /healthz and stops with exit 0 on SIGTERM.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

test("router process - without --nats or --workers it exits 2 naming both", async () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("SIGMASERVE_ROUTER_")));
  const child = spawn(process.execPath, ["--import", "tsx", MAIN], { stdio: ["ignore", "pipe", "pipe"], env });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  assert.equal(code, 2);
  assert.match(stderr, /give --nats URL, --workers host:port,... or --k8s-worker-service NAME/);
});

test("router process - starts on a static worker list, serves /healthz, SIGTERM exits 0", async () => {
  // Port 1 refuses connections: the router must still start and report the worker as unreachable, not crash.
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "--workers", "127.0.0.1:1"], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    let http: string | undefined;
    for await (const line of createInterface({ input: child.stdout! })) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (entry["msg"] === "router listening") {
        http = entry["http"] as string;
        break;
      }
    }
    assert.ok(http, "the router logged its HTTP address");
    const response = await fetch(`http://${http}/healthz`);
    assert.equal(response.status, 200);
    child.kill("SIGTERM");
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(code, 0);
  } finally {
    child.kill("SIGKILL");
  }
});

/** Runs the router process to its exit (for flags that answer without starting). */
async function runRouter(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

test("router process - --help lists every flag with its description and default; -h and --version answer too", async () => {
  const help = await runRouter(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: sigmaserve router \(--nats URL \| --workers host:port,\.\.\. \| --k8s-worker-service NAME\) \[options\]$/m);
  assert.match(help.stdout, /^ {2}--policy NAME +routing policy: .*kv_aware.* \(default: kv_aware\)$/m);
  assert.match(help.stdout, /^ {2}--max-in-flight N +requests running at once; more wait in the queue \(default: 256\)$/m);
  assert.match(help.stdout, /^ {2}--autoscale-up-kv-usage RATIO +scale up when the fullest K or V pool reaches this usage \(default: 0\.85\)$/m);
  assert.match(help.stdout, /^ {2}--log-level LEVEL +fatal \| error \| warn \| info \| debug \| trace \| silent \(default: \$SIGMASERVE_LOG_LEVEL, else info\)/m);
  const flags = [...help.stdout.matchAll(/^ {2}--([a-z0-9-]+)/gm)].map((m) => m[1]);
  assert.ok(flags.length >= 37, `every flag is listed (${flags.length})`);
  assert.deepEqual(await runRouter(["-h"]), help);
  const version = await runRouter(["--version"]);
  assert.deepEqual([version.code, version.stdout], [0, "sigmaserve router 0.1.0\n"]);
});

/** A port free right now on loopback. */
async function freePort(): Promise<{ port: number; hold: Server }> {
  const hold = createServer();
  await new Promise<void>((resolve) => hold.listen(0, "127.0.0.1", resolve));
  return { port: (hold.address() as { port: number }).port, hold };
}

test("router process - --log-level: a bad level exits 2 in one line, warn hides the info lines; a taken port exits 1 in one line", async () => {
  const bad = await runRouter(["--workers", "127.0.0.1:1", "--log-level", "loud"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, `sigmaserve router: --log-level must be one of fatal, error, warn, info, debug, trace, silent, got "loud" (see "sigmaserve router --help")\n`);

  const taken = await freePort();
  try {
    const busy = await runRouter(["--workers", "127.0.0.1:1", "--http-port", String(taken.port)]);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, new RegExp(`^sigmaserve router: .*EADDRINUSE.*${taken.port}.*\\n$`));
    assert.doesNotMatch(busy.stderr, /\n\s+at /, "no stack trace");
  } finally {
    taken.hold.close();
  }

  const { port, hold } = await freePort();
  hold.close();
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "--workers", "127.0.0.1:1", "--http-port", String(port), "--log-level=warn"], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  try {
    // Without info lines the router does not announce itself: /healthz says when it is up.
    // Generous: loading under tsx while the whole suite runs on 2 cores has taken more than 10 s.
    const deadlineMs = Date.now() + 90_000;
    while ((await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0)) !== 200) {
      assert.ok(Date.now() < deadlineMs, "the router came up");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill("SIGTERM");
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(code, 0);
    assert.equal(stdout, "", "nothing below warn");
  } finally {
    child.kill("SIGKILL");
  }
});

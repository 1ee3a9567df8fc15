/**
 * The router as a real process: it refuses to start without a way to find
 * workers (exit 2 naming the flags), and with a static list it logs its
 * addresses, answers /healthz and stops with exit 0 on SIGTERM.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
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

/**
 * What the chart asks of the processes exists in them: every flag and SIGMASERVE_* variable it renders is
 * one the router's, the worker's or `sigmaserve drain`'s parser knows (read from their sources, so no build
 * is needed and a renamed flag fails here, not in a pod), and the scripts it runs inline (the wait for
 * NATS, the helm test) do what they say against stand-in servers.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { DEPLOY_DIR, find, NAMES, podSpec, render, VALUES_FILES } from "./testing/helm.js";

const ROOT = join(DEPLOY_DIR, "..");

/** The keys of `const FLAGS = { ... } as const` in a config module: the flags its parser accepts. */
function configFlags(path: string): Set<string> {
  const source = readFileSync(join(ROOT, path), "utf8");
  const block = /const FLAGS = \{([\s\S]*?)\} as const;/.exec(source);
  assert.ok(block !== null, `${path}: no FLAGS table`);
  return new Set([...block[1]!.matchAll(/^\s*(?:"([\w-]+)"|([\w]+)):/gm)].map((m) => m[1] ?? m[2]!));
}

const ROUTER_FLAGS = configFlags("packages/router-runtime/src/config/router-config.ts");
const WORKER_FLAGS = configFlags("packages/worker-runtime/src/config/worker-config.ts");
/** `sigmaserve drain`'s flags, from the flag table of its command definition (plus --help and --version, which every command takes). */
const DRAIN_FLAGS = new Set([
  ...[...(/^ {2}flags: \{\n([\s\S]*?)\n {2}\},$/m.exec(readFileSync(join(ROOT, "apps/cli/src/commands/drain.ts"), "utf8"))?.[1] ?? "").matchAll(/^\s*"?([\w-]+)"?: \{ type:/gm)].map((m) => m[1]!),
  "help",
  "version",
]);

/** The --flags of an argument list. */
const flagsOf = (args: string[]): string[] => args.filter((a) => a.startsWith("--")).map((a) => a.slice(2).split("=")[0]!);
/** SIGMASERVE_<APP>_X variables → the flag x (dashes for underscores, lower case). */
const envFlags = (env: { name: string }[], app: string): string[] =>
  env.filter((e) => e.name.startsWith(`SIGMASERVE_${app}_`)).map((e) => e.name.slice(`SIGMASERVE_${app}_`.length).toLowerCase().replaceAll("_", "-"));

test("processes - every flag and SIGMASERVE_* variable the chart renders is one the router, the worker and sigmaserve drain accept", async () => {
  assert.ok(ROUTER_FLAGS.has("nats") && ROUTER_FLAGS.size > 15, "router flags read");
  assert.ok(WORKER_FLAGS.has("drain-migrate") && WORKER_FLAGS.size > 15, "worker flags read");
  assert.deepEqual([...DRAIN_FLAGS].sort(), ["address", "grace-ms", "help", "migrate", "tls-ca", "tls-cert", "tls-key", "tls-server-name", "version", "wait-s"]);
  const sets: [string[], string[]][] = [...VALUES_FILES.map((f): [string[], string[]] => [[f], []]), [[], ["router.workerDiscovery=endpointSlices"]]];
  for (const [files, set] of sets) {
    const objects = await render(files, set);
    const router = podSpec(find(objects, "Deployment", NAMES.router)).containers[0];
    const worker = podSpec(find(objects, "Deployment", NAMES.worker)).containers[0];
    const where = [...files, ...set].join(" ") || "defaults";
    assert.deepEqual(flagsOf(router.args).filter((f) => !ROUTER_FLAGS.has(f)), [], `${where}: router flags`);
    assert.deepEqual(envFlags(router.env, "ROUTER").filter((f) => !ROUTER_FLAGS.has(f)), [], `${where}: router variables`);
    assert.deepEqual(flagsOf(worker.args).filter((f) => !WORKER_FLAGS.has(f)), [], `${where}: worker flags`);
    assert.deepEqual(envFlags(worker.env, "WORKER").filter((f) => !WORKER_FLAGS.has(f)), [], `${where}: worker variables`);
    assert.deepEqual(flagsOf(worker.lifecycle.preStop.exec.command).filter((f) => !DRAIN_FLAGS.has(f)), [], `${where}: drain flags`);
  }
});

/** Runs a container's command with node (its first word), this env, and a time limit. */
function runContainer(command: string[], env: Record<string, string>, timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  assert.equal(command[0], "node");
  return new Promise((resolve) => {
    execFile(process.execPath, command.slice(1), { env: { PATH: process.env.PATH ?? "", ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr });
    });
  });
}

test("processes - the wait-for-nats init container retries until NATS accepts a connection, then exits 0", async () => {
  const init = podSpec(find(await render([]), "Deployment", NAMES.worker)).initContainers[0];
  // Find a free port, leave it closed for a while, then listen on it.
  const probe = createTcpServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const nats = createTcpServer((socket) => socket.end());
  // NOTE: another test may hold the free port for a moment (its own free-port probe): listening is retried
  // until it is ours again, rather than failing on a port this test never owned.
  const opened = new Promise<void>((resolve) => {
    const listen = (): void => void nats.listen(port, "127.0.0.1", resolve);
    nats.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EADDRINUSE") throw err;
      setTimeout(listen, 100);
    });
    setTimeout(listen, 1000);
  });
  try {
    const result = await runContainer(init.command, { NATS_HOST: "127.0.0.1", NATS_PORT: String(port) }, 20_000);
    await opened;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`waiting for NATS at 127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`));
  } finally {
    await opened;
    await new Promise<void>((resolve) => nats.close(() => resolve()));
  }
});

test("processes - the helm test pod waits for /readyz, then passes on a chat completion with the first API key, and fails on an error", async () => {
  const pod = find(await render(["ci/router-autoscaler-values.yaml"]), "Pod", NAMES.test);
  const container = pod.spec.containers[0];
  const seen: string[] = [];
  let readyAfter = 1;
  let answer: { status: number; body: unknown } = { status: 200, body: { choices: [{ message: { role: "assistant", content: "hi" } }], usage: { completion_tokens: 8 } } };
  const router = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? "-"}`);
    const send = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.url === "/readyz") return send(readyAfter-- > 0 ? 503 : 200, {});
    if (req.url === "/v1/models") return send(200, { data: [{ id: "sigma-tiny" }] });
    req.resume().on("end", () => send(answer.status, answer.body));
  });
  await new Promise<void>((resolve) => router.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(router.address() as { port: number }).port}`;
  const env = { ROUTER_URL: url, SIGMASERVE_ROUTER_API_KEYS: "sk-tenant-a=tenant-a,sk-tenant-b=tenant-b" };
  try {
    const ok = await runContainer(container.command, env, 30_000);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /ok: sigma-tiny answered with 8 tokens/);
    assert.deepEqual(seen, ["GET /readyz -", "GET /readyz -", "GET /v1/models Bearer sk-tenant-a", "POST /v1/chat/completions Bearer sk-tenant-a"]);

    answer = { status: 503, body: { error: { message: "no worker" } } };
    const failed = await runContainer(container.command, env, 30_000);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /chat completion failed: 503/);
  } finally {
    await new Promise<void>((resolve) => router.close(() => resolve()));
  }
});

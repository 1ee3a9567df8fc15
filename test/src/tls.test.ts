/**
 * TLS on every hop, on real processes: a router and two workers with mutual
 * TLS (certificates from testkit's openssl PKI, all from one CA), over a real
 * nats-server. The SDK and HTTPS complete requests through the router; a
 * caller that reaches a worker's port without a certificate from the
 * cluster's CA is refused at the handshake (the regression: anyone who
 * reached a worker port could read another tenant's blocks with ExportKv);
 * and a drain with migration moves KV from worker to worker over mTLS.
 * The plaintext health-only ports (--health-port) answer probes meanwhile.
 * Last, a router's HTTPS certificate is rotated on disk and taken without a
 * restart.
 */
import { createClient, type SigmaserveClient } from "@sigmaserve/client";
import { createGrpcClient, GrpcStatusError, PemFileCertificateProvider, pemChannelSecurity, workerv1, type ClientOptions } from "@sigmaserve/proto";
import { createTestPki, type TestCertFiles, type TestPki } from "@sigmaserve/testkit";
import { credentials, makeGenericClientConstructor, status, type Client, type ServiceError } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, readFileSync, renameSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { entry, startCluster, type Cluster } from "./cluster.js";

const CLI = join(dirname(createRequire(import.meta.url).resolve("@sigmaserve/cli/package.json")), "dist", "main.js");
const BLOCK = 16;
const PREFIX = 64; // 4 blocks
const prompt = Array.from({ length: PREFIX + 3 }, (_, i) => (i * 31 + 7) % 256);

let pki: TestPki;
let cluster: Cluster;
let client: SigmaserveClient;

const tlsFlags = (prefix: string, pair: TestCertFiles, ca: string, caFlag = `${prefix}tls-ca`) => [`--${prefix}tls-cert`, pair.cert, `--${prefix}tls-key`, pair.key, `--${caFlag}`, ca];

async function waitForWorkers(count: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (((await client.listModels().catch(() => []))[0]?.readyWorkers ?? 0) === count) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the router never saw ${count} ready workers`);
}

/** GET `path` over HTTPS on a new connection (no keep-alive: each call shows the certificate served now); the status or the error's code. */
function httpsGet(address: string, path: string, ca: string, identity?: TestCertFiles): Promise<number | string> {
  const at = address.lastIndexOf(":");
  return new Promise((resolve) => {
    const req = httpsRequest(
      { host: address.slice(0, at), port: Number(address.slice(at + 1)), path, agent: false, ca: readFileSync(ca), ...(identity === undefined ? {} : { cert: readFileSync(identity.cert), key: readFileSync(identity.key) }) },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}

/** GetInfo on worker `index` with `options`: "ok" or the status code it failed with. */
async function getInfo(index: number, options: ClientOptions): Promise<"ok" | number> {
  const worker = createGrpcClient(workerv1.WorkerService, cluster.workerAddress(index), options);
  try {
    await worker.getInfo({}, { timeoutMs: 5_000 });
    return "ok";
  } catch (err) {
    if (!(err instanceof GrpcStatusError)) throw err;
    return err.code;
  } finally {
    worker.close();
  }
}

/** GetInfo presenting `identity` (or nothing) and trusting the cluster's CA. */
async function getInfoAs(index: number, identity: TestCertFiles | undefined): Promise<"ok" | number> {
  const provider = new PemFileCertificateProvider({
    ca: { path: pki.ca.cert, flag: "ca" },
    ...(identity === undefined ? {} : { cert: { path: identity.cert, flag: "cert" }, key: { path: identity.key, flag: "key" } }),
  });
  try {
    return await getInfo(index, pemChannelSecurity(provider));
  } finally {
    provider.close();
  }
}

describe("tls", () => {
  before(async () => {
    pki = await createTestPki();
    cluster = await startCluster({
      workers: 2,
      workerFlags: ["--block-size", String(BLOCK), "--health-port", "0", ...tlsFlags("", pki.server, pki.ca.cert)],
      routerFlags: ["--health-port", "0", ...tlsFlags("", pki.server, pki.ca.cert, "tls-client-ca"), ...tlsFlags("worker-", pki.client, pki.ca.cert)],
    });
    client = createClient({ address: cluster.grpcAddress, tls: { ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) } });
    await waitForWorkers(2);
  });
  after(async () => {
    client?.close();
    await cluster?.stop();
    await pki?.remove();
  });

  test("tls - the SDK completes a request through the router over mutual TLS, and the router reaches its workers over mutual TLS", async () => {
    assert.equal(cluster.router.ready["tls"], "mtls");
    assert.equal(cluster.router.ready["workerTls"], true);
    const completion = await client.complete({ model: "sigma-tiny", prompt: "over tls", maxTokens: 4, ignoreEos: true });
    assert.equal(completion.finishReason, "length");
    assert.equal(completion.tokenIds.length, 4);
  });

  test("tls - HTTPS /v1/completions answers a client that trusts the CA and presents a cluster certificate", async () => {
    const body = JSON.stringify({ model: "sigma-tiny", prompt: "over https", max_tokens: 3, ignore_eos: true });
    const [host, port] = [cluster.httpAddress.slice(0, cluster.httpAddress.lastIndexOf(":")), Number(cluster.httpAddress.slice(cluster.httpAddress.lastIndexOf(":") + 1))];
    const { statusCode, json } = await new Promise<{ statusCode: number; json: { choices: { finish_reason: string }[]; usage: { completion_tokens: number } } }>((resolve, reject) => {
      const req = httpsRequest(
        { host, port, method: "POST", path: "/v1/completions", headers: { "content-type": "application/json" }, ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => resolve({ statusCode: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString("utf8")) }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    assert.equal(statusCode, 200);
    assert.equal(json.choices[0]!.finish_reason, "length");
    assert.equal(json.usage.completion_tokens, 3);
  });

  test("tls - a worker's port refuses callers without a certificate from the cluster's CA (UNAVAILABLE at the handshake), so ExportKv is out of their reach", async () => {
    assert.equal(await getInfo(0, {}), status.UNAVAILABLE, "plaintext");
    assert.equal(await getInfoAs(0, undefined), status.UNAVAILABLE, "TLS without a client certificate");
    assert.equal(await getInfoAs(0, pki.stranger), status.UNAVAILABLE, "a certificate from a stranger CA");
    assert.equal(await getInfoAs(0, pki.client), "ok", "a certificate from the cluster's CA");
    assert.equal(await getInfo(0, { credentials: credentials.createSsl(readFileSync(pki.ca.cert)) }), status.UNAVAILABLE, "grpc-js's own TLS, no certificate");
  });

  test("tls - the plaintext health-only ports answer gRPC health (a Kubernetes probe's call) with the main ports' status, and serve nothing else", async () => {
    // grpc.health.v1.Health/Check by hand (HealthCheckRequest{service = 1}, HealthCheckResponse{status = 1}), as a probe sends it.
    const Health = makeGenericClientConstructor(
      {
        check: {
          path: "/grpc.health.v1.Health/Check",
          requestStream: false,
          responseStream: false,
          requestSerialize: (service: string) => Buffer.concat([Buffer.from([0x0a, Buffer.byteLength(service)]), Buffer.from(service)]),
          requestDeserialize: (b: Buffer) => b.toString(),
          responseSerialize: (s: number) => Buffer.from([0x08, s]),
          responseDeserialize: (b: Buffer) => (b.length === 0 ? 0 : b[1]!),
        },
      },
      "Health",
    );
    const check = (address: string, service: string): Promise<string | number> => {
      const health = new Health(address, credentials.createInsecure()) as unknown as Client & { check(s: string, o: object, cb: (err: ServiceError | null, status?: number) => void): void };
      return new Promise<string | number>((resolve) =>
        health.check(service, { deadline: Date.now() + 5_000 }, (err, code) => {
          health.close();
          resolve(err ? err.code : (["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"][code!] ?? code!));
        }),
      );
    };
    const routerHealth = cluster.router.ready["health"] as string;
    const workerHealth = cluster.workers[0]!.ready["health"] as string;
    assert.equal(await check(routerHealth, "liveness"), "SERVING");
    assert.equal(await check(routerHealth, ""), "SERVING", "ready: the router has routable workers");
    assert.equal(await check(workerHealth, ""), "SERVING");
    assert.equal(await check(workerHealth, "sigmaserve.worker.v1.WorkerService"), "SERVING");
    // The main ports, in plaintext, are refused at the handshake; the health ports serve nothing but health.
    assert.equal(await check(cluster.workerAddress(0), ""), status.UNAVAILABLE);
    assert.equal(await check(cluster.grpcAddress, "liveness"), status.UNAVAILABLE);
    const worker = createGrpcClient(workerv1.WorkerService, workerHealth);
    try {
      await assert.rejects(worker.getInfo({}, { timeoutMs: 5_000 }), (err: unknown) => err instanceof GrpcStatusError && err.code === status.UNIMPLEMENTED);
    } finally {
      worker.close();
    }
  });

  test("tls - a drain with migration moves the drained worker's hot prefix to its peer over mutual TLS: the prefix is a cache hit there", async () => {
    const first = await client.complete({ model: "sigma-tiny", prompt, maxTokens: 1 });
    assert.equal(first.finishReason, "length");
    // The worker that holds the prefix: the one whose KV holds blocks.
    const loads = await Promise.all([0, 1].map(async (i) => {
      const provider = new PemFileCertificateProvider({ ca: { path: pki.ca.cert, flag: "ca" }, cert: { path: pki.client.cert, flag: "cert" }, key: { path: pki.client.key, flag: "key" } });
      const worker = createGrpcClient(workerv1.WorkerService, cluster.workerAddress(i), pemChannelSecurity(provider));
      try {
        return (await worker.getLoad({}, { timeoutMs: 5_000 })).load!;
      } finally {
        worker.close();
        provider.close();
      }
    }));
    const cached = (i: number) => loads[i]!.kvUsage.reduce((sum, u) => sum + u.usedBlocks + u.cachedFreeBlocks, 0);
    const holder = cached(0) >= cached(1) ? 0 : 1;
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, "drain", cluster.workerAddress(holder), "--migrate", "--wait-s", "60", ...tlsFlags("", pki.client, pki.ca.cert)]);
    assert.match(stdout, new RegExp(`^w${holder}: draining, migrating to its peers`));
    let report: Record<string, unknown> | undefined;
    for (let i = 0; i < 200 && report === undefined; i++) {
      report = cluster.workers[holder]!.logs.find((l) => l["msg"] === "drain migrated this worker's requests and hot prefixes");
      if (report === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(report !== undefined, "the drained worker reported its migration");
    assert.equal(report["failures"], 0);
    assert.ok((report["chainBlocksImported"] as number) >= PREFIX / BLOCK, JSON.stringify(report));
    await waitForWorkers(1);
    const again = await client.complete({ model: "sigma-tiny", prompt, maxTokens: 1 });
    assert.ok(again.usage.cachedPromptTokens >= PREFIX, `${again.usage.cachedPromptTokens} cached prompt tokens on the peer`);
  });
});

test("tls - a router's HTTPS certificate rotated on disk is taken without a restart: new connections trusting only the new CA succeed, those trusting only the old one fail", async () => {
  const rotation = await createTestPki();
  copyFileSync(rotation.server.cert, join(rotation.dir, "live.crt"));
  copyFileSync(rotation.server.key, join(rotation.dir, "live.key"));
  const router = spawn(process.execPath, [entry("@sigmaserve/router"), "--workers", "127.0.0.1:1", "--tls-cert", join(rotation.dir, "live.crt"), "--tls-key", join(rotation.dir, "live.key"), "--tls-refresh-s", "0.05"], { stdio: ["ignore", "pipe", "inherit"] });
  const messages: string[] = [];
  const lines = createInterface({ input: router.stdout! });
  let ready!: (address: string) => void;
  const listening = new Promise<string>((resolve) => (ready = resolve));
  let reread!: () => void;
  const rotated = new Promise<void>((resolve) => (reread = resolve));
  lines.on("line", (line) => {
    const entry = JSON.parse(line) as { msg: string; http?: string };
    messages.push(entry.msg);
    if (entry.msg === "router listening") ready(entry.http!);
    if (entry.msg === "TLS files re-read: new connections use the new certificate") reread();
  });
  try {
    const address = await Promise.race([listening, once(router, "exit").then(() => Promise.reject(new Error(`the router exited: ${messages.join("; ")}`)))]);
    assert.equal(await httpsGet(address, "/healthz", rotation.ca.cert), 200);
    assert.equal(await httpsGet(address, "/healthz", rotation.strangerCa.cert), "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    // The stranger's certificate (127.0.0.1, localhost) becomes the router's: each file replaced in one rename.
    copyFileSync(rotation.stranger.key, join(rotation.dir, "next.key"));
    copyFileSync(rotation.stranger.cert, join(rotation.dir, "next.crt"));
    renameSync(join(rotation.dir, "next.key"), join(rotation.dir, "live.key"));
    renameSync(join(rotation.dir, "next.crt"), join(rotation.dir, "live.crt"));
    await rotated;
    assert.equal(await httpsGet(address, "/healthz", rotation.strangerCa.cert), 200);
    assert.equal(await httpsGet(address, "/healthz", rotation.ca.cert), "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  } finally {
    if (router.exitCode === null) {
      const exited = once(router, "exit");
      router.kill("SIGKILL");
      await exited;
    }
    await rotation.remove();
  }
});

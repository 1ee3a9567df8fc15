/**
 * Worker and router processes against locked-down nats-servers: the users and
 * permissions of infra/nats/sigmaserve-authorization.conf (included as is),
 * passwords from files, TLS with client certificates. And the ways start-up
 * must fail: wrong credentials, a server without JetStream, a cert without
 * its key. Each failure is one line on stderr and a non-zero exit, no stack.
 */
import { createTestPki, startNatsServer, type TestPki } from "@sigmaserve/testkit";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { entry, startCluster } from "./cluster.js";

const AUTHORIZATION_CONF = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "infra", "nats", "sigmaserve-authorization.conf");
const PASSWORDS = { NATS_WORKER_PASSWORD: "worker-secret-1", NATS_ROUTER_PASSWORD: "router-secret-1" };
const includeAuthorization = (configDir: string) => [`include ${JSON.stringify(relative(configDir, AUTHORIZATION_CONF))}`];

let dir: string;
let pki: TestPki;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "sigmaserve-nats-security-e2e-"));
  await writeFile(join(dir, "worker-password"), `${PASSWORDS.NATS_WORKER_PASSWORD}\n`);
  await writeFile(join(dir, "router-password"), `${PASSWORDS.NATS_ROUTER_PASSWORD}\n`);
  await writeFile(join(dir, "wrong-password"), "not-the-password\n");
  pki = await createTestPki();
});
after(async () => {
  await pki.remove();
  await rm(dir, { recursive: true, force: true });
});

/** Runs an app to its exit; resolves with the exit code and stderr. */
async function runToExit(pkg: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [entry(pkg), ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stderr };
}

test("nats security - a worker and a router over NATS TLS with client certs, as the deployment's worker and router users, passwords from files: a request is served", async () => {
  const nats = await startNatsServer({
    env: PASSWORDS,
    extraLines: (configDir) => [
      ...includeAuthorization(configDir),
      `tls { cert_file: ${JSON.stringify(pki.server.cert)}, key_file: ${JSON.stringify(pki.server.key)}, ca_file: ${JSON.stringify(pki.ca.cert)}, verify: true }`,
    ],
  });
  const tls = ["--nats-tls-ca", pki.ca.cert, "--nats-tls-cert", pki.client.cert, "--nats-tls-key", pki.client.key];
  const cluster = await startCluster({
    workers: 1,
    natsUrl: nats.url,
    workerFlags: ["--nats-user", "worker", "--nats-password-file", join(dir, "worker-password"), ...tls],
    routerFlags: ["--nats-user", "router", "--nats-password-file", join(dir, "router-password"), ...tls],
  });
  try {
    // The router learns of the worker from the registry (over TLS, as the router user): retry until it has.
    let response: Response;
    do {
      response = await fetch(`http://${cluster.httpAddress}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "sigma-tiny", prompt: "Hello over TLS", max_tokens: 4, temperature: 0 }),
      });
      if (response.status === 503) await new Promise((resolve) => setTimeout(resolve, 50));
    } while (response.status === 503);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { choices: { text: string }[]; usage: { completion_tokens: number } };
    assert.equal(body.choices.length, 1);
    assert.ok(body.usage.completion_tokens >= 1);
  } finally {
    await cluster.stop();
    await nats.stop();
  }
});

test("nats security - a worker with the wrong password exits 1 with one line that says the server refused the credentials", async () => {
  const nats = await startNatsServer({ env: PASSWORDS, extraLines: includeAuthorization });
  try {
    const { code, stderr } = await runToExit("@sigmaserve/worker", ["--preset", "sigma-tiny", "--port", "0", "--worker-id", "wrong", "--nats", nats.url, "--nats-user", "worker", "--nats-password-file", join(dir, "wrong-password")]);
    assert.equal(code, 1);
    assert.equal(stderr, `sigmaserve worker: cannot connect to NATS at ${nats.url}: the server refused the credentials (Authorization Violation)\n`);
  } finally {
    await nats.stop();
  }
});

test("nats security - a worker and a router against a nats-server without JetStream exit 1 with one line that says how to turn it on", async () => {
  const nats = await startNatsServer({ jetstream: false });
  try {
    const message = `nats-server at ${nats.url} has JetStream disabled; start it with -js / jetstream {} in its config`;
    const worker = await runToExit("@sigmaserve/worker", ["--preset", "sigma-tiny", "--port", "0", "--worker-id", "nojs", "--nats", nats.url]);
    assert.equal(worker.code, 1);
    assert.equal(worker.stderr, `sigmaserve worker: ${message}\n`);
    const router = await runToExit("@sigmaserve/router", ["--nats", nats.url]);
    assert.equal(router.code, 1);
    assert.equal(router.stderr, `sigmaserve router: ${message}\n`);
  } finally {
    await nats.stop();
  }
});

test("nats security - a client cert without its key, or two kinds of credentials, is a usage error naming the flag (exit 2)", async () => {
  const certOnly = await runToExit("@sigmaserve/worker", ["--nats", "nats://127.0.0.1:1", "--nats-tls-cert", pki.client.cert]);
  assert.equal(certOnly.code, 2);
  assert.equal(certOnly.stderr, 'sigmaserve worker: --nats-tls-cert: needs --nats-tls-key (see "sigmaserve worker --help")\n');
  const twoKinds = await runToExit("@sigmaserve/router", ["--nats", "nats://127.0.0.1:1", "--nats-token-file", "t", "--nats-user", "router", "--nats-password-file", "p"]);
  assert.equal(twoKinds.code, 2);
  assert.equal(twoKinds.stderr, 'sigmaserve router: --nats-token-file: cannot be combined with --nats-user: give one kind of NATS credentials (see "sigmaserve router --help")\n');
});

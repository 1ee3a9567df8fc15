/**
 * The worker's TLS flags fail closed: its TLS is always mutual, so the three
 * files come together or not at all (refused when the flags are parsed), and
 * a file that cannot be used stops the start-up, each with a message naming
 * the flag. (Handshakes and migration over mTLS run on real processes in
 * test/src/tls.test.ts.)
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import { WorkerConfigError } from "../errors.js";
import { loadWorkerConfig } from "./worker-config.js";
import { openWorkerTls } from "./worker-tls.js";

const load = (...argv: string[]) => loadWorkerConfig(argv, {});

test("worker tls - plaintext by default; anything short of --tls-cert, --tls-key and --tls-ca together is refused naming the flag", () => {
  assert.equal(openWorkerTls(load(), pino({ level: "silent" })), undefined);
  const refused = (argv: string[], message: string) =>
    assert.throws(() => load(...argv), (err: unknown) => err instanceof WorkerConfigError && err.message === message, `${argv.join(" ")} → ${message}`);
  refused(["--tls-cert", "c.pem", "--tls-ca", "ca.pem"], "--tls-cert: needs --tls-key (the certificate's private key)");
  // Every broken rule is named, not only the first.
  refused(["--tls-key", "k.pem", "--tls-ca", "ca.pem"], "--tls-key: needs --tls-cert (the key's certificate); --tls-ca: needs --tls-cert and --tls-key (the worker's own certificate, served and presented to peers)");
  refused(["--tls-cert", "c.pem", "--tls-key", "k.pem"], "--tls-cert: needs --tls-ca: a worker's TLS is always mutual (the CA that signs the router's and peers' certificates)");
  refused(["--tls-ca", "ca.pem"], "--tls-ca: needs --tls-cert and --tls-key (the worker's own certificate, served and presented to peers)");
  refused(["--peer-tls-server-name", "worker"], "--peer-tls-server-name: only with --tls-ca, --tls-cert and --tls-key");
});

test("worker tls - a file that cannot be used stops the start-up with WorkerConfigError naming its flag", async () => {
  const dir = await mkdtemp(join(tmpdir(), "sigmaserve-worker-tls-"));
  try {
    const notPem = join(dir, "not.pem");
    await writeFile(notPem, "not a certificate\n");
    const refused = (argv: string[], message: string) =>
      assert.throws(() => openWorkerTls(load(...argv), pino({ level: "silent" })), (err: unknown) => err instanceof WorkerConfigError && err.message === message, message);
    refused(["--tls-cert", notPem, "--tls-key", notPem, "--tls-ca", join(dir, "missing.pem")], `--tls-ca: cannot read ${join(dir, "missing.pem")}: no such file`);
    refused(["--tls-cert", notPem, "--tls-key", notPem, "--tls-ca", notPem], `--tls-cert: ${notPem} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

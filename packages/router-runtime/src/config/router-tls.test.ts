/**
 * The router's TLS flags fail closed: half a configuration is refused when
 * the flags are parsed, and a file that cannot be used when TLS is opened at
 * start-up, each with a message naming the flag. (Handshakes, HTTPS and
 * rotation run on real processes in test/src/tls.test.ts.)
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import { RouterConfigError } from "../errors.js";
import { loadRouterConfig } from "./router-config.js";
import { openRouterTls } from "./router-tls.js";

const load = (...argv: string[]) => loadRouterConfig(["--workers", "127.0.0.1:1", ...argv], {});

test("router tls - plaintext by default; a half-given TLS configuration is refused with the flag it lacks", () => {
  const plain = load();
  assert.equal(plain.tlsCert, undefined);
  assert.equal(plain.workerTlsCa, undefined);
  assert.equal(plain.tlsRefreshS, 60);
  const refused = (argv: string[], message: string) =>
    assert.throws(() => load(...argv), (err: unknown) => err instanceof RouterConfigError && err.message === message, `${argv.join(" ")} → ${message}`);
  refused(["--tls-cert", "c.pem"], "--tls-cert: needs --tls-key (the certificate's private key)");
  refused(["--tls-key", "k.pem"], "--tls-key: needs --tls-cert (the key's certificate)");
  refused(["--tls-client-ca", "ca.pem"], "--tls-client-ca: client certificates are checked only over TLS: give --tls-cert and --tls-key too");
  refused(["--worker-tls-cert", "c.pem", "--worker-tls-key", "k.pem"], "--worker-tls-cert: a client identity for the workers needs --worker-tls-ca (the CA their certificates are checked against)");
  refused(["--worker-tls-ca", "ca.pem"], "--worker-tls-ca: workers with TLS require a client certificate (mutual TLS): give --worker-tls-cert and --worker-tls-key too");
  refused(["--worker-tls-ca", "ca.pem", "--worker-tls-cert", "c.pem"], "--worker-tls-cert: needs --worker-tls-key (the certificate's private key)");
  refused(["--worker-tls-server-name", "worker"], "--worker-tls-server-name: only with --worker-tls-ca (TLS to the workers)");
  refused(["--tls-refresh-s", "0"], "--tls-refresh-s: Too small: expected number to be >0");
  // Variables count as flags.
  assert.throws(() => loadRouterConfig(["--workers", "127.0.0.1:1"], { SIGMASERVE_ROUTER_TLS_CERT: "c.pem" }), { message: "--tls-cert: needs --tls-key (the certificate's private key)" });
});

test("router tls - a file that cannot be used stops the start-up with RouterConfigError naming its flag", async () => {
  const dir = await mkdtemp(join(tmpdir(), "sigmaserve-router-tls-"));
  try {
    const notPem = join(dir, "not.pem");
    await writeFile(notPem, "not a certificate\n");
    const logger = pino({ level: "silent" });
    const refused = (argv: string[], message: string) =>
      assert.throws(() => openRouterTls(load(...argv), logger), (err: unknown) => err instanceof RouterConfigError && err.message === message, message);
    refused(["--tls-cert", join(dir, "missing.pem"), "--tls-key", notPem], `--tls-cert: cannot read ${join(dir, "missing.pem")}: no such file`);
    refused(["--tls-cert", notPem, "--tls-key", notPem], `--tls-cert: ${notPem} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    // Every file is read before any is checked: the one that cannot be read is named first.
    refused(["--worker-tls-ca", dir, "--worker-tls-cert", notPem, "--worker-tls-key", notPem], `--worker-tls-ca: cannot read ${dir}: is a folder`);
    refused(["--worker-tls-ca", notPem, "--worker-tls-cert", notPem, "--worker-tls-key", join(dir, "nope")], `--worker-tls-key: cannot read ${join(dir, "nope")}: no such file`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/**
 * TLS from PEM files, end to end over a real grpc-js server on 127.0.0.1:
 * mutual TLS admits our clients and refuses the others, bad files fail
 * closed with the flag's name, and a rotation on disk is picked up by new
 * connections without a restart. Certificates come from testkit's openssl PKI.
 */
import { status } from "@grpc/grpc-js";
import { createTestPki, type TestCertFiles, type TestPki } from "@sigmaserve/testkit";
import assert from "node:assert/strict";
import { copyFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { EchoService } from "../../gen/sigmaserve/testing/v1/echo_pb.js";
import { createGrpcClient } from "../create-client.js";
import { GrpcStatusError } from "../grpc-status-error.js";
import { startEchoServer, type EchoServerHandle } from "../testing/echo-server.js";
import { pemChannelSecurity } from "./pem-channel-security.js";
import { PemFileCertificateProvider, type PemFileCertificateProviderOptions } from "./pem-file-certificate-provider.js";
import { pemServerCredentials } from "./pem-server-credentials.js";
import { TlsConfigError } from "./tls-config-error.js";

let pki: TestPki;
before(async () => {
  pki = await createTestPki();
});
after(async () => {
  await pki.remove();
});

const serverFiles = (pair: TestCertFiles, ca?: string): PemFileCertificateProviderOptions => ({
  cert: { path: pair.cert, flag: "--tls-cert" },
  key: { path: pair.key, flag: "--tls-key" },
  ...(ca === undefined ? {} : { ca: { path: ca, flag: "--tls-ca" } }),
});

/** Runs `body` with a server using `files`; everything it opened is closed after. */
async function withServer(options: PemFileCertificateProviderOptions, body: (server: EchoServerHandle, provider: PemFileCertificateProvider) => Promise<void>): Promise<void> {
  const provider = new PemFileCertificateProvider(options);
  const server = await startEchoServer({ credentials: pemServerCredentials(provider) });
  try {
    await body(server, provider);
  } finally {
    server.server.forceShutdown();
    provider.close();
  }
}

/** One Echo call from a client trusting `ca`, presenting `identity` if given; resolves "ok" or the status code. */
async function echoFrom(address: string, ca: string, identity?: TestCertFiles): Promise<"ok" | number> {
  const provider = new PemFileCertificateProvider({
    ca: { path: ca, flag: "--ca" },
    ...(identity === undefined ? {} : { cert: { path: identity.cert, flag: "--cert" }, key: { path: identity.key, flag: "--key" } }),
  });
  const client = createGrpcClient(EchoService, address, pemChannelSecurity(provider));
  try {
    await client.echo({ payload: new Uint8Array([1, 2, 3]) });
    return "ok";
  } catch (err) {
    if (!(err instanceof GrpcStatusError)) throw err;
    return err.code;
  } finally {
    client.close();
    provider.close();
  }
}

test("tls - a client with a certificate from the cluster's CA completes a call over mutual TLS", async () => {
  await withServer(serverFiles(pki.server, pki.ca.cert), async (server) => {
    assert.equal(await echoFrom(server.address, pki.ca.cert, pki.client), "ok");
  });
});

test("tls - an mTLS server refuses a client without a certificate, and one whose certificate a stranger CA signed (UNAVAILABLE)", async () => {
  await withServer(serverFiles(pki.server, pki.ca.cert), async (server) => {
    assert.equal(await echoFrom(server.address, pki.ca.cert), status.UNAVAILABLE);
    assert.equal(await echoFrom(server.address, pki.ca.cert, pki.stranger), status.UNAVAILABLE);
  });
});

test("tls - a client refuses a server whose certificate its CA did not sign", async () => {
  await withServer(serverFiles(pki.stranger), async (server) => {
    assert.equal(await echoFrom(server.address, pki.ca.cert), status.UNAVAILABLE);
    assert.equal(await echoFrom(server.address, pki.strangerCa.cert), "ok");
  });
});

test("tls - a server without a CA serves clients with no certificate (TLS, not mTLS)", async () => {
  await withServer(serverFiles(pki.server), async (server) => {
    assert.equal(await echoFrom(server.address, pki.ca.cert), "ok");
  });
});

test("tls - bad files fail closed when the provider is made, each with a message naming the flag", async () => {
  const missing = join(pki.dir, "missing.pem");
  const notPem = join(pki.dir, "not-pem.txt");
  await writeFile(notPem, "hello\n");
  const cases: [PemFileCertificateProviderOptions, string][] = [
    [{ cert: { path: pki.server.cert, flag: "--tls-cert" } }, "--tls-cert: a certificate needs its private key: give the key too"],
    [{ key: { path: pki.server.key, flag: "--tls-key" }, ca: { path: pki.ca.cert, flag: "--tls-ca" } }, "--tls-key: a private key needs its certificate: give the certificate too"],
    [{}, "tls: give a certificate and key, a CA, or both"],
    [serverFiles({ cert: missing, key: pki.server.key }), `--tls-cert: cannot read ${missing}: no such file`],
    [serverFiles(pki.server, missing), `--tls-ca: cannot read ${missing}: no such file`],
    [serverFiles({ cert: notPem, key: pki.server.key }), `--tls-cert: ${notPem} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`],
    [serverFiles(pki.server, notPem), `--tls-ca: ${notPem} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`],
    [serverFiles({ cert: pki.server.cert, key: pki.client.key }), `--tls-key: the key in ${pki.client.key} does not belong to the certificate in ${pki.server.cert} (--tls-cert)`],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => new PemFileCertificateProvider(options), (err: unknown) => err instanceof TlsConfigError && err.message === message, message);
  }
  const caOnly = new PemFileCertificateProvider({ ca: { path: pki.ca.cert, flag: "--tls-ca" } });
  const identityOnly = new PemFileCertificateProvider(serverFiles(pki.server));
  try {
    assert.throws(() => pemServerCredentials(caOnly), { name: "TlsConfigError", message: "--tls-ca: a TLS server needs a certificate and key, not only a CA" });
    assert.throws(() => pemChannelSecurity(identityOnly), { name: "TlsConfigError", message: "--tls-cert: a TLS client needs a CA to check servers against" });
  } finally {
    caOnly.close();
    identityOnly.close();
  }
});

/** Replaces `target` with a copy of `source` in one rename, as a careful rotation does. */
async function replace(source: string, target: string): Promise<void> {
  await copyFile(source, `${target}.new`);
  await rename(`${target}.new`, target);
}

test("tls - a certificate rotated on disk is served to new connections without a restart: clients trusting only the new CA connect, those trusting only the old one no longer can", async () => {
  const caB = await pki.newCa("rotation-ca-b");
  const serverB = await pki.issue("rotation-server-b", caB);
  const live = { cert: join(pki.dir, "live.crt"), key: join(pki.dir, "live.key") };
  await copyFile(pki.server.cert, live.cert);
  await copyFile(pki.server.key, live.key);
  await withServer({ ...serverFiles(live), refreshIntervalMs: 20 }, async (server, provider) => {
    assert.equal(await echoFrom(server.address, pki.ca.cert), "ok");
    assert.equal(await echoFrom(server.address, caB.cert), status.UNAVAILABLE);
    const changed = new Promise<void>((resolve) => provider.onChange(() => resolve()));
    // Key first, then certificate: between the two the pair does not match, and the old one stays in use.
    await replace(serverB.key, live.key);
    await replace(serverB.cert, live.cert);
    await changed;
    assert.equal(await echoFrom(server.address, caB.cert), "ok");
    assert.equal(await echoFrom(server.address, pki.ca.cert), status.UNAVAILABLE);
  });
});

test("tls - a rotation that leaves a key not matching its certificate keeps the last good pair and reports the problem", async () => {
  const live = { cert: join(pki.dir, "half.crt"), key: join(pki.dir, "half.key") };
  await copyFile(pki.server.cert, live.cert);
  await copyFile(pki.server.key, live.key);
  let reported: TlsConfigError | undefined;
  const provider = new PemFileCertificateProvider({ ...serverFiles(live), refreshIntervalMs: 60_000, onReloadError: (err) => (reported = err) });
  const server = await startEchoServer({ credentials: pemServerCredentials(provider) });
  try {
    await replace(pki.client.key, live.key);
    assert.equal(await provider.refresh(), false);
    assert.equal(reported?.message, `--tls-key: the key in ${live.key} does not belong to the certificate in ${live.cert} (--tls-cert)`);
    assert.equal(await echoFrom(server.address, pki.ca.cert), "ok");
  } finally {
    server.server.forceShutdown();
    provider.close();
  }
});

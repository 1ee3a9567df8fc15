import { ServerCredentials } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createClient } from "./client.js";
import { channelSecurity } from "./credentials.js";
import { SigmaserveError } from "./errors.js";
import { makeTestPki, type TestPki } from "./testing/certs.js";
import { startFakeRouter, type FakeRouter } from "./testing/fake-router.js";

test("tls - `tls: true` uses TLS credentials (system roots), `false` plaintext", () => {
  assert.equal(channelSecurity(true).credentials._isSecure(), true);
  assert.equal(channelSecurity(false).credentials._isSecure(), false);
  assert.deepEqual(channelSecurity({ serverName: "router.example" }).channelOptions, {
    "grpc.ssl_target_name_override": "router.example",
    "grpc.default_authority": "router.example",
  });
});

const pki = makeTestPki();

describe("tls - mTLS against the router test double", { skip: pki === null ? "openssl is not installed; cannot make test certificates" : false }, () => {
  let router: FakeRouter;
  const certs = pki as TestPki;

  before(async () => {
    const credentials = ServerCredentials.createSsl(certs.ca, [{ cert_chain: certs.server.cert, private_key: certs.server.key }], true);
    router = await startFakeRouter({}, { credentials });
  });

  after(() => router.stop());

  test("tls - a client with a CA-signed certificate gets through", async () => {
    const client = createClient({
      address: router.address,
      tls: { ca: certs.ca, cert: certs.client.cert, key: certs.client.key.toString("utf8"), serverName: certs.serverName },
    });
    try {
      assert.deepEqual(await client.tokenize("sigma-tiny", "ok"), { tokenIds: [111, 107], maxContextTokens: 2048 });
    } finally {
      client.close();
    }
  });

  test("tls - a client without a certificate is refused", async () => {
    const before = router.calls.length;
    const client = createClient({ address: router.address, tls: { ca: certs.ca, serverName: certs.serverName }, retry: { maxAttempts: 1 } });
    try {
      const err = await client.tokenize("sigma-tiny", "ok").catch((e: unknown) => e);
      assert.ok(err instanceof SigmaserveError, `got ${String(err)}`);
      assert.equal(router.calls.length, before, "the handler never ran");
    } finally {
      client.close();
    }
  });

  test("tls - a client that does not trust the server's CA is refused", async () => {
    const client = createClient({ address: router.address, tls: { cert: certs.client.cert, key: certs.client.key, serverName: certs.serverName }, retry: { maxAttempts: 1 } });
    try {
      const err = await client.listModels().catch((e: unknown) => e);
      assert.ok(err instanceof SigmaserveError, `got ${String(err)}`);
      assert.equal(err.code, "UNAVAILABLE");
    } finally {
      client.close();
    }
  });
});

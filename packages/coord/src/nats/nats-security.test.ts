/**
 * Credentials and TLS from files, against real nats-servers: the roles and
 * permissions of infra/nats/sigmaserve-authorization.conf (included as is),
 * an nkey user, TLS with client certificates, a server without JetStream.
 * Fail closed everywhere: an incomplete option set or an unreadable file is a
 * NatsSecurityConfigError naming the flag before anything connects.
 */
import * as assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { nkeys } from "@nats-io/transport-node";
import { createTestPki, startNatsServer } from "@sigmaserve/testkit";
import { CoordUnavailableError, JetStreamDisabledError, NatsSecurityConfigError } from "../errors.js";
import { kvEventBatch, workerInfo } from "../testing/coord-fixtures.js";
import { connectNatsCoordBus } from "./connect-nats-coord-bus.js";
import { checkNatsSecurityOptions, loadNatsSecurity, type NatsSecurityOptions } from "./nats-security-options.js";

const AUTHORIZATION_CONF = fileURLToPath(new URL("../../../../infra/nats/sigmaserve-authorization.conf", import.meta.url));
const PASSWORDS = { NATS_WORKER_PASSWORD: "worker-pa$$", NATS_ROUTER_PASSWORD: "router-pa$$" };
/** The deployment's users and permissions, included from infra/ (nats-server resolves the path against the config's folder). */
const includeAuthorization = (configDir: string) => [`include ${JSON.stringify(relative(configDir, AUTHORIZATION_CONF))}`];

async function withFiles<T>(files: Record<string, string>, body: (path: (name: string) => string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "sigmaserve-nats-security-"));
  try {
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return await body((name) => join(dir, name));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function rejectsNaming(flag: string, rule: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof NatsSecurityConfigError, String(err));
    assert.equal(err.flag, flag);
    assert.match(err.message, rule);
    return true;
  };
}

test("nats security - incomplete or contradictory options fail closed, naming the flag", () => {
  const cases: [NatsSecurityOptions, string, RegExp][] = [
    [{ tlsCertFile: "c.pem" }, "--nats-tls-cert", /^--nats-tls-cert: needs --nats-tls-key$/],
    [{ tlsKeyFile: "k.pem" }, "--nats-tls-key", /^--nats-tls-key: needs --nats-tls-cert$/],
    [{ user: "worker" }, "--nats-user", /^--nats-user: needs --nats-password-file$/],
    [{ passwordFile: "p" }, "--nats-password-file", /^--nats-password-file: needs --nats-user$/],
    [{ credsFile: "a.creds", tokenFile: "t" }, "--nats-token-file", /^--nats-token-file: cannot be combined with --nats-creds: give one kind of NATS credentials$/],
    [{ nkeySeedFile: "s", user: "u", passwordFile: "p" }, "--nats-user", /cannot be combined with --nats-nkey-seed-file/],
    [{ tokenFile: " " }, "--nats-token-file", /^--nats-token-file: must not be empty$/],
  ];
  for (const [options, flag, rule] of cases) assert.throws(() => checkNatsSecurityOptions(options), rejectsNaming(flag, rule), JSON.stringify(options));
  assert.throws(() => checkNatsSecurityOptions({ tokenFile: "t" }, true), rejectsNaming("--nats", /the URL carries credentials and --nats-token-file is given too/));
  assert.doesNotThrow(() => checkNatsSecurityOptions({ user: "u", passwordFile: "p", tlsCaFile: "ca.pem" }));
});

test("nats security - unreadable or malformed files fail at start-up, naming the flag and the path", async () => {
  await withFiles({ empty: "\n", seed: "not-a-seed\n", creds: "nothing here", cert: "-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n" }, async (path) => {
    const load = (options: NatsSecurityOptions) => () => loadNatsSecurity(options, false, () => {});
    assert.throws(load({ user: "w", passwordFile: path("missing") }), rejectsNaming("--nats-password-file", new RegExp(`cannot read ${path("missing")}: ENOENT$`)));
    assert.throws(load({ tokenFile: path("empty") }), rejectsNaming("--nats-token-file", /is empty$/));
    assert.throws(load({ nkeySeedFile: path("seed") }), rejectsNaming("--nats-nkey-seed-file", /is not a user nkey seed/));
    assert.throws(load({ credsFile: path("creds") }), rejectsNaming("--nats-creds", /unable to parse credentials/));
    assert.throws(load({ tlsCaFile: path("cert") }), rejectsNaming("--nats-tls-ca", /is not a PEM certificate/));
  });
});

test("nats security - a password file is re-read at each connect: a rotated password is used, a vanished file keeps the last good one", async () => {
  await withFiles({ password: "first\n" }, async (path) => {
    const errors: Error[] = [];
    const { authenticator } = loadNatsSecurity({ user: "worker", passwordFile: path("password") }, false, (err) => errors.push(err));
    assert.deepEqual(authenticator!(), { user: "worker", pass: "first" });
    await writeFile(path("password"), "second\r\n");
    assert.deepEqual(authenticator!(), { user: "worker", pass: "second" });
    await rm(path("password"));
    assert.deepEqual(authenticator!(), { user: "worker", pass: "second" });
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof NatsSecurityConfigError && errors[0].flag === "--nats-password-file");
  });
});

test("nats security - the deployment's roles: a worker registers and a router sees it; the router can neither register nor publish KV events", async () => {
  const server = await startNatsServer({ extraLines: includeAuthorization, env: PASSWORDS });
  try {
    await withFiles({ worker: `${PASSWORDS.NATS_WORKER_PASSWORD}\n`, router: PASSWORDS.NATS_ROUTER_PASSWORD }, async (path) => {
      const routerErrors: Error[] = [];
      const worker = await connectNatsCoordBus({ servers: server.url, name: "sec-worker", security: { user: "worker", passwordFile: path("worker") } });
      const router = await connectNatsCoordBus({ servers: server.url, name: "sec-router", security: { user: "router", passwordFile: path("router") }, onError: (err) => routerErrors.push(err) });
      try {
        const registration = await worker.register(workerInfo("sec-w0"));
        const watch = await router.watchWorkers(() => {});
        assert.deepEqual([...watch.workers().keys()], ["sec-w0"]);

        await assert.rejects(router.register(workerInfo("forged")), (err: unknown) => {
          assert.ok(err instanceof CoordUnavailableError);
          assert.equal(err.message, 'registry put forged: Permissions Violation for Publish to "$KV.sigmaserve-workers.forged"');
          return true;
        });
        assert.deepEqual([...watch.workers().keys()], ["sec-w0"]);

        // A plain publish is fire and forget: the server drops it and says so on the connection, which reaches onError.
        const seen: string[] = [];
        const sub = await worker.subscribeKvEvents((delivery) => seen.push(delivery.kind === "batch" ? delivery.batch.workerId : delivery.kind));
        const reported = new Promise<void>((resolve) => {
          const poll = setInterval(() => {
            if (routerErrors.length >= 2) {
              clearInterval(poll);
              resolve();
            }
          }, 10);
        });
        await router.publishKvEvents(kvEventBatch("sec-w0", 0));
        await reported;
        // The refused registry put was reported there too, first.
        assert.deepEqual(routerErrors.map((err) => err.message), ['Permissions Violation for Publish to "$KV.sigmaserve-workers.forged"', 'Permissions Violation for Publish to "sigmaserve.kv.sec-w0"']);
        // The worker's own batch goes through, and it is the only one its subscriber ever got.
        await worker.publishKvEvents(kvEventBatch("sec-w0", 1));
        while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
        assert.deepEqual(seen, ["sec-w0"]);
        await sub.close();
        await watch.close();
        await registration.deregister();
      } finally {
        await router.close();
        await worker.close();
      }

      await assert.rejects(connectNatsCoordBus({ servers: server.url, name: "wrong", connectTimeoutMs: 2_000, security: { user: "worker", passwordFile: path("router") } }), (err: unknown) => {
        assert.ok(err instanceof CoordUnavailableError);
        assert.equal(err.message, `cannot connect to NATS at ${server.url}: the server refused the credentials (Authorization Violation)`);
        assert.ok(!err.message.includes(PASSWORDS.NATS_ROUTER_PASSWORD));
        return true;
      });
    });
  } finally {
    await server.stop();
  }
});

test("nats security - an nkey user (seed from a file made in the test) connects and registers; a seed the server does not know is refused", async () => {
  const user = nkeys.createUser();
  const stranger = nkeys.createUser();
  const server = await startNatsServer({ extraLines: [`authorization { users = [ { nkey: ${JSON.stringify(user.getPublicKey())} } ] }`] });
  try {
    await withFiles({ seed: `${new TextDecoder().decode(user.getSeed())}\n`, stranger: new TextDecoder().decode(stranger.getSeed()) }, async (path) => {
      const bus = await connectNatsCoordBus({ servers: server.url, name: "nkey", security: { nkeySeedFile: path("seed") } });
      const registration = await bus.register(workerInfo("nkey-w0"));
      await registration.deregister();
      await bus.close();
      await assert.rejects(connectNatsCoordBus({ servers: server.url, name: "stranger", connectTimeoutMs: 2_000, security: { nkeySeedFile: path("stranger") } }), (err: unknown) => {
        assert.ok(err instanceof CoordUnavailableError);
        assert.match(err.message, /the server refused the credentials \(Authorization Violation\)$/);
        return true;
      });
    });
  } finally {
    await server.stop();
  }
});

test("nats security - TLS with client certificates and a password file: connects with the CA, cert and key; not without the client cert", async () => {
  const pki = await createTestPki();
  const server = await startNatsServer({
    env: PASSWORDS,
    extraLines: (dir) => [
      ...includeAuthorization(dir),
      `tls { cert_file: ${JSON.stringify(pki.server.cert)}, key_file: ${JSON.stringify(pki.server.key)}, ca_file: ${JSON.stringify(pki.ca.cert)}, verify: true }`,
    ],
  });
  try {
    await withFiles({ worker: PASSWORDS.NATS_WORKER_PASSWORD }, async (path) => {
      const security = { user: "worker", passwordFile: path("worker"), tlsCaFile: pki.ca.cert, tlsCertFile: pki.client.cert, tlsKeyFile: pki.client.key };
      const bus = await connectNatsCoordBus({ servers: server.url, name: "tls", security });
      const registration = await bus.register(workerInfo("tls-w0"));
      await registration.deregister();
      await bus.close();
      await assert.rejects(connectNatsCoordBus({ servers: server.url, name: "tls-no-cert", connectTimeoutMs: 2_000, security: { user: "worker", passwordFile: path("worker"), tlsCaFile: pki.ca.cert } }), CoordUnavailableError);
      assert.throws(() => loadNatsSecurity({ tlsCertFile: pki.client.cert, tlsKeyFile: pki.server.key }, false, () => {}), rejectsNaming("--nats-tls-key", /does not match --nats-tls-cert/));
    });
  } finally {
    await server.stop();
    await pki.remove();
  }
});

test("nats security - a nats-server without JetStream is a JetStreamDisabledError at connect, which says how to turn it on", async () => {
  const server = await startNatsServer({ jetstream: false });
  try {
    await assert.rejects(connectNatsCoordBus({ servers: server.url, name: "no-js" }), (err: unknown) => {
      assert.ok(err instanceof JetStreamDisabledError);
      assert.equal(err.message, `nats-server at ${server.url} has JetStream disabled; start it with -js / jetstream {} in its config`);
      return true;
    });
  } finally {
    await server.stop();
  }
});

import * as assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { test } from "node:test";
import { Kvm } from "@nats-io/kv";
import { connect } from "@nats-io/transport-node";
import { NatsServerNotFoundError, NatsServerStartError } from "./errors.js";
import { liveServerCount } from "./live-servers.js";
import { readMaxPayload } from "./read-max-payload.js";
import { startNatsServer } from "./start-nats-server.js";

/** Per-test ceiling: each of these takes tens of milliseconds when healthy. */
const TEST_TIMEOUT_MS = 10_000;
/** 2 MiB: the `max_payload: 2MB` of infra/nats/nats.conf. */
const DEPLOYED_MAX_PAYLOAD_BYTES = 2_097_152;
/** max_pending's default in nats-server 2.9 (64 MiB); max_payload may not exceed it. */
const NATS_MAX_PENDING_BYTES = 67_108_864;

test("testkit - a JetStream KV watch sees a put, then a delete", { timeout: TEST_TIMEOUT_MS }, async () => {
  const server = await startNatsServer();
  try {
    const nc = await connect({ servers: server.url });
    try {
      const kv = await new Kvm(nc).create("sigmaserve-workers");
      const watcher = await kv.watch();
      const entries = watcher[Symbol.asyncIterator]();
      const nextEntry = async () => {
        const next = await entries.next();
        if (next.done === true) assert.fail("the watch ended early");
        return { key: next.value.key, value: next.value.string(), operation: next.value.operation };
      };

      await kv.put("worker-1", "ready");
      assert.deepEqual(await nextEntry(), { key: "worker-1", value: "ready", operation: "PUT" });

      await kv.delete("worker-1");
      assert.deepEqual(await nextEntry(), { key: "worker-1", value: "", operation: "DEL" });
      watcher.stop();
    } finally {
      await nc.close();
    }
  } finally {
    await server.stop();
  }
});

test("testkit - the client sees the max_payload of infra/nats/nats.conf", { timeout: TEST_TIMEOUT_MS }, async () => {
  assert.equal(await readMaxPayload(), DEPLOYED_MAX_PAYLOAD_BYTES);
  const server = await startNatsServer();
  try {
    const nc = await connect({ servers: server.url });
    try {
      assert.equal(nc.info?.max_payload, DEPLOYED_MAX_PAYLOAD_BYTES);
      // The guard in action: one byte over the limit is refused before it leaves the client.
      assert.throws(() => nc.publish("sigmaserve.ctl.w1.snapshot", new Uint8Array(DEPLOYED_MAX_PAYLOAD_BYTES + 1)), {
        message: /max_payload/,
      });
      const varz = (await (await fetch(`${server.monitorUrl}/varz`)).json()) as { max_payload: number };
      assert.equal(varz.max_payload, DEPLOYED_MAX_PAYLOAD_BYTES);
    } finally {
      await nc.close();
    }
  } finally {
    await server.stop();
  }
});

test("testkit - an explicit maxPayload overrides the config", { timeout: TEST_TIMEOUT_MS }, async () => {
  const server = await startNatsServer({ maxPayload: 4_096 });
  try {
    const nc = await connect({ servers: server.url });
    assert.equal(nc.info?.max_payload, 4_096);
    await nc.close();
  } finally {
    await server.stop();
  }
});

test("testkit - stop() is idempotent and leaves no process or temp dir", { timeout: TEST_TIMEOUT_MS }, async () => {
  const server = await startNatsServer();
  assert.match(server.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
  assert.match(server.monitorUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(server.port, 4222, "never the default port: a real server may already own it");
  assert.doesNotThrow(() => process.kill(server.pid, 0));
  assert.equal(existsSync(server.storeDir), true);

  await Promise.all([server.stop(), server.stop()]);
  await server.stop();

  assert.throws(() => process.kill(server.pid, 0), { code: "ESRCH" });
  assert.equal(existsSync(dirname(server.storeDir)), false);
  assert.equal(liveServerCount(), 0);
});

test("testkit - two servers run side by side on different ports", { timeout: TEST_TIMEOUT_MS }, async () => {
  const [a, b] = await Promise.all([startNatsServer(), startNatsServer()]);
  try {
    assert.notEqual(a.port, b.port);
    assert.notEqual(a.storeDir, b.storeDir);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test("testkit - a missing binary is a NatsServerNotFoundError that says how to install it", async () => {
  await assert.rejects(startNatsServer({ binary: "/nonexistent/nats-server" }), (err: unknown) => {
    assert.ok(err instanceof NatsServerNotFoundError);
    assert.equal(err.name, "NatsServerNotFoundError");
    assert.match(err.message, /apt-get install -y nats-server/);
    assert.deepEqual(err.searched, ["/nonexistent/nats-server"]);
    return true;
  });
});

test("testkit - a server that cannot start reports its log and leaves nothing", { timeout: TEST_TIMEOUT_MS }, async () => {
  // nats-server refuses max_payload above max_pending, but only at startup (`-t` accepts it).
  const tooBig = NATS_MAX_PENDING_BYTES * 2;
  await assert.rejects(startNatsServer({ maxPayload: tooBig }), (err: unknown) => {
    assert.ok(err instanceof NatsServerStartError);
    assert.equal(err.addressInUse, false);
    assert.match(err.message, /exited before it was ready/);
    assert.ok(err.logTail.some((line) => line.includes("cannot be higher than max_pending")), err.message);
    return true;
  });
  assert.equal(liveServerCount(), 0);
});

test("testkit - a start timeout stops the half-started server and leaves nothing", { timeout: TEST_TIMEOUT_MS }, async () => {
  await assert.rejects(startNatsServer({ startTimeoutMs: 1 }), (err: unknown) => {
    assert.ok(err instanceof NatsServerStartError);
    assert.match(err.message, /not ready after 1 ms/);
    return true;
  });
  assert.equal(liveServerCount(), 0);
});

import * as assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { NatsServerStartError } from "./errors.js";
import { findNatsServer } from "./find-nats-server.js";
import { LOOPBACK_HOST, freePort } from "./free-port.js";
import { liveServerCount } from "./live-servers.js";
import { spawnNatsServer } from "./spawn-nats-server.js";
import { renderTestServerConfig } from "./test-server-config.js";

/** Generous: a failing start takes ~10 ms. */
const TEST_TIMEOUT_MS = 10_000;

test("spawn-nats-server - a taken port is an addressInUse start error, so startNatsServer retries", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  // Hold the client port ourselves, the way a racing process would after freePort() closed it.
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen({ host: LOOPBACK_HOST, port: 0 }, resolve));
  t.after(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
  const address = squatter.address();
  assert.ok(address !== null && typeof address === "object");

  const tempDir = await mkdtemp(join(tmpdir(), "testkit-spawn-"));
  const configFile = join(tempDir, "nats.conf");
  const config = {
    host: LOOPBACK_HOST,
    port: address.port,
    monitorPort: await freePort(),
    storeDir: join(tempDir, "store"),
    maxPayloadBytes: 1_048_576,
  };
  await writeFile(configFile, renderTestServerConfig(config));

  const start = spawnNatsServer({
    binary: findNatsServer(),
    configFile,
    tempDir,
    host: LOOPBACK_HOST,
    port: address.port,
    startTimeoutMs: TEST_TIMEOUT_MS,
    stopGraceMs: 1_000,
  });
  await assert.rejects(start, (err: unknown) => {
    assert.ok(err instanceof NatsServerStartError);
    assert.equal(err.addressInUse, true, err.message);
    assert.match(err.message, /address already in use/);
    return true;
  });
  assert.equal(existsSync(tempDir), false, "a failed start removes its temp dir");
  assert.equal(liveServerCount(), 0);
});

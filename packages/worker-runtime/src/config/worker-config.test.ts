import assert from "node:assert/strict";
import { test } from "node:test";
import { WorkerConfigError } from "../errors.js";
import { DEFAULT_TENANT_MAX_CACHED_FRACTION, loadWorkerConfig } from "./worker-config.js";

test("worker config - the tenant cap is off by default, set by --tenant-max-cached-fraction or SIGMASERVE_WORKER_TENANT_MAX_CACHED_FRACTION, and must be in (0, 1]", () => {
  assert.equal(DEFAULT_TENANT_MAX_CACHED_FRACTION, 1);
  assert.equal(loadWorkerConfig([], {}).tenantMaxCachedFraction, 1);
  assert.equal(loadWorkerConfig(["--tenant-max-cached-fraction", "0.5"], {}).tenantMaxCachedFraction, 0.5);
  assert.equal(loadWorkerConfig([], { SIGMASERVE_WORKER_TENANT_MAX_CACHED_FRACTION: "0.25" }).tenantMaxCachedFraction, 0.25);
  for (const bad of ["0", "1.5"]) {
    assert.throws(() => loadWorkerConfig(["--tenant-max-cached-fraction", bad], {}), (err: unknown) => err instanceof WorkerConfigError && err.message.startsWith("--tenant-max-cached-fraction: "), bad);
  }
});

test("worker config - NATS credential files come from flags or SIGMASERVE_WORKER_NATS_* variables; an incomplete set names the flag", () => {
  const config = loadWorkerConfig(["--nats", "nats://127.0.0.1:4222", "--nats-user", "worker"], { SIGMASERVE_WORKER_NATS_PASSWORD_FILE: "/run/secrets/nats-password" });
  assert.deepEqual([config.natsUser, config.natsPasswordFile], ["worker", "/run/secrets/nats-password"]);
  assert.throws(() => loadWorkerConfig(["--nats", "nats://127.0.0.1:4222", "--nats-tls-key", "k.pem"], {}), (err: unknown) => err instanceof WorkerConfigError && err.message === "--nats-tls-key: needs --nats-tls-cert");
  assert.throws(() => loadWorkerConfig(["--nats-token-file", "t"], {}), (err: unknown) => err instanceof WorkerConfigError && err.message === "--nats-*: NATS credential and TLS flags need --nats URL");
});

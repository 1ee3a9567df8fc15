import assert from "node:assert/strict";
import { test } from "node:test";
import { WorkerConfigError } from "../errors.js";
import { DEFAULT_KV_DTYPE, DEFAULT_TENANT_MAX_CACHED_FRACTION, kvDtypesOf, loadWorkerConfig } from "./worker-config.js";

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

test("worker config - the KV pools are bf16 by default; --kv-dtype sets both, --kv-k-dtype / --kv-v-dtype one, also from SIGMASERVE_WORKER_KV_*_DTYPE", () => {
  assert.equal(DEFAULT_KV_DTYPE, "bf16");
  assert.deepEqual(kvDtypesOf(loadWorkerConfig([], {})), { k: "bf16", v: "bf16" });
  assert.deepEqual(kvDtypesOf(loadWorkerConfig(["--kv-dtype", "f32"], {})), { k: "f32", v: "f32" });
  assert.deepEqual(kvDtypesOf(loadWorkerConfig(["--kv-dtype", "f16", "--kv-k-dtype", "bf16"], {})), { k: "bf16", v: "f16" });
  assert.deepEqual(kvDtypesOf(loadWorkerConfig(["--kv-v-dtype", "f16"], { SIGMASERVE_WORKER_KV_DTYPE: "f32" })), { k: "f32", v: "f16" });
  assert.deepEqual(kvDtypesOf(loadWorkerConfig(["--kv-dtype", "bf16"], { SIGMASERVE_WORKER_KV_DTYPE: "f32", SIGMASERVE_WORKER_KV_V_DTYPE: "f16" })), { k: "bf16", v: "f16" }, "flags win over env");
  const cases: [string[], string][] = [
    [["--kv-dtype", "fp8"], "--kv-dtype: must be f32, bf16 or f16"],
    [["--kv-k-dtype", "F16"], "--kv-k-dtype: must be f32, bf16 or f16"],
    [["--kv-v-dtype", "int8"], "--kv-v-dtype: must be f32, bf16 or f16"],
  ];
  for (const [argv, message] of cases) assert.throws(() => loadWorkerConfig(argv, {}), (err: unknown) => err instanceof WorkerConfigError && err.message === message, argv.join(" "));
});

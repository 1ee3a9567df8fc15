import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { NatsConfigError } from "./errors.js";
import { findNatsServer } from "./find-nats-server.js";
import {
  DEFAULT_NATS_CONFIG_PATH,
  NATS_DEFAULT_MAX_PAYLOAD_BYTES,
  parseMaxPayload,
  readMaxPayload,
} from "./read-max-payload.js";

test("read-max-payload - infra/nats/nats.conf sets 2 MiB", async () => {
  assert.equal(await readMaxPayload(DEFAULT_NATS_CONFIG_PATH), 2_097_152);
});

test("read-max-payload - infra/nats/nats.conf passes `nats-server -t` (given the role passwords it reads from the environment)", async () => {
  const env = { ...process.env, NATS_WORKER_PASSWORD: "worker-secret", NATS_ROUTER_PASSWORD: "router-secret" };
  const { stdout, stderr } = await promisify(execFile)(findNatsServer(), ["-t", "-c", DEFAULT_NATS_CONFIG_PATH], { env });
  assert.match(stdout + stderr, /is valid/);
});

test("read-max-payload - units are read the way nats-server 2.9 reads them", () => {
  // Each expected value was checked against /varz of a real nats-server 2.9.10.
  const cases: Array<[string, number]> = [
    ["max_payload: 1048576", 1_048_576],
    ["max_payload: 2MB", 2_097_152],
    ["max_payload: 2mb", 2_097_152],
    ["max_payload: 2MiB", 2_097_152],
    ["max_payload: 2Mi", 2_097_152],
    ["max_payload: 2M", 2_000_000],
    ["max_payload: 2KB", 2_048],
    ["max_payload: 2K", 2_000],
    ["max_payload = 512KB", 524_288],
    ["max_payload 1MB", 1_048_576],
    ["max_payload: 2MB # a guard", 2_097_152],
  ];
  for (const [text, bytes] of cases) assert.equal(parseMaxPayload(text), bytes, text);
});

test("read-max-payload - no setting means nats-server's 1 MiB default", () => {
  assert.equal(parseMaxPayload("listen: 0.0.0.0:4222\n# max_payload: 8MB\n"), NATS_DEFAULT_MAX_PAYLOAD_BYTES);
  assert.equal(NATS_DEFAULT_MAX_PAYLOAD_BYTES, 1_048_576);
});

test("read-max-payload - values nats-server would not take are NatsConfigErrors", () => {
  for (const text of ['max_payload: "2MB"', "max_payload: 2XB", "max_payload: 0", "max_payload: 1MB\nmax_payload: 2MB"]) {
    assert.throws(() => parseMaxPayload(text, "test.conf"), NatsConfigError, text);
  }
});

test("read-max-payload - a missing file is a NatsConfigError naming it", async () => {
  await assert.rejects(readMaxPayload("/nonexistent/nats.conf"), (err: unknown) => {
    assert.ok(err instanceof NatsConfigError);
    assert.equal(err.source, "/nonexistent/nats.conf");
    return true;
  });
});

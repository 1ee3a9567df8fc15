/** How `sigmaserve up` picks its coordination: a given NATS, a nats-server it starts, or one process on the memory bus. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../usage-error.js";
import { chooseUpMode } from "./up.js";

test("up mode - --nats wins, an installed nats-server is started, else single process", () => {
  assert.deepEqual(chooseUpMode({ nats: "nats://h:4222", singleProcess: false, natsBinary: "/usr/sbin/nats-server" }), { kind: "nats-url", url: "nats://h:4222" });
  assert.deepEqual(chooseUpMode({ singleProcess: false, natsBinary: "/usr/sbin/nats-server" }), { kind: "start-nats", binary: "/usr/sbin/nats-server" });
  assert.deepEqual(chooseUpMode({ singleProcess: false, natsBinary: undefined }), { kind: "single-process", reason: "no nats-server" });
  assert.deepEqual(chooseUpMode({ singleProcess: true, natsBinary: "/usr/sbin/nats-server" }), { kind: "single-process", reason: "asked" });
});

test("up mode - --nats with --single-process is a usage error naming both", () => {
  assert.throws(() => chooseUpMode({ nats: "nats://h:4222", singleProcess: true, natsBinary: undefined }), (err: unknown) => err instanceof UsageError && /--nats or --single-process/.test(err.message));
});

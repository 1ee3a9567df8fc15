/**
 * Regressions for issue 15's slot leak: a call cancelled in the tick it starts
 * (grpc-js then sends no RST_STREAM) used to leave the server's handler
 * running for good once its stream's window filled, and with it whatever the
 * handler held (the router's admission slot, a worker's KV blocks). And a
 * client that stops reading now loses its call after the stall timeout
 * instead of holding the handler until the connection closes.
 */
import { Server, ServerCredentials, status } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { EchoService } from "../gen/sigmaserve/testing/v1/echo_pb.js";
import { bindService, type BindOptions } from "./bind-service.js";
import { ClientStalledError } from "./client-stalled-error.js";
import { createGrpcClient } from "./create-client.js";
import { GrpcStatusError } from "./grpc-status-error.js";
import { grpcServiceDefinition } from "./service-definition.js";

/** A server whose Expand streams `count` messages as fast as the client takes them, counting handlers that have not ended. */
async function startCountingServer(options: BindOptions = {}) {
  const handlers = { running: 0, started: 0, stopReasons: [] as unknown[] };
  const server = new Server();
  server.addService(
    grpcServiceDefinition(EchoService),
    bindService(
      EchoService,
      {
        async echo(request) {
          return { payload: request.payload };
        },
        async *expand(request, context) {
          handlers.started++;
          handlers.running++;
          try {
            for (let index = 0; index < request.count; index++) {
              if (context.signal.aborted) return;
              yield { index };
              if (index % 50 === 0) await sleep(1);
            }
          } finally {
            handlers.running--;
            if (context.signal.aborted) handlers.stopReasons.push(context.signal.reason);
          }
        },
        async collect() {
          return { messages: 0, bytes: 0n };
        },
        async *chat() {},
      },
      options,
    ),
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))));
  const client = createGrpcClient(EchoService, `127.0.0.1:${port}`);
  await client.echo({ payload: new Uint8Array(1) }); // connected before the races start
  return { handlers, client, stop: () => (client.close(), server.forceShutdown()) };
}

/** Waits (polling) until `predicate` holds; fails with `what` after `limitMs`. Not a timing assertion: the limit is only a hang guard. */
async function eventually(predicate: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() > end) assert.fail(what);
    await sleep(20);
  }
}

const LONG_STREAM = 1_000_000;

for (const when of ["before the call", "in the tick it starts", "in a microtask after it starts"] as const) {
  test(`grpc adapter - a stream cancelled ${when} ends CANCELLED and leaves no handler running on the server`, async () => {
    const { handlers, client, stop } = await startCountingServer();
    try {
      const calls = 40;
      const outcomes = await Promise.all(
        Array.from({ length: calls }, async () => {
          const controller = new AbortController();
          if (when === "before the call") controller.abort();
          const iterator = client.expand({ count: LONG_STREAM }, { signal: controller.signal })[Symbol.asyncIterator]();
          const first = iterator.next();
          if (when === "in the tick it starts") controller.abort();
          if (when === "in a microtask after it starts") queueMicrotask(() => controller.abort());
          try {
            await first;
            for (;;) if ((await iterator.next()).done === true) return "ended";
          } catch (err) {
            return err instanceof GrpcStatusError ? status[err.code] : String(err);
          }
        }),
      );
      assert.deepEqual(outcomes, Array.from({ length: calls }, () => "CANCELLED"));
      await eventually(() => handlers.running === 0, `${handlers.running} of ${handlers.started} handlers still running`);
      if (when === "before the call") assert.equal(handlers.started, 0, "a call whose signal aborted first is never sent");
    } finally {
      stop();
    }
  });
}

test("grpc adapter - a client that stops reading loses its call after the stall timeout; the handler's finally runs with ClientStalledError", async () => {
  const { handlers, client, stop } = await startCountingServer({ writeStallTimeoutMs: 300 });
  try {
    const iterator = client.expand({ count: LONG_STREAM })[Symbol.asyncIterator]();
    assert.deepEqual((await iterator.next()).value?.index, 0);
    // Reads nothing more: the stream's windows fill and the server's writes wait for a drain that never comes.
    await eventually(() => handlers.running === 0, "the stalled handler never ended");
    assert.equal(handlers.stopReasons.length, 1);
    assert.ok(handlers.stopReasons[0] instanceof ClientStalledError);
    assert.equal((handlers.stopReasons[0] as ClientStalledError).stallMs, 300);
    void iterator.return?.();
  } finally {
    stop();
  }
});

/**
 * A handler's signal aborts on a real cancel, and only then: grpc-js also
 * emits 'cancelled' when the stream of a call that ended normally closes,
 * which must not abort a finished call's signal (each abort builds an Error
 * and dispatches an event, on every call of a busy router).
 */
import { Server, ServerCredentials, status } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { EchoService } from "../gen/sigmaserve/testing/v1/echo_pb.js";
import { bindService } from "./bind-service.js";
import { createGrpcClient } from "./create-client.js";
import { GrpcStatusError } from "./grpc-status-error.js";
import { grpcServiceDefinition } from "./service-definition.js";

test("grpc adapter - a call that ends normally leaves its signal un-aborted; a client cancel aborts it", async () => {
  const signals: AbortSignal[] = [];
  const server = new Server();
  server.addService(
    grpcServiceDefinition(EchoService),
    bindService(EchoService, {
      async echo(request, context) {
        signals.push(context.signal);
        return { payload: request.payload };
      },
      async *expand(request, context) {
        signals.push(context.signal);
        for (let index = 0; index < request.count; index++) {
          if (request.intervalMs > 0) await sleep(request.intervalMs, undefined, { signal: context.signal }).catch(() => {});
          if (context.signal.aborted) return;
          yield { index };
        }
      },
      async collect() {
        return { messages: 0, bytes: 0n };
      },
      async *chat() {},
    }),
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const client = createGrpcClient(EchoService, `127.0.0.1:${port}`);
  try {
    await client.echo({ payload: new Uint8Array([1, 2, 3]) });
    for await (const _ of client.expand({ count: 3 }));
    // Let the streams close and any late 'cancelled' arrive.
    await sleep(100);
    assert.deepEqual(
      signals.map((s) => s.aborted),
      [false, false],
    );

    const cancel = new AbortController();
    await assert.rejects(
      async () => {
        for await (const message of client.expand({ count: 1000, intervalMs: 5 }, { signal: cancel.signal })) if (message.index === 1) cancel.abort();
      },
      (err: unknown) => err instanceof GrpcStatusError && err.code === status.CANCELLED,
    );
    await sleep(100);
    assert.equal(signals.length, 3);
    assert.equal(signals[2]!.aborted, true, "the cancelled call's signal aborted");
  } finally {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }
});

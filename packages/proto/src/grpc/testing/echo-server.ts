/**
 * Test fixture: a real grpc-js server on 127.0.0.1 (port chosen by the OS)
 * serving sigmaserve.testing.v1.EchoService through the adapter. It records
 * what the handlers saw, so tests can assert that a cancel reached the server.
 */
import { Server, ServerCredentials, type ServerOptions } from "@grpc/grpc-js";
import { setTimeout as sleep } from "node:timers/promises";
import { EchoService } from "../../gen/sigmaserve/testing/v1/echo_pb.js";
import { badRequestError } from "../bad-request.js";
import { bindService, type BindOptions } from "../bind-service.js";
import { grpcServiceDefinition } from "../service-definition.js";

/** Largest Expand the fixture accepts; above it the handler answers INVALID_ARGUMENT with a BadRequest naming `count`. */
export const MAX_EXPAND_COUNT = 1_000_000;

export interface EchoServerHandle {
  server: Server;
  address: string;
  /** Resolves with the number of messages written when an Expand stream ends, however it ends. */
  expandEnded: Promise<{ written: number; aborted: boolean }>;
  stop(): Promise<void>;
}

export async function startEchoServer(options: { serverOptions?: ServerOptions; bind?: BindOptions; credentials?: ServerCredentials } = {}): Promise<EchoServerHandle> {
  const server = new Server(options.serverOptions);
  let resolveExpandEnded!: (value: { written: number; aborted: boolean }) => void;
  const expandEnded = new Promise<{ written: number; aborted: boolean }>((resolve) => (resolveExpandEnded = resolve));

  const impl = bindService(
    EchoService,
    {
      async echo(request) {
        if (request.replyBytes > 0) return { payload: new Uint8Array(request.replyBytes).fill(7) };
        return { payload: request.payload };
      },
      async *expand(request, context) {
        if (request.count > MAX_EXPAND_COUNT) {
          throw badRequestError([{ field: "count", description: `must be at most ${MAX_EXPAND_COUNT}, got ${request.count}` }]);
        }
        let written = 0;
        try {
          for (let index = 0; index < request.count; index++) {
            if (request.intervalMs > 0) await sleep(request.intervalMs, undefined, { signal: context.signal }).catch(() => {});
            if (context.signal.aborted) return;
            yield { index };
            written++;
          }
        } finally {
          resolveExpandEnded({ written, aborted: context.signal.aborted });
        }
      },
      async collect(requests) {
        let messages = 0;
        let bytes = 0n;
        for await (const request of requests) {
          messages++;
          bytes += BigInt(request.payload.byteLength);
        }
        return { messages, bytes };
      },
      async *chat(requests) {
        for await (const request of requests) {
          if (request.text === "fail") throw new Error("chat refused the word 'fail'");
          yield { text: request.text };
        }
      },
    },
    options.bind,
  );
  server.addService(grpcServiceDefinition(EchoService), impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", options.credentials ?? ServerCredentials.createInsecure(), (err, boundPort) => (err ? reject(err) : resolve(boundPort))),
  );
  return {
    server,
    address: `127.0.0.1:${port}`,
    expandEnded,
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Streams a test left open must not keep the process alive.
        setTimeout(() => server.forceShutdown(), 2_000).unref();
      }),
  };
}

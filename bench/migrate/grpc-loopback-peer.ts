/**
 * The second baseline of the migrate bench: a plain grpc-js server stream
 * between two processes, with no KV work at all, so the bench can tell the
 * transport's own ceiling from what migration adds (frame encoding,
 * checksums, the copy into pool memory, KV events). Same shape as the
 * migration's pull: one server-streaming call, 4 MiB messages, the client's
 * HTTP/2 window at MIGRATION_FLOW_CONTROL_WINDOW_BYTES.
 *
 * `serve` listens on 127.0.0.1:0 and prints `port N`; each call streams the
 * byte count its request names from one reused 4 MiB buffer. `receive PORT
 * BYTES` connects, then times one call from its start to its last message,
 * copying every message into one preallocated buffer (as migrated blocks land
 * in pool memory), and prints `ms X`.
 */
import * as grpc from "@grpc/grpc-js";
import { DEFAULT_MIGRATION_FRAME_BYTES, MIGRATION_FLOW_CONTROL_WINDOW_BYTES } from "@sigmaserve/worker-runtime";
import { once } from "node:events";

const MESSAGE_BYTES = DEFAULT_MIGRATION_FRAME_BYTES;
const identity = (bytes: Buffer): Buffer => bytes;
const stream: grpc.MethodDefinition<Buffer, Buffer> = {
  path: "/sigmaserve.bench.Loopback/Stream",
  requestStream: false,
  responseStream: true,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
};
const sizeOptions = { "grpc.max_send_message_length": 2 * MESSAGE_BYTES, "grpc.max_receive_message_length": 2 * MESSAGE_BYTES };

const [mode, a, b] = process.argv.slice(2);
if (mode === "serve") {
  const message = Buffer.alloc(MESSAGE_BYTES, 7);
  const server = new grpc.Server(sizeOptions);
  server.addService({ stream } as grpc.ServiceDefinition, {
    stream: async (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const total = Number(call.request.toString());
      for (let sent = 0; sent < total; sent += MESSAGE_BYTES) {
        if (!call.write(message.subarray(0, Math.min(MESSAGE_BYTES, total - sent)))) await once(call, "drain");
      }
      call.end();
    },
  });
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err !== null) throw err;
    process.stdout.write(`port ${port}\n`);
  });
} else if (mode === "receive") {
  const total = Number(b);
  const into = Buffer.allocUnsafeSlow(total);
  into.fill(0); // touch every page now, not during the measurement
  const Client = grpc.makeGenericClientConstructor({ stream } as grpc.ServiceDefinition, "Loopback");
  const client = new Client(`127.0.0.1:${a}`, grpc.credentials.createInsecure(), { ...sizeOptions, "grpc-node.flow_control_window": MIGRATION_FLOW_CONTROL_WINDOW_BYTES });
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (err) => (err === undefined ? resolve() : reject(err))));
  const started = performance.now();
  let received = 0;
  const call = (client as unknown as { stream(request: Buffer): grpc.ClientReadableStream<Buffer> }).stream(Buffer.from(String(total)));
  for await (const message of call as AsyncIterable<Buffer>) {
    message.copy(into, received);
    received += message.length;
  }
  process.stdout.write(`ms ${performance.now() - started}\n`);
  client.close();
} else {
  process.stderr.write("usage: grpc-loopback-peer serve | receive PORT BYTES\n");
  process.exit(2);
}

/**
 * The baseline of the migrate bench: a plain loopback TCP stream between two
 * processes. `receive BYTES` listens on 127.0.0.1:0, prints `port N`, copies
 * every chunk into one preallocated buffer (as migrated blocks land in pool
 * memory) and prints `ms X` (first byte to last) when BYTES have arrived.
 * `send PORT BYTES` connects and writes BYTES from a reused 4 MiB buffer,
 * honouring backpressure.
 */
import { once } from "node:events";
import { connect, createServer } from "node:net";

const [mode, a, b] = process.argv.slice(2);
const CHUNK = 4 * 2 ** 20;

if (mode === "receive") {
  const total = Number(a);
  const into = Buffer.allocUnsafeSlow(total);
  into.fill(0); // touch every page now, not during the measurement
  const server = createServer((socket) => {
    let received = 0;
    let first = 0;
    socket.on("data", (chunk: Buffer) => {
      if (received === 0) first = performance.now();
      chunk.copy(into, received);
      received += chunk.length;
      if (received >= total) {
        process.stdout.write(`ms ${performance.now() - first}\n`);
        socket.end();
        server.close();
      }
    });
  });
  server.listen(0, "127.0.0.1", () => process.stdout.write(`port ${(server.address() as { port: number }).port}\n`));
} else if (mode === "send") {
  const total = Number(b);
  const chunk = Buffer.alloc(CHUNK, 7);
  const socket = connect(Number(a), "127.0.0.1");
  await once(socket, "connect");
  for (let sent = 0; sent < total; sent += CHUNK) {
    if (!socket.write(chunk.subarray(0, Math.min(CHUNK, total - sent)))) await once(socket, "drain");
  }
  socket.end();
} else {
  process.stderr.write("usage: loopback-peer receive BYTES | send PORT BYTES\n");
  process.exit(2);
}

/**
 * Free TCP ports from the kernel: bind port 0, read the port it chose, close.
 *
 * NOTE: this is racy by nature. Another process may take the port between our
 * close and the server's bind. startNatsServer() handles that by retrying on
 * fresh ports when nats-server reports "address already in use".
 */
import { createServer } from "node:net";

/** Tests only ever bind to loopback: nothing should reach a test server from outside. */
export const LOOPBACK_HOST = "127.0.0.1";

/** Returns a TCP port on `host` that was free a moment ago. */
export function freePort(host: string = LOOPBACK_HOST): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      // address() is a string only for pipes and unix sockets; we listened on TCP.
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close((err) => {
        if (err) reject(err);
        else if (port === 0) reject(new Error(`could not read the port bound on ${host}`));
        else resolve(port);
      });
    });
  });
}

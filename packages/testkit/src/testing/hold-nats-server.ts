/**
 * Child-process fixture for watchdog-script.test.ts: starts a test nats-server,
 * prints `{"pid":…,"port":…,"storeDir":…}` as one line on stdout, and then,
 * depending on argv[2]:
 *   - "hold" (default): stays alive until killed (the test SIGKILLs it);
 *   - "return": just lets main end, never calling stop(). The server does not keep
 *     the event loop alive, so the process exits on its own and the exit hook runs.
 *
 * Run as: node --import tsx src/testing/hold-nats-server.ts [hold|return]
 */
import { startNatsServer } from "../start-nats-server.js";

/** How often the "hold" mode's timer fires; it only exists to keep the process alive. */
const HOLD_TICK_MS = 60_000;

const mode = process.argv[2] ?? "hold";
const server = await startNatsServer();
process.stdout.write(`${JSON.stringify({ pid: server.pid, port: server.port, storeDir: server.storeDir })}\n`);
if (mode === "hold") setInterval(() => {}, HOLD_TICK_MS);

/**
 * CoordTransport over core NATS: publish, subscribe and request/reply.
 *
 * A control handler's failure travels as an empty reply with two headers
 * (CONTROL_ERROR_NAME_HEADER, CONTROL_ERROR_MESSAGE_HEADER), so the requester
 * tells "the handler failed" from "nobody answered".
 */
import { Empty, headers, type Msg, type NatsConnection } from "@nats-io/transport-node";
import type { Subscription } from "../coord-bus.js";
import { asError } from "../core/codec.js";
import { oneLine } from "../core/control-methods.js";
import type { ControlHeaders, ControlReply, CoordTransport } from "../core/transport.js";
import { CoordClosedError, CoordUnavailableError } from "../errors.js";
import type { ConnectionMonitor } from "./connection-monitor.js";
import { mapConnectionError, mapRequestError } from "./nats-errors.js";

/** Header of an error reply: the `name` of the error the handler threw. */
export const CONTROL_ERROR_NAME_HEADER = "Sigmaserve-Error";
/** Header of an error reply: its message (one line). */
export const CONTROL_ERROR_MESSAGE_HEADER = "Sigmaserve-Error-Message";
/** How long close() waits to flush what is buffered before it closes anyway. */
const CLOSE_FLUSH_TIMEOUT_MS = 1_000;

export class NatsTransport implements CoordTransport {
  readonly #nc: NatsConnection;
  readonly #monitor: ConnectionMonitor;
  readonly #onError: (err: Error) => void;

  constructor(nc: NatsConnection, monitor: ConnectionMonitor, onError: (err: Error) => void) {
    this.#nc = nc;
    this.#monitor = monitor;
    this.#onError = onError;
  }

  serverMaxPayloadBytes(): number | undefined {
    return this.#nc.info?.max_payload;
  }

  publish(subject: string, bytes: Uint8Array): void {
    this.#assertUsable(subject);
    try {
      this.#nc.publish(subject, bytes);
    } catch (err) {
      throw mapConnectionError(err, `${subject}: publish failed`);
    }
  }

  async subscribe(subject: string, onMessage: (subject: string, bytes: Uint8Array) => void): Promise<Subscription> {
    const sub = this.#subscribeRaw(subject, (msg) => onMessage(msg.subject, msg.data));
    await this.#flushIfConnected(subject);
    return sub;
  }

  async request(subject: string, bytes: Uint8Array, timeoutMs: number, requestHeaders?: ControlHeaders): Promise<ControlReply> {
    this.#assertUsable(subject);
    let reply;
    try {
      const entries = Object.entries(requestHeaders ?? {});
      const h = entries.length === 0 ? undefined : headers();
      for (const [name, value] of entries) h!.set(name, oneLine(value));
      reply = await this.#nc.request(subject, bytes, h === undefined ? { timeout: timeoutMs } : { timeout: timeoutMs, headers: h });
    } catch (err) {
      throw mapRequestError(err, subject, timeoutMs);
    }
    const errorName = reply.headers?.get(CONTROL_ERROR_NAME_HEADER) ?? "";
    if (errorName !== "") return { ok: false, errorName, message: reply.headers?.get(CONTROL_ERROR_MESSAGE_HEADER) ?? "" };
    return { ok: true, bytes: reply.data };
  }

  async serve(subject: string, respond: (bytes: Uint8Array, headers: ControlHeaders) => Promise<ControlReply>): Promise<Subscription> {
    const sub = this.#subscribeRaw(subject, (msg) => {
      const requestHeaders: Record<string, string> = {};
      for (const name of msg.headers?.keys() ?? []) requestHeaders[name] = msg.headers!.get(name);
      void respond(msg.data, requestHeaders)
        .then((reply) => {
          if (reply.ok) {
            msg.respond(reply.bytes);
            return;
          }
          const h = headers();
          h.set(CONTROL_ERROR_NAME_HEADER, oneLine(reply.errorName));
          h.set(CONTROL_ERROR_MESSAGE_HEADER, oneLine(reply.message));
          msg.respond(Empty, { headers: h });
        })
        // A reply lost to an outage is the requester's timeout.
        .catch((err: unknown) => this.#onError(mapConnectionError(err, `${subject}: reply failed`)));
    });
    await this.#flushIfConnected(subject);
    return sub;
  }

  async close(): Promise<void> {
    if (this.#nc.isClosed()) return;
    if (this.#monitor.connected) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_FLUSH_TIMEOUT_MS)));
      await Promise.race([this.#nc.flush().catch(() => {}), timeout]);
      clearTimeout(timer);
    }
    await this.#nc.close();
  }

  #subscribeRaw(subject: string, onMsg: (msg: Msg) => void): Subscription {
    if (this.#nc.isClosed()) throw new CoordClosedError(`${subject}: the connection is closed`);
    let sub;
    try {
      sub = this.#nc.subscribe(subject, {
        callback: (err, msg) => {
          if (err !== null) {
            this.#onError(mapConnectionError(err, `${subject}: subscription failed`));
            return;
          }
          try {
            onMsg(msg);
          } catch (thrown) {
            this.#onError(asError(thrown));
          }
        },
      });
    } catch (err) {
      throw mapConnectionError(err, `${subject}: subscribe failed`);
    }
    return {
      close: async () => {
        if (this.#nc.isClosed() || sub.isClosed()) return;
        sub.unsubscribe();
        // NOTE: the flush makes close() mean "the server has dropped the interest": without it a request
        // sent right after (from another connection) can still be routed here and time out instead of
        // failing fast with no responders.
        await this.#flushIfConnected(subject).catch(() => {});
      },
    };
  }

  /**
   * Waits until the server has registered what was just sent, so a publish
   * after subscribe() resolves is seen. While disconnected it does not wait:
   * the client re-sends subscriptions on reconnect.
   */
  async #flushIfConnected(subject: string): Promise<void> {
    if (!this.#monitor.connected) return;
    try {
      await this.#nc.flush();
    } catch (err) {
      throw mapConnectionError(err, `${subject}: flush failed`);
    }
  }

  #assertUsable(subject: string): void {
    if (this.#nc.isClosed()) throw new CoordClosedError(`${subject}: the connection is closed`);
    if (!this.#monitor.connected) throw new CoordUnavailableError(`${subject}: NATS is disconnected (reconnecting)`);
  }
}

/**
 * Follows a NATS connection's status stream and answers one question fast:
 * is the connection up right now? Listeners hear each disconnect and each
 * reconnect (the client has re-sent its subscriptions by then).
 */
import type { NatsConnection } from "@nats-io/transport-node";

export interface ConnectionListener {
  onDisconnect(): void;
  onReconnect(): void;
}

export class ConnectionMonitor {
  readonly #listeners = new Set<ConnectionListener>();
  #connected = true;

  constructor(nc: NatsConnection) {
    void this.#follow(nc);
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Adds a listener; returns the function that removes it. */
  listen(listener: ConnectionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #follow(nc: NatsConnection): Promise<void> {
    // The status stream ends when the connection closes.
    for await (const status of nc.status()) {
      if (status.type === "disconnect" && this.#connected) {
        this.#connected = false;
        for (const listener of [...this.#listeners]) listener.onDisconnect();
      } else if (status.type === "reconnect") {
        this.#connected = true;
        for (const listener of [...this.#listeners]) listener.onReconnect();
      }
    }
    this.#connected = false;
  }
}

/**
 * Typed errors of @sigmaserve/testkit. Each failure has one small class that
 * sets `name` (so it survives `instanceof`-less checks across realms and shows
 * in test output) and takes `{ cause }`.
 */

/** Install hint shared by every "no nats-server" message. */
export const NATS_SERVER_INSTALL_HINT =
  "install it with `apt-get install -y nats-server` (Debian/Ubuntu), " +
  "or pass `binary: '/path/to/nats-server'` to startNatsServer()";

/** No usable nats-server executable was found. */
export class NatsServerNotFoundError extends Error {
  override readonly name = "NatsServerNotFoundError";
  /** Every path that was tried, in order. */
  readonly searched: readonly string[];

  constructor(message: string, options: { searched: readonly string[]; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.searched = options.searched;
  }
}

/**
 * nats-server did not become ready: it exited, or the start timeout passed.
 * The message ends with the last lines of the server's log.
 */
export class NatsServerStartError extends Error {
  override readonly name = "NatsServerStartError";
  /** The last lines the server wrote to stderr, oldest first. */
  readonly logTail: readonly string[];
  /** True when the server failed because a port was taken; the caller may retry on new ports. */
  readonly addressInUse: boolean;

  constructor(
    message: string,
    options: { logTail: readonly string[]; addressInUse?: boolean; cause?: unknown },
  ) {
    const log = options.logTail.length > 0 ? options.logTail.join("\n") : "(no output)";
    super(`${message}\n--- last lines of the nats-server log ---\n${log}`, { cause: options.cause });
    this.logTail = options.logTail;
    this.addressInUse = options.addressInUse ?? false;
  }
}

/** A NATS config file could not be read, or a setting in it could not be understood. */
export class NatsConfigError extends Error {
  override readonly name = "NatsConfigError";
  /** The config file (or a label for text that was not read from a file). */
  readonly source: string;

  constructor(message: string, options: { source: string; cause?: unknown }) {
    super(`${options.source}: ${message}`, { cause: options.cause });
    this.source = options.source;
  }
}

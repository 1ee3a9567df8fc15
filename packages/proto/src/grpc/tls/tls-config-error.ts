/**
 * TLS material that cannot be used: a file that cannot be read, a PEM that is
 * not a certificate or key, a key that does not match its certificate, a
 * certificate without its key (or the reverse), a client identity without a
 * CA. Raised at start-up, so a bad configuration fails closed before anything
 * listens, rather than later as handshake failures; the message begins with
 * the flag (or field) that named the file. A runtime wraps it in its own
 * config error (RouterConfigError, WorkerConfigError): exit 2 with the message.
 */
export class TlsConfigError extends Error {
  override readonly name = "TlsConfigError";

  constructor(
    /** The flag or field at fault, as the user wrote it: "--tls-key". */
    readonly flag: string,
    rule: string,
    options: { cause?: unknown } = {},
  ) {
    super(`${flag}: ${rule}`, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

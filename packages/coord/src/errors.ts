/**
 * Typed errors of @sigmaserve/coord. One small class per failure, each setting
 * `name` and taking `{ cause }`, all under CoordError so an edge can map them
 * once. The status each one suggests for `toGrpcStatus()` is in its comment.
 */

/** The base of every error this package throws. */
export class CoordError extends Error {
  override readonly name: string = "CoordError";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** An argument broke a rule (a bad worker id, a mismatched id). INVALID_ARGUMENT. */
export class CoordArgumentError extends CoordError {
  override readonly name = "CoordArgumentError";
  /** The argument's path, e.g. "info.workerId". */
  readonly field: string;

  constructor(field: string, rule: string, options?: { cause?: unknown }) {
    super(`${field}: ${rule}`, options);
    this.field = field;
  }
}

/**
 * A message was refused before it was sent because its encoding is larger
 * than the bus allows. NATS carries control only: anything this big is bulk
 * data and belongs on the worker-to-worker gRPC stream. RESOURCE_EXHAUSTED.
 */
export class PayloadTooLargeError extends CoordError {
  override readonly name = "PayloadTooLargeError";
  readonly subject: string;
  /** Size of the encoded message. */
  readonly sizeBytes: number;
  /** The limit it broke: the bus's maxPayloadBytes, or the server's max_payload when smaller. */
  readonly maxPayloadBytes: number;

  constructor(subject: string, sizeBytes: number, maxPayloadBytes: number) {
    super(`${subject}: message of ${sizeBytes} bytes exceeds the limit of ${maxPayloadBytes} bytes`);
    this.subject = subject;
    this.sizeBytes = sizeBytes;
    this.maxPayloadBytes = maxPayloadBytes;
  }
}

/** Nobody serves this control verb for this worker (absent, dead, or not serving it). UNAVAILABLE. */
export class NoResponderError extends CoordError {
  override readonly name = "NoResponderError";
  readonly subject: string;

  constructor(subject: string, options?: { cause?: unknown }) {
    super(`${subject}: no responder`, options);
    this.subject = subject;
  }
}

/** A control request got no reply in time. DEADLINE_EXCEEDED. */
export class ControlTimeoutError extends CoordError {
  override readonly name = "ControlTimeoutError";
  readonly subject: string;
  readonly timeoutMs: number;

  constructor(subject: string, timeoutMs: number, options?: { cause?: unknown }) {
    super(`${subject}: no reply within ${timeoutMs} ms`, options);
    this.subject = subject;
    this.timeoutMs = timeoutMs;
  }
}

/** The worker's control handler failed; the reply carried its error. FAILED_PRECONDITION. */
export class ControlHandlerError extends CoordError {
  override readonly name = "ControlHandlerError";
  readonly subject: string;
  /** `name` of the error the handler threw (e.g. "PayloadTooLargeError"). */
  readonly remoteName: string;
  /** Its message. */
  readonly remoteMessage: string;

  constructor(subject: string, remoteName: string, remoteMessage: string) {
    super(`${subject}: the handler failed: ${remoteName}: ${remoteMessage}`);
    this.subject = subject;
    this.remoteName = remoteName;
    this.remoteMessage = remoteMessage;
  }
}

/**
 * The coordination backend cannot be reached right now (the NATS connection is
 * down and reconnecting, or JetStream did not answer). Retry later. UNAVAILABLE.
 */
export class CoordUnavailableError extends CoordError {
  override readonly name = "CoordUnavailableError";
}

/**
 * The NATS credentials or TLS options are incomplete, contradictory or
 * unreadable (a cert without its key, two credential kinds, a user without a
 * password file, a file that cannot be read or parsed). Nothing connects:
 * fail closed. Start-up only; never reaches a gRPC edge.
 */
export class NatsSecurityConfigError extends CoordError {
  override readonly name = "NatsSecurityConfigError";
  /** The option at fault (a NatsSecurityOptions key, or "servers" for credentials in the URL). */
  readonly option: string;
  /** The flag that sets it, e.g. "--nats-tls-cert". */
  readonly flag: string;

  constructor(option: string, flag: string, rule: string, options?: { cause?: unknown }) {
    super(`${flag}: ${rule}`, options);
    this.option = option;
    this.flag = flag;
  }
}

/**
 * The nats-server answers but has JetStream off (or not enabled for this
 * account). The registry, the leader leases and the remote tier are JetStream
 * KV and object stores, so the bus cannot work without it: thrown at connect,
 * before anything registers. Start-up only; never reaches a gRPC edge.
 */
export class JetStreamDisabledError extends CoordError {
  override readonly name = "JetStreamDisabledError";
}

/** The bus was closed, or the registration was deregistered. CANCELLED. */
export class CoordClosedError extends CoordError {
  override readonly name = "CoordClosedError";
}

/** Bytes received on a subject did not decode as the expected message; the message is dropped. */
export class MessageDecodeError extends CoordError {
  override readonly name = "MessageDecodeError";
  readonly subject: string;

  constructor(subject: string, options?: { cause?: unknown }) {
    super(`${subject}: undecodable message dropped`, options);
    this.subject = subject;
  }
}

/**
 * A KV-event batch or a snapshot page arrived in a form this build cannot
 * read exactly: not protobuf at all, an event whose kind is not set or not
 * known (a newer worker's oneof field), an UNSPECIFIED or unknown component or
 * tier, a seq beyond 2^53, or a worker id that differs from the subject's.
 * Nothing is guessed: the whole message is refused. On a KV-event subject it
 * is delivered to the subscriber as an "undecodable" KvEventDelivery (the
 * answer is a resync of `workerId`); from requestSnapshot() it is thrown.
 * Not a client error; never reaches a gRPC edge.
 */
export class KvDecodeError extends CoordError {
  override readonly name = "KvDecodeError";
  readonly subject: string;
  /** The worker the message came from: the worker id of its subject. */
  readonly workerId: string;
  /** The epoch in the message header; undefined when the bytes did not parse as protobuf. */
  readonly epoch: bigint | undefined;
  /** Path of the field at fault, e.g. "events[2].kind" or "residency[0].tier"; "" when the bytes did not parse. */
  readonly field: string;

  constructor(
    at: { subject: string; workerId: string; epoch: bigint | undefined; field: string },
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${at.subject}: undecodable message from worker ${JSON.stringify(at.workerId)}: ${at.field === "" ? "" : `${at.field}: `}${problem}`, options);
    this.subject = at.subject;
    this.workerId = at.workerId;
    this.epoch = at.epoch;
    this.field = at.field;
  }
}

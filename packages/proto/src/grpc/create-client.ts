/**
 * A typed grpc-js client for a protobuf-es service descriptor.
 *
 * Unary and client-streaming calls return promises; server-streaming and bidi
 * calls return async iterables that cancel the call when the consumer stops
 * early (`break`, a thrown error, or the AbortSignal). Every failure rejects
 * with GrpcStatusError, so callers branch on `err.code`.
 *
 * Requests are encoded here, before the call starts. NOTE: a request the wire
 * cannot carry (a float32 field of 1e300, a negative uint32) fails with
 * INVALID_ARGUMENT, the caller's mistake, and nothing is sent; left to grpc-js
 * it would be INTERNAL ("serialization failure"), which a router would take
 * for a failing server and fail over from.
 */
import type { DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import {
  type Client,
  Metadata,
  credentials as grpcCredentials,
  makeGenericClientConstructor,
  status,
  type CallOptions as GrpcCallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientWritableStream,
  type ServiceError,
} from "@grpc/grpc-js";
import { GrpcStatusError } from "./grpc-status-error.js";
import { EncodedMessage, encodeMessage, grpcServiceDefinition } from "./service-definition.js";

/** Per-call options. */
export interface CallOptions {
  /** Aborting cancels the call; the promise or iterator rejects with CANCELLED. */
  signal?: AbortSignal;
  /** Relative deadline in milliseconds from now; DEADLINE_EXCEEDED when it passes. */
  timeoutMs?: number;
  /** Request metadata (headers), as grpc-js Metadata or plain string pairs. */
  metadata?: Metadata | Record<string, string>;
}

type In<M extends DescMethod> = MessageInitShape<M["input"]>;
type Out<M extends DescMethod> = MessageShape<M["output"]>;
type Requests<M extends DescMethod> = AsyncIterable<In<M>> | Iterable<In<M>>;

/** The client-side signature of one method, chosen by its kind. */
export type ClientMethod<M extends DescMethod> = M["methodKind"] extends "unary"
  ? (request: In<M>, options?: CallOptions) => Promise<Out<M>>
  : M["methodKind"] extends "server_streaming"
    ? (request: In<M>, options?: CallOptions) => AsyncIterable<Out<M>>
    : M["methodKind"] extends "client_streaming"
      ? (requests: Requests<M>, options?: CallOptions) => Promise<Out<M>>
      : (requests: Requests<M>, options?: CallOptions) => AsyncIterable<Out<M>>;

/** A typed client: one function per method plus the underlying channel. */
export type ServiceClient<S extends DescService> = (S extends { method: infer Methods }
  ? { [K in keyof Methods]: Methods[K] extends DescMethod ? ClientMethod<Methods[K]> : never }
  : never) & {
  /** The grpc-js client, for channel state and waitForReady. */
  readonly grpcClient: Client;
  /** Closes the channel; calls in flight fail with CANCELLED or UNAVAILABLE. */
  close(): void;
};

export interface ClientOptions {
  /** Channel credentials; default insecure (loopback and in-cluster plaintext). */
  credentials?: ChannelCredentials;
  /** grpc-js channel options, e.g. messageSizeOptions(64 MiB) for KV transfer. */
  channelOptions?: ChannelOptions;
}

function toMetadata(input: CallOptions["metadata"]): Metadata {
  if (input instanceof Metadata) return input;
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(input ?? {})) metadata.set(key, value);
  return metadata;
}

function grpcCallOptions(options: CallOptions | undefined): GrpcCallOptions {
  return options?.timeoutMs === undefined ? {} : { deadline: Date.now() + options.timeoutMs };
}

function toError(err: unknown): GrpcStatusError {
  return GrpcStatusError.fromServiceError(err as Partial<ServiceError>);
}

/** Encodes one request of `method`; a value that does not fit its field's type is INVALID_ARGUMENT. */
function encodeRequest(method: DescMethod, request: unknown): EncodedMessage {
  try {
    return new EncodedMessage(encodeMessage(method.input, request));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new GrpcStatusError(status.INVALID_ARGUMENT, `the ${method.input.typeName} cannot be serialised: ${reason}`, { cause: err });
  }
}

/** A stream that fails at once with `err` (a server-streaming request that could not be encoded). */
// eslint-disable-next-line require-yield
async function* failedStream(err: unknown): AsyncGenerator<never> {
  throw err;
}

/** The status of a call whose signal aborted before it could start (the call is never sent). */
function cancelledBeforeStart(signal: AbortSignal): GrpcStatusError {
  const reason = signal.reason instanceof Error ? `: ${signal.reason.message}` : "";
  return new GrpcStatusError(status.CANCELLED, `the call was cancelled before it started${reason}`, { cause: signal.reason });
}

/**
 * Cancels `call` when `signal` aborts; returns the listener's remover.
 *
 * NOTE: grpc-js sends no RST_STREAM for a call cancelled in the tick it starts: the client sees CANCELLED at
 * once, but the server's stream opens anyway and is never reset, so its handler runs on (and blocks for good
 * on flow control once the stream's window is full), and whatever it holds (an admission slot, KV blocks)
 * leaks. Callers therefore never start a call whose signal already aborted (cancelledBeforeStart), and every
 * cancel waits for the next turn of the event loop, when it reaches the server (one tick later than asked).
 */
function linkAbort(signal: AbortSignal | undefined, call: { cancel(): void }): () => void {
  if (signal === undefined) return () => {};
  const onAbort = (): void => cancelSoon(call);
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}

/** Cancels `call` on the next turn of the event loop, never in the tick it started (see linkAbort); cancelling a call that ended is a no-op. */
function cancelSoon(call: { cancel(): void }): void {
  setImmediate(() => call.cancel());
}

async function* readAll<T>(call: ClientReadableStream<T> | ClientDuplexStream<unknown, T>, unlink: () => void): AsyncGenerator<T> {
  let finished = false;
  try {
    for await (const message of call) yield message as T;
    finished = true;
  } catch (err) {
    finished = true;
    throw toError(err);
  } finally {
    unlink();
    // The consumer stopped early (break or throw): tell the server.
    if (!finished) cancelSoon(call);
  }
}

async function writeAll(call: ClientWritableStream<unknown> | ClientDuplexStream<unknown, unknown>, method: DescMethod, requests: AsyncIterable<unknown> | Iterable<unknown>): Promise<void> {
  try {
    for await (const request of requests) {
      if (call.writableEnded || call.destroyed) return;
      if (!call.write(encodeRequest(method, request))) await new Promise<void>((resolve) => call.once("drain", resolve));
    }
    call.end();
  } catch (err) {
    // A failing request source cancels the call rather than sending half a stream as if complete.
    cancelSoon(call);
    throw err;
  }
}

function bindClientMethod(client: Client, method: DescMethod): unknown {
  const raw = client as unknown as Record<string, (...args: unknown[]) => unknown>;
  const invoke = raw[method.localName]!.bind(client);
  switch (method.methodKind) {
    case "unary":
      return (request: unknown, options?: CallOptions) =>
        new Promise((resolve, reject) => {
          if (options?.signal?.aborted === true) throw cancelledBeforeStart(options.signal);
          const encoded = encodeRequest(method, request);
          let unlink = (): void => {};
          const call = invoke(encoded, toMetadata(options?.metadata), grpcCallOptions(options), (err: ServiceError | null, response: unknown) => {
            unlink();
            if (err) reject(toError(err));
            else resolve(response);
          }) as { cancel(): void };
          unlink = linkAbort(options?.signal, call);
        });
    case "server_streaming":
      return (request: unknown, options?: CallOptions) => {
        let encoded: EncodedMessage;
        try {
          if (options?.signal?.aborted === true) throw cancelledBeforeStart(options.signal);
          encoded = encodeRequest(method, request);
        } catch (err) {
          return failedStream(err);
        }
        const call = invoke(encoded, toMetadata(options?.metadata), grpcCallOptions(options)) as ClientReadableStream<unknown>;
        return readAll(call, linkAbort(options?.signal, call));
      };
    case "client_streaming":
      return (requests: AsyncIterable<unknown> | Iterable<unknown>, options?: CallOptions) =>
        new Promise((resolve, reject) => {
          if (options?.signal?.aborted === true) throw cancelledBeforeStart(options.signal);
          let unlink = (): void => {};
          const call = invoke(toMetadata(options?.metadata), grpcCallOptions(options), (err: ServiceError | null, response: unknown) => {
            unlink();
            if (err) reject(toError(err));
            else resolve(response);
          }) as ClientWritableStream<unknown>;
          unlink = linkAbort(options?.signal, call);
          writeAll(call, method, requests).catch(reject);
        });
    case "bidi_streaming":
      return (requests: AsyncIterable<unknown> | Iterable<unknown>, options?: CallOptions) => {
        if (options?.signal?.aborted === true) return failedStream(cancelledBeforeStart(options.signal));
        const call = invoke(toMetadata(options?.metadata), grpcCallOptions(options)) as ClientDuplexStream<unknown, unknown>;
        const unlink = linkAbort(options?.signal, call);
        writeAll(call, method, requests).catch((err: unknown) => call.destroy(err instanceof Error ? err : new Error(String(err))));
        return readAll(call, unlink);
      };
  }
}

/**
 * Channel options every client starts from (the caller's win). NOTE: channelz off: nothing here serves the
 * channelz service, and its bookkeeping (call counters, a timestamp per message) is per call and per message.
 */
export const DEFAULT_CHANNEL_OPTIONS: Readonly<ChannelOptions> = { "grpc.enable_channelz": 0 };

/** Opens a channel to `address` (host:port) and returns a typed client for `service`. */
export function createGrpcClient<S extends DescService>(service: S, address: string, options: ClientOptions = {}): ServiceClient<S> {
  const Constructor = makeGenericClientConstructor(grpcServiceDefinition(service), service.typeName);
  const client = new Constructor(address, options.credentials ?? grpcCredentials.createInsecure(), { ...DEFAULT_CHANNEL_OPTIONS, ...options.channelOptions });
  const typed: Record<string, unknown> = {
    grpcClient: client,
    close: () => client.close(),
  };
  for (const method of service.methods) typed[method.localName] = bindClientMethod(client, method);
  return typed as ServiceClient<S>;
}

/** True when `err` is a GrpcStatusError with code CANCELLED (a local abort included). */
export function isCancelled(err: unknown): boolean {
  return err instanceof GrpcStatusError && err.code === status.CANCELLED;
}

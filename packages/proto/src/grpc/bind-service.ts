/**
 * Promise- and async-iterator-style handlers → grpc-js handlers.
 *
 * A handler is an async function (unary, client streaming) or an async
 * generator (server streaming, bidi). Requests arrive decoded as protobuf-es
 * messages; responses may be messages or plain init objects, and a streamed
 * one an EncodedMessage (bytes written as they are). A thrown error is
 * mapped to a status once, here, through `toStatus`: a GrpcStatusError keeps
 * its code, anything else becomes what the app's mapper says (INTERNAL by
 * default). Server streams honour back-pressure: a write that fills the
 * socket buffer waits for 'drain' before the generator is asked for more.
 */
import type { DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import {
  status,
  type Metadata,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type StatusObject,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { ClientStalledError } from "./client-stalled-error.js";
import { isGrpcStatusError } from "./grpc-status-error.js";
import { UndecodableMessage } from "./undecodable-message.js";
import { handlerContext, type HandlerContext } from "./handler-context.js";
import { methodPath, type EncodedMessage } from "./service-definition.js";

type In<M extends DescMethod> = MessageShape<M["input"]>;
type Out<M extends DescMethod> = MessageInitShape<M["output"]>;
/** A streamed response: a message, or one already in protobuf binary (a relay's received bytes, a payload written in place). */
type StreamedOut<M extends DescMethod> = Out<M> | EncodedMessage;

/** The handler type of one method, chosen by its kind. */
export type MethodImpl<M extends DescMethod> = M["methodKind"] extends "unary"
  ? (request: In<M>, context: HandlerContext) => Promise<Out<M>>
  : M["methodKind"] extends "server_streaming"
    ? (request: In<M>, context: HandlerContext) => AsyncIterable<StreamedOut<M>>
    : M["methodKind"] extends "client_streaming"
      ? (requests: AsyncIterable<In<M>>, context: HandlerContext) => Promise<Out<M>>
      : (requests: AsyncIterable<In<M>>, context: HandlerContext) => AsyncIterable<StreamedOut<M>>;

/** Handlers for every method of a service, keyed by local name (`generate`, `getInfo`). */
export type ServiceImpl<S extends DescService> = S extends { method: infer Methods }
  ? { [K in keyof Methods]: Methods[K] extends DescMethod ? MethodImpl<Methods[K]> : never }
  : never;

/** Maps a thrown error to the status sent to the client. */
export type ToStatus = (err: unknown) => Partial<StatusObject> & { code: status; details: string };

export interface BindOptions {
  /** The app's single error → status mapping. Default: GrpcStatusError as is, anything else INTERNAL. */
  toStatus?: ToStatus;
  /** A server stream whose client reads nothing for this long is given up, ms; default DEFAULT_WRITE_STALL_TIMEOUT_MS. */
  writeStallTimeoutMs?: number;
}

export const defaultToStatus: ToStatus = (err) => {
  if (isGrpcStatusError(err)) return { code: err.code, details: err.details, metadata: err.metadata };
  const details = err instanceof Error ? err.message : String(err);
  return { code: status.INTERNAL, details };
};

type AnyHandler = (input: unknown, context: HandlerContext) => unknown;

/**
 * The request stream as an async iterable that does not destroy the call when
 * the handler's loop ends. NOTE: a plain `for await` over a Duplex destroys it
 * on completion, which would kill the response half of a bidi call before the
 * handler writes its last message and status.
 */
function requestsOf(call: ServerReadableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>): AsyncIterable<unknown> {
  return {
    async *[Symbol.asyncIterator]() {
      for await (const request of { [Symbol.asyncIterator]: () => call.iterator({ destroyOnReturn: false }) }) {
        // A message the client sent that its schema cannot decode ends the call as the client's fault.
        if (request instanceof UndecodableMessage) throw request.toStatusError();
        yield request;
      }
    },
  };
}

/** A response stream that fails at once with `err`. */
// eslint-disable-next-line require-yield
async function* failedResponses(err: unknown): AsyncGenerator<never> {
  throw err;
}

/** The request of a unary or server-streaming call; throws INVALID_ARGUMENT for one that could not be decoded. */
function decoded(request: unknown): unknown {
  if (request instanceof UndecodableMessage) throw request.toStatusError();
  return request;
}

/**
 * How long a server stream may wait for its client to read before the call is given up, ms. A client that
 * stops reading (or one whose cancel never reached us: create-client.ts) would otherwise hold the handler,
 * and what it holds (KV blocks, admission slots), until the connection closes.
 */
export const DEFAULT_WRITE_STALL_TIMEOUT_MS = 60_000;

/** How a wait for 'drain' ended. */
type DrainOutcome = "drained" | "aborted" | "closed" | "stalled";

/** Resolves on the stream's next 'drain', its close, the signal's abort or after `stallMs`, and removes every listener. */
function drainOrAbort(call: NodeJS.EventEmitter, signal: AbortSignal, stallMs: number): Promise<DrainOutcome> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done("stalled"), stallMs);
    const onDrain = (): void => done("drained");
    const onClose = (): void => done("closed");
    const onAbort = (): void => done("aborted");
    function done(outcome: DrainOutcome): void {
      clearTimeout(timer);
      call.off("drain", onDrain);
      call.off("close", onClose);
      call.off("finish", onClose);
      signal.removeEventListener("abort", onAbort);
      resolve(outcome);
    }
    call.once("drain", onDrain);
    call.once("close", onClose);
    call.once("finish", onClose);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Writes the handler's responses until it is done or the call ends. However the loop ends short of the
 * generator's own end (cancel, a failed write, a stalled client), the generator is returned, so its finally
 * blocks run and free what it holds.
 */
async function writeAll(
  call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>,
  responses: AsyncIterable<unknown>,
  signal: AbortSignal,
  stall: { ms: number; abort(reason: Error): void },
): Promise<void> {
  const iterator = responses[Symbol.asyncIterator]();
  let done = false;
  try {
    while (!signal.aborted) {
      const next = await iterator.next();
      if (next.done === true) {
        done = true;
        return;
      }
      if (signal.aborted) return;
      if (!call.write(next.value)) {
        // NOTE: back-pressure. Racing 'drain' with the abort keeps a cancelled call from waiting forever on a
        // socket nobody reads, and the stall timer one whose cancel never arrived.
        const outcome = await drainOrAbort(call, signal, stall.ms);
        if (outcome === "stalled") {
          stall.abort(new ClientStalledError(stall.ms));
          return;
        }
        if (outcome === "closed") return;
      }
    }
  } finally {
    // NOTE: whatever stopped the loop; `signal.aborted` alone missed a write that failed before the cancel arrived.
    if (!done) await iterator.return?.();
  }
}

function sendError(call: { emit(event: "error", err: unknown): boolean }, err: unknown, toStatus: ToStatus): void {
  const mapped = toStatus(err);
  call.emit("error", { code: mapped.code, details: mapped.details, metadata: mapped.metadata });
}

/** Unary and client-streaming calls: one response (or status) once the handler settles. */
function answerOnce(call: Parameters<typeof handlerContext>[0], path: string, run: (context: HandlerContext) => unknown, callback: sendUnaryData<unknown>, toStatus: ToStatus): void {
  const { context, release } = handlerContext(call, path);
  Promise.resolve()
    .then(() => run(context))
    .finally(release)
    .then(
      (response) => callback(null, response),
      (err: unknown) => {
        const mapped = toStatus(err);
        callback({ code: mapped.code, details: mapped.details, metadata: mapped.metadata as Metadata });
      },
    );
}

/** Server- and bidi-streaming calls: the handler's responses, then OK or its error's status (nothing after a cancel). */
function streamResponses(
  call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>,
  path: string,
  run: (context: HandlerContext) => AsyncIterable<unknown>,
  toStatus: ToStatus,
  stallMs: number,
): void {
  const { context, release, abort } = handlerContext(call, path);
  let responses: AsyncIterable<unknown>;
  try {
    responses = run(context);
  } catch (err) {
    // The request could not be decoded (or a handler threw before returning its generator): the call's status.
    responses = failedResponses(err);
  }
  writeAll(call, responses, context.signal, { ms: stallMs, abort })
    .finally(release)
    .then(
      () => {
        if (!context.signal.aborted) call.end();
      },
      (err: unknown) => {
        if (!context.signal.aborted) sendError(call, err, toStatus);
      },
    );
}

function bindMethod(method: DescMethod, handler: AnyHandler, toStatus: ToStatus, stallMs: number): UntypedHandleCall {
  const path = methodPath(method);
  switch (method.methodKind) {
    case "unary":
      return ((call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => answerOnce(call, path, (context) => handler(decoded(call.request), context), callback, toStatus)) as UntypedHandleCall;
    case "server_streaming":
      return ((call: ServerWritableStream<unknown, unknown>) => streamResponses(call, path, (context) => handler(decoded(call.request), context) as AsyncIterable<unknown>, toStatus, stallMs)) as UntypedHandleCall;
    case "client_streaming":
      return ((call: ServerReadableStream<unknown, unknown>, callback: sendUnaryData<unknown>) => answerOnce(call, path, (context) => handler(requestsOf(call), context), callback, toStatus)) as UntypedHandleCall;
    case "bidi_streaming":
      return ((call: ServerDuplexStream<unknown, unknown>) => streamResponses(call, path, (context) => handler(requestsOf(call), context) as AsyncIterable<unknown>, toStatus, stallMs)) as UntypedHandleCall;
  }
}

/**
 * The grpc-js implementation object for `server.addService(grpcServiceDefinition(service), …)`.
 * Every method of the service must have a handler; a missing one is a bug and throws here.
 */
export function bindService<S extends DescService>(
  service: S,
  impl: ServiceImpl<S>,
  options: BindOptions = {},
): UntypedServiceImplementation {
  const toStatus = options.toStatus ?? defaultToStatus;
  const handlers = impl as unknown as Record<string, AnyHandler | undefined>;
  const bound: UntypedServiceImplementation = {};
  for (const method of service.methods) {
    const handler = handlers[method.localName];
    if (typeof handler !== "function") {
      throw new TypeError(`no handler for ${service.typeName}.${method.name} (expected impl.${method.localName})`);
    }
    bound[method.localName] = bindMethod(method, handler.bind(impl), toStatus, options.writeStallTimeoutMs ?? DEFAULT_WRITE_STALL_TIMEOUT_MS);
  }
  return bound;
}

/**
 * TEST DOUBLE of the sigmaserve router, not a model.
 *
 * A real grpc-js server on 127.0.0.1 (port chosen by the OS) that serves
 * `sigmaserve.v1.InferenceService` through the proto adapter, with handlers a
 * test scripts: it generates nothing, it replays what the test tells it to.
 * Its "tokenizer" is UTF-8 bytes, like the demo model's byte tokenizer. It
 * checks the bearer key when given one and records every call it sees (with
 * its metadata and its handler's AbortSignal) so tests can assert what reached
 * the server.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Server, ServerCredentials, status } from "@grpc/grpc-js";
import { bindService, grpcServiceDefinition, GrpcStatusError, inferencev1, type HandlerContext } from "@sigmaserve/proto";
import { setTimeout as sleep } from "node:timers/promises";

export type GenerateResponseInit = MessageInitShape<typeof inferencev1.GenerateResponseSchema>;
/** A plain init object of GenerateFinish (not a created message), so it can be spread. */
export type GenerateFinishInit = Exclude<MessageInitShape<typeof inferencev1.GenerateFinishSchema>, inferencev1.GenerateFinish>;

/** What the server saw of one call. */
export interface RecordedCall {
  method: "generate" | "tokenize" | "listModels";
  /** 1-based count of calls of this method so far. */
  attempt: number;
  authorization: string | undefined;
  requestId: string | undefined;
  /** Aborts when the client cancels, its deadline passes or it disconnects. */
  signal: AbortSignal;
  request: unknown;
}

/** Scripted behaviour; each hook gets the 1-based attempt number of its method. */
export interface FakeRouterScript {
  /** When set, a call without `authorization: Bearer <apiKey>` fails UNAUTHENTICATED. */
  apiKey?: string;
  generate?: (request: inferencev1.GenerateRequest, context: HandlerContext, attempt: number) => AsyncIterable<GenerateResponseInit>;
  tokenize?: (request: inferencev1.TokenizeRequest, attempt: number) => Promise<MessageInitShape<typeof inferencev1.TokenizeResponseSchema>>;
  listModels?: (attempt: number) => Promise<MessageInitShape<typeof inferencev1.ListModelsResponseSchema>>;
}

export interface FakeRouter {
  address: string;
  calls: RecordedCall[];
  /** Calls of one method, in arrival order. */
  callsOf(method: RecordedCall["method"]): RecordedCall[];
  stop(): Promise<void>;
}

/** The byte "tokenizer" of the double: UTF-8 bytes, BOS (id 1) first when asked. */
export function byteTokens(text: string, addBos = false): number[] {
  return [...(addBos ? [1] : []), ...new TextEncoder().encode(text)];
}

/** A finish message with plausible defaults; `overrides` replaces fields. */
export function finishMessage(overrides: GenerateFinishInit = {}): GenerateResponseInit {
  return {
    event: {
      case: "finish",
      value: {
        finishReason: inferencev1.FinishReason.STOP,
        usage: { promptTokens: 3, completionTokens: 0, cachedPromptTokens: 0 },
        timings: { queueMs: 1, ttftMs: 2, e2eMs: 3, meanItlMs: 0.5, routerMs: 0.25 },
        requestId: "req-fake-1",
        seed: 42n,
        ...overrides,
      },
    },
  };
}

/**
 * Streams `pieces` as one chunk each (byte tokens, consecutive offsets), then
 * a finish, pausing `intervalMs` before each chunk. Stops quietly when the
 * call is cancelled, as the router does.
 */
export async function* scriptedStream(
  pieces: readonly string[],
  context: HandlerContext,
  options: { intervalMs?: number; finish?: GenerateFinishInit } = {},
): AsyncGenerator<GenerateResponseInit> {
  let offset = 0;
  for (const piece of pieces) {
    if (options.intervalMs !== undefined) await sleep(options.intervalMs, undefined, { signal: context.signal }).catch(() => {});
    if (context.signal.aborted) return;
    const tokenIds = byteTokens(piece);
    yield { event: { case: "chunk", value: { tokenIds, textDelta: piece, completionOffset: offset } } };
    offset += tokenIds.length;
  }
  yield finishMessage({ usage: { promptTokens: 3, completionTokens: offset, cachedPromptTokens: 0 }, ...options.finish });
}

export async function startFakeRouter(script: FakeRouterScript, options: { credentials?: ServerCredentials } = {}): Promise<FakeRouter> {
  const server = new Server();
  const calls: RecordedCall[] = [];
  const callsOf = (method: RecordedCall["method"]): RecordedCall[] => calls.filter((call) => call.method === method);

  const admit = (method: RecordedCall["method"], context: HandlerContext, request: unknown): number => {
    const authorization = context.metadata.get("authorization")[0]?.toString();
    const attempt = callsOf(method).length + 1;
    const requestId = context.metadata.get("x-request-id")[0]?.toString();
    calls.push({ method, attempt, authorization, requestId, signal: context.signal, request });
    if (script.apiKey !== undefined && authorization !== `Bearer ${script.apiKey}`) {
      throw new GrpcStatusError(status.UNAUTHENTICATED, "api key: missing or not recognised");
    }
    return attempt;
  };

  const impl = bindService(inferencev1.InferenceService, {
    async *generate(request, context) {
      const attempt = admit("generate", context, request);
      if (script.generate === undefined) throw new GrpcStatusError(status.UNIMPLEMENTED, "the fake router scripts no Generate");
      yield* script.generate(request, context, attempt);
    },
    async tokenize(request, context) {
      const attempt = admit("tokenize", context, request);
      if (script.tokenize !== undefined) return script.tokenize(request, attempt);
      return { tokenIds: byteTokens(request.text, request.addSpecialTokens), maxContextTokens: 2048 };
    },
    async listModels(request, context) {
      const attempt = admit("listModels", context, request);
      if (script.listModels !== undefined) return script.listModels(attempt);
      return { models: [] };
    },
  });
  server.addService(grpcServiceDefinition(inferencev1.InferenceService), impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", options.credentials ?? ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return {
    address: `127.0.0.1:${port}`,
    calls,
    callsOf,
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Streams a test left open must not keep the process alive.
        setTimeout(() => server.forceShutdown(), 2_000).unref();
      }),
  };
}

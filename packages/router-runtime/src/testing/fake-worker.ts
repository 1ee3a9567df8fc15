/**
 * TEST DOUBLE of a sigmaserve worker: NOT the real worker.
 *
 * A real grpc-js server on 127.0.0.1 (port chosen by the OS) that implements
 * sigmaserve.worker.v1.WorkerService with scripted, deterministic behaviour
 * and no model, so the router's doors can be tested in-process against a real
 * gRPC hop. The real worker (apps/worker, with the engine and the KV cache)
 * is exercised by the cross-process tests in test/.
 *
 * What Generate does, for every request:
 * - the completion is `behaviour.reply` as byte tokens (one token per UTF-8
 *   byte, the byte tokenizer's ids), cut at `sampling.max_tokens` (default 16):
 *   cut → FINISH_REASON_LENGTH, else FINISH_REASON_STOP (as if EOS followed);
 * - a replay (generated_token_ids set) continues after the tokens it carries,
 *   as the real worker does;
 * - tokens go out `tokensPerChunk` at a time, `chunkIntervalMs` apart, with
 *   `text_delta` from the byte tokenizer's streaming detokenizer (so a
 *   multi-byte character split across chunks yields an empty delta);
 * - with `sampling.logprobs = N`, each token has logprob -0.5 and N
 *   alternatives (token id + j, logprob -(0.5 + j)), exact in float32;
 * - usage: prompt_tokens = the prompt's length, completion_tokens = tokens
 *   sent, cached_prompt_tokens = `behaviour.cachedPromptTokens`;
 * - the only sampling rule it checks is the worker's top_p rule
 *   (INVALID_ARGUMENT with a BadRequest on `sampling.top_p`, as the real
 *   worker sends it), which the router checks first anyway;
 *   `behaviour.fail` scripts any other status (with `violations`, a BadRequest
 *   in the worker's field names), before or after some tokens.
 *
 * Every call is recorded with what the handler saw, including whether the
 * router cancelled it (its signal aborted).
 */
import { create } from "@bufbuild/protobuf";
import { Metadata, Server, ServerCredentials, status } from "@grpc/grpc-js";
import { KV_HASH_ALGORITHM } from "@sigmaserve/kvcache/hash";
import { ByteTokenizer } from "@sigmaserve/model/tokenizer";
import { badRequestError, bindService, coordv1, GrpcStatusError, grpcServiceDefinition, inferencev1, kvv1, setBadRequest, workerv1, type FieldViolation, type ServiceImpl } from "@sigmaserve/proto";
import { setTimeout as sleep } from "node:timers/promises";

export const FAKE_MODEL_ID = "sigma-tiny";
export const FAKE_MAX_CONTEXT_TOKENS = 2048;
export const FAKE_BLOCK_SIZE_TOKENS = 16;
/** max_tokens when the request leaves it unset, as the real worker. */
export const FAKE_DEFAULT_MAX_TOKENS = 16;
/** The byte tokenizer's EOS id, reported as the matched stop token. */
const EOS_TOKEN_ID = 257;

export interface FakeWorkerBehaviour {
  /** The completion every request generates. */
  reply: string;
  tokensPerChunk: number;
  chunkIntervalMs: number;
  cachedPromptTokens: number;
  /**
   * Fail the call with this status after `afterTokens` tokens (default 0: before the first); `violations` make it a
   * BadRequest; `trailers` are sent with the status (e.g. a handover's target).
   */
  fail: { code: status; details: string; afterTokens?: number; violations?: FieldViolation[]; trailers?: Record<string, string> } | undefined;
  /** Go silent (a hung worker: no message, no status) once this many tokens of the completion are out, until cancelled. */
  stallAfterTokens: number | undefined;
}

export const DEFAULT_FAKE_BEHAVIOUR: Readonly<FakeWorkerBehaviour> = {
  reply: "Hello, world!",
  tokensPerChunk: 4,
  chunkIntervalMs: 0,
  cachedPromptTokens: 0,
  fail: undefined,
  stallAfterTokens: undefined,
};

function scriptedFailure(fail: NonNullable<FakeWorkerBehaviour["fail"]>): GrpcStatusError {
  const metadata = fail.violations === undefined ? (fail.trailers === undefined ? undefined : new Metadata()) : setBadRequest(fail.code, fail.details, fail.violations);
  for (const [key, value] of Object.entries(fail.trailers ?? {})) metadata!.set(key, value);
  return new GrpcStatusError(fail.code, fail.details, metadata === undefined ? undefined : { metadata });
}

export interface FakeGenerateCall {
  request: workerv1.GenerateRequest;
  /** Resolves when the handler ended; `aborted` means the router cancelled the call. */
  ended: Promise<{ aborted: boolean; sentTokens: number }>;
}

export class FakeWorker {
  /** Mutable: a test changes it between requests. */
  behaviour: FakeWorkerBehaviour = { ...DEFAULT_FAKE_BEHAVIOUR };
  readonly calls: FakeGenerateCall[] = [];

  private constructor(
    private readonly server: Server,
    readonly workerId: string,
    readonly address: string,
  ) {}

  static async start(options: { workerId?: string; behaviour?: Partial<FakeWorkerBehaviour> } = {}): Promise<FakeWorker> {
    const server = new Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    const worker = new FakeWorker(server, options.workerId ?? "fake-worker-1", `127.0.0.1:${port}`);
    worker.behaviour = { ...DEFAULT_FAKE_BEHAVIOUR, ...options.behaviour };
    server.addService(grpcServiceDefinition(workerv1.WorkerService), bindService(workerv1.WorkerService, worker.impl()));
    return worker;
  }

  /** The registry entry for this worker, for `pool.upsert`. */
  workerInfo(): coordv1.WorkerInfo {
    return create(coordv1.WorkerInfoSchema, {
      workerId: this.workerId,
      epoch: 1n,
      grpcAddress: this.address,
      model: { id: FAKE_MODEL_ID, tokenizer: "byte", vocabSize: 259, maxContextTokens: FAKE_MAX_CONTEXT_TOKENS },
      kvHash: { algorithm: KV_HASH_ALGORITHM, blockSizeTokens: FAKE_BLOCK_SIZE_TOKENS },
      // sigma-tiny's block bytes at 16 tokens (f32), in the pools workerLoad() reports.
      kvCapacity: [
        { component: kvv1.KvComponent.K, tier: kvv1.KvTier.DEVICE, numBlocks: 100, blockBytes: 8_192n },
        { component: kvv1.KvComponent.V, tier: kvv1.KvTier.DEVICE, numBlocks: 50, blockBytes: 32_768n },
        { component: kvv1.KvComponent.V, tier: kvv1.KvTier.HOST, numBlocks: 400, blockBytes: 32_768n },
      ],
      startedAtUnixMs: 1_700_000_000_000n,
    });
  }

  /** A heartbeat as the real worker sends it: READY, with K and V pools on device and host. */
  workerLoad(overrides: Partial<{ state: coordv1.WorkerState; runningRequests: number; waitingRequests: number }> = {}): coordv1.WorkerLoad {
    return create(coordv1.WorkerLoadSchema, {
      workerId: this.workerId,
      epoch: 1n,
      state: overrides.state ?? coordv1.WorkerState.READY,
      runningRequests: overrides.runningRequests ?? 1,
      waitingRequests: overrides.waitingRequests ?? 2,
      kvUsage: [
        { component: kvv1.KvComponent.K, tier: kvv1.KvTier.DEVICE, usedBlocks: 10, cachedFreeBlocks: 5, totalBlocks: 100 },
        { component: kvv1.KvComponent.V, tier: kvv1.KvTier.DEVICE, usedBlocks: 8, cachedFreeBlocks: 2, totalBlocks: 50 },
        { component: kvv1.KvComponent.V, tier: kvv1.KvTier.HOST, usedBlocks: 3, cachedFreeBlocks: 0, totalBlocks: 400 },
      ],
      measuredAtUnixMs: 1_700_000_001_000n,
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }

  private impl(): ServiceImpl<typeof workerv1.WorkerService> {
    const unimplemented = (method: string) => new GrpcStatusError(status.UNIMPLEMENTED, `the fake worker does not implement ${method}`);
    return {
      getInfo: async () => ({ info: this.workerInfo() }),
      getLoad: async () => ({ load: this.workerLoad() }),
      drain: async () => {
        throw unimplemented("Drain");
      },
      // eslint-disable-next-line require-yield
      exportKv: async function* () {
        throw unimplemented("ExportKv");
      },
      importKv: async () => {
        throw unimplemented("ImportKv");
      },
      getTokenizer: async () => {
        throw unimplemented("GetTokenizer");
      },
      generate: (request, context) => this.generate(request, context.signal),
    };
  }

  private generate(request: workerv1.GenerateRequest, signal: AbortSignal): AsyncGenerator<workerv1.GenerateResponse> {
    let resolveEnded!: (value: { aborted: boolean; sentTokens: number }) => void;
    this.calls.push({ request, ended: new Promise((resolve) => (resolveEnded = resolve)) });
    const behaviour = { ...this.behaviour };
    return (async function* () {
      let sent = request.generatedTokenIds.length;
      try {
        const topP = request.sampling?.topP;
        if (topP !== undefined && !(topP > 0 && topP <= 1)) throw badRequestError([{ field: "sampling.top_p", description: `must be in (0, 1], got ${topP}` }]);
        const reply = new ByteTokenizer().encode(behaviour.reply);
        const maxTokens = request.sampling?.maxTokens ?? FAKE_DEFAULT_MAX_TOKENS;
        const tokens = reply.slice(0, maxTokens);
        const detokenizer = new ByteTokenizer().createDetokenizer();
        const alternatives = request.sampling?.logprobs;
        for (;;) {
          if (behaviour.fail !== undefined && sent >= (behaviour.fail.afterTokens ?? 0)) throw scriptedFailure(behaviour.fail);
          if (sent >= tokens.length) break;
          if (behaviour.stallAfterTokens !== undefined && sent >= behaviour.stallAfterTokens) {
            await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
            return;
          }
          if (behaviour.chunkIntervalMs > 0) await sleep(behaviour.chunkIntervalMs, undefined, { signal }).catch(() => undefined);
          if (signal.aborted) return;
          const ids = tokens.slice(sent, sent + behaviour.tokensPerChunk);
          const last = sent + ids.length === tokens.length;
          yield create(workerv1.GenerateResponseSchema, {
            event: {
              case: "chunk",
              value: {
                tokenIds: ids,
                textDelta: detokenizer.push(ids) + (last ? detokenizer.flush() : ""),
                completionOffset: sent,
                logprobs:
                  alternatives === undefined
                    ? []
                    : ids.map((id) => ({ tokenId: id, logprob: -0.5, topLogprobs: Array.from({ length: alternatives }, (_, j) => ({ tokenId: id + j, logprob: -(0.5 + j) })) })),
              },
            },
          });
          sent += ids.length;
        }
        const cut = reply.length > maxTokens;
        yield create(workerv1.GenerateResponseSchema, {
          event: {
            case: "finish",
            value: {
              finishReason: cut ? inferencev1.FinishReason.LENGTH : inferencev1.FinishReason.STOP,
              ...(cut ? {} : { matchedStopTokenId: EOS_TOKEN_ID }),
              usage: { promptTokens: request.promptTokenIds.length, completionTokens: sent, cachedPromptTokens: behaviour.cachedPromptTokens },
              requestId: request.requestId,
              seed: request.sampling?.seed ?? 0n,
            },
          },
        });
      } finally {
        resolveEnded({ aborted: signal.aborted, sentTokens: sent });
      }
    })();
  }
}

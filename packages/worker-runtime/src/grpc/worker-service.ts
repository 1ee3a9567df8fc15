/**
 * WorkerService handlers. Generate validates, hands the request to the
 * scheduler and relays what the scheduler produces; cancelling the call (or
 * its deadline passing) cancels the request, which frees its blocks.
 * Generate's response headers carry `x-request-id` (the router's request id),
 * sent once the request is accepted, before its first token.
 */
import { create } from "@bufbuild/protobuf";
import { Metadata } from "@grpc/grpc-js";
import { kvComponentFromProto, kvComponentToProto, kvDtypeFromProto } from "@sigmaserve/coord";
import { KvTransferError } from "@sigmaserve/kvcache";
import { inferencev1, kvv1, workerv1, type ServiceImpl } from "@sigmaserve/proto";
import { DrainingError, DuplicateRequestError, HandedOverError, InvalidRequestError, MigrationLeaseError } from "../errors.js";
import type { RequestFinish, TokenChunk } from "../scheduler/engine-request.js";
import type { WorkerRuntime } from "../worker-runtime.js";
import { AsyncQueue } from "./async-queue.js";
import { exportFrameMessages } from "./export-frame-message.js";
import { validateGenerate } from "./validate-generate.js";
import { getTokenizerResponse } from "./get-tokenizer.js";
import { startGenerateSpan } from "../tracing/generate-span.js";

/** Largest ExportKv frame when the request sets no max_frame_bytes, bytes (as worker.proto documents). */
export const DEFAULT_EXPORT_FRAME_BYTES = 4 * 2 ** 20;

/** Response header of Generate naming the request id (the router's, so one id joins both processes' logs). */
export const REQUEST_ID_METADATA = "x-request-id";

const FINISH_REASONS: Record<Exclude<RequestFinish["reason"], "handover">, inferencev1.FinishReason> = {
  stop: inferencev1.FinishReason.STOP,
  length: inferencev1.FinishReason.LENGTH,
  cancelled: inferencev1.FinishReason.CANCELLED,
  error: inferencev1.FinishReason.ERROR,
};

function chunkMessage(chunk: TokenChunk): workerv1.GenerateResponse {
  return create(workerv1.GenerateResponseSchema, {
    event: {
      case: "chunk",
      value: {
        tokenIds: chunk.tokenIds,
        textDelta: chunk.textDelta,
        completionOffset: chunk.completionOffset,
        logprobs: (chunk.logprobs ?? []).map((l) => ({ tokenId: l.tokenId, logprob: l.logprob, topLogprobs: l.topLogprobs })),
      },
    },
  });
}

/**
 * GenerateFinish.prompt_logprobs: one entry per prompt token. The first has nothing before it, so it carries
 * only the token id (logprob 0, no alternatives), as inference.proto documents.
 */
function promptLogprobsMessage(finish: RequestFinish, promptTokens: readonly number[]): inferencev1.TokenLogprob[] {
  const entries = finish.promptLogprobs;
  if (entries === undefined) return [];
  return promptTokens.map((tokenId, position) => {
    const entry = entries[position];
    return create(inferencev1.TokenLogprobSchema, entry === undefined ? { tokenId } : { tokenId, logprob: entry.logprob, topLogprobs: entry.topLogprobs.map((t) => ({ tokenId: t.tokenId, logprob: t.logprob })) });
  });
}

function finishMessage(requestId: string, finish: RequestFinish & { reason: keyof typeof FINISH_REASONS }, promptTokens: readonly number[]): workerv1.GenerateResponse {
  return create(workerv1.GenerateResponseSchema, {
    event: {
      case: "finish",
      value: {
        finishReason: FINISH_REASONS[finish.reason],
        matchedStop: finish.matchedStop ?? "",
        ...(finish.matchedStopTokenId === undefined ? {} : { matchedStopTokenId: finish.matchedStopTokenId }),
        usage: finish.usage,
        timings: finish.timings,
        requestId,
        seed: finish.seed,
        errorMessage: finish.errorMessage ?? "",
        promptLogprobs: promptLogprobsMessage(finish, promptTokens),
      },
    },
  });
}

/** An import's header must name this worker's model and, when it names one, its hash spec. */
function checkImportHeader(header: workerv1.ImportKvHeader, runtime: WorkerRuntime): void {
  if (header.model !== runtime.model.id) throw new InvalidRequestError("header.model", `is "${header.model}"; this worker serves "${runtime.model.id}"`);
  const spec = header.kvHash;
  if (spec === undefined) return;
  const own = runtime.workerInfo().kvHash!;
  if (spec.algorithm !== own.algorithm || spec.seed !== own.seed) throw new InvalidRequestError("header.kv_hash", `is ${spec.algorithm} seed ${spec.seed}; this worker hashes with ${own.algorithm} seed ${own.seed}`);
  if (spec.blockSizeTokens !== own.blockSizeTokens) throw new InvalidRequestError("header.kv_hash.block_size_tokens", `is ${spec.blockSizeTokens}; this worker's blocks hold ${own.blockSizeTokens} tokens`);
}

export function workerServiceImpl(runtime: WorkerRuntime): ServiceImpl<typeof workerv1.WorkerService> {
  return {
    async getInfo() {
      return { info: runtime.workerInfo() };
    },

    async getTokenizer() {
      return getTokenizerResponse(runtime.model.id, runtime.tokenizerFiles);
    },

    async *generate(request, context) {
      if (runtime.scheduler.isDraining) throw new DrainingError(runtime.config.workerId);
      const submit = validateGenerate(request, { modelId: runtime.model.id, config: runtime.model.config, maxTokensLimit: runtime.config.maxTokensLimit });
      if (runtime.scheduler.has(submit.requestId)) throw new DuplicateRequestError(submit.requestId);
      // A prefix no peer had (the router would have pulled it) may still be in the remote tier.
      if (runtime.remoteTier !== undefined) {
        const known = [...submit.promptTokens, ...(submit.replayTokens ?? [])];
        await runtime.remoteTier.fetchMissing(runtime.kv.promptBlockHashes(known.slice(0, known.length - 1), submit.cacheSalt));
        if (runtime.scheduler.isDraining) throw new DrainingError(runtime.config.workerId);
        if (runtime.scheduler.has(submit.requestId)) throw new DuplicateRequestError(submit.requestId);
      }
      const headers = new Metadata();
      headers.set(REQUEST_ID_METADATA, submit.requestId);
      context.sendHeaders(headers);
      const queue = new AsyncQueue<workerv1.GenerateResponse>();
      let handedOverTo: Promise<string | null> | undefined;
      const sink = {
        onChunk: (chunk: TokenChunk) => queue.push(chunkMessage(chunk)),
        onFinish: (finish: RequestFinish) => {
          // A handed-over request ends without a finish: the router continues it where its KV went.
          if (finish.reason === "handover") handedOverTo = runtime.handovers.outcome(submit.requestId);
          else queue.push(finishMessage(submit.requestId, { ...finish, reason: finish.reason }, submit.promptTokens));
          queue.end();
        },
      };
      const span = startGenerateSpan(context.metadata, submit, runtime.config.workerId, runtime.model.id);
      runtime.scheduler.submit(submit, span.track(runtime.metrics.track(sink, submit.arrivedAtUnixMs ?? Date.now())));
      const onAbort = (): void => runtime.scheduler.cancel(submit.requestId);
      context.signal.addEventListener("abort", onAbort, { once: true });
      let failure: unknown;
      try {
        yield* queue;
        if (handedOverTo !== undefined) throw new HandedOverError(submit.requestId, await handedOverTo);
      } catch (err) {
        failure = err;
        throw err;
      } finally {
        span.end(failure instanceof HandedOverError ? undefined : failure);
        context.signal.removeEventListener("abort", onAbort);
        // A consumer that stopped early (or an aborted call) must not leave the request running.
        runtime.scheduler.cancel(submit.requestId);
      }
    },

    async getLoad() {
      return { load: runtime.workerLoad() };
    },

    async drain(request) {
      void runtime.drain(request.command?.graceMs ?? 0, { migrate: request.command?.migrate ?? false });
      const load = runtime.workerLoad();
      return {
        status: { workerId: runtime.config.workerId, state: load.state, runningRequests: load.runningRequests, waitingRequests: load.waitingRequests },
      };
    },

    async *exportKv(request) {
      if (request.expectedEpoch !== 0n && request.expectedEpoch !== runtime.eventLog.epoch) {
        throw new MigrationLeaseError(request.migrationId, "stale-epoch", `expected this worker at epoch ${request.expectedEpoch}, but it is at ${runtime.eventLog.epoch}: it restarted, and the blocks it offered are gone`);
      }
      // An export for a migration is served only while its offer stands, and only for the blocks it named.
      if (request.migrationId !== "") {
        if (runtime.migration === undefined) throw new MigrationLeaseError(request.migrationId, "unknown", "names no offer: this worker makes none (it has no coordination bus)");
        runtime.migration.leases.check(request.migrationId, request.blockHashes);
      }
      // Unset: each component as stored (raw pool bits; the importer converts if its pool stores another type).
      const asked = kvDtypeFromProto(request.wireDtype);
      if (asked === undefined && request.wireDtype !== kvv1.KvDtype.UNSPECIFIED) throw new InvalidRequestError("wire_dtype", `is ${request.wireDtype}, not a KV dtype this worker knows (F32, F16, BF16, or unset for as stored)`);
      const wireDtype = { k: asked ?? runtime.kv.dtype.k, v: asked ?? runtime.kv.dtype.v };
      const components = (["k", "v"] as const).filter((c) => request.components.length === 0 || request.components.includes(kvComponentToProto(c)));
      const plan = runtime.kv.exportFrames(request.blockHashes, { ...(asked === undefined ? {} : { wireDtype: asked }), components, maxFrameBytes: request.maxFrameBytes > 0 ? request.maxFrameBytes : DEFAULT_EXPORT_FRAME_BYTES });
      const messages = exportFrameMessages(wireDtype, plan.parents);
      let bytesSent = 0n;
      try {
        for (const frame of plan.frames(messages.allocate)) {
          runtime.hooks.onExportFrame?.({ component: frame.component, blocks: frame.hashes.length });
          bytesSent += BigInt(frame.bytes.byteLength);
          runtime.metrics.sent(frame.component, frame.bytes.byteLength);
          // Already protobuf binary (export-frame-message.ts): the serialiser passes it through.
          yield messages.take() as unknown as workerv1.ExportKvResponse;
        }
      } finally {
        plan.close();
      }
      yield { event: { case: "summary", value: { missingBlockHashes: plan.missing, bytesSent } } };
    },

    async importKv(requests) {
      // Frames are imported as they arrive (K and V in either order): a block is registered once both
      // of its halves passed their checksums; whatever is incomplete when the stream ends is freed.
      let session: ReturnType<typeof runtime.kv.beginImport> | undefined;
      const parents = new Map<bigint, bigint | null>();
      let bytesReceived = 0n;
      try {
        for await (const message of requests) {
          if (message.event.case === "header") {
            if (session !== undefined) throw new InvalidRequestError("header", "must be sent once, as the first message");
            checkImportHeader(message.event.value, runtime);
            session = runtime.kv.beginImport({ parents });
          } else if (message.event.case === "frame") {
            if (session === undefined) throw new InvalidRequestError("header", "must be the first message of the stream");
            const frame = message.event.value;
            const component = kvComponentFromProto(frame.component);
            if (component === undefined) throw new InvalidRequestError("frame.component", "must be K or V");
            bytesReceived += BigInt(frame.payload.byteLength);
            runtime.metrics.received(component, frame.payload.byteLength);
            for (const block of frame.blocks) parents.set(block.blockHash, block.parentBlockHash ?? null);
            try {
              session.acceptFrame(frame.payload, component);
            } catch (err) {
              if (!(err instanceof KvTransferError)) throw err;
              throw new InvalidRequestError("frame.payload", err.message, { cause: err });
            }
          }
        }
        if (session === undefined) throw new InvalidRequestError("header", "is missing: the stream carried no header");
      } finally {
        session?.finish();
      }
      const result = session.finish();
      return {
        blocksImported: result.imported.length,
        refusedBlockHashes: [...result.refused.map((r) => r.hash), ...result.noRoom],
        bytesReceived,
      };
    },
  };
}


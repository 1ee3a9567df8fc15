/**
 * Where the load goes: the router's public gRPC service, or one worker
 * directly through its internal gRPC service. Both are reduced to the same
 * stream of events, so the load generator measures them identically.
 */
import { GrpcStatusError, createGrpcClient, inferencev1, workerv1 } from "@sigmaserve/proto";
import type { WorkloadRequest } from "./workload.js";

/** gRPC status code RESOURCE_EXHAUSTED (grpc-js `status.RESOURCE_EXHAUSTED`). */
const GRPC_RESOURCE_EXHAUSTED = 8;
export const MODEL = "sigma-tiny";

export type TargetEvent =
  | { type: "chunk"; tokens: number }
  /** routerMs: the router's own share of TTFT as it reports it (Timings.router_ms); absent going direct. */
  | { type: "finish"; finishReason: string; promptTokens: number; cachedPromptTokens: number; completionTokens: number; routerMs?: number };

export interface Target {
  readonly name: string;
  generate(request: WorkloadRequest, requestId: string, timeoutMs: number): AsyncIterable<TargetEvent>;
  /** Whether a failure is the server refusing load (RESOURCE_EXHAUSTED) rather than an error. */
  isRejection(err: unknown): boolean;
  close(): void;
}

/**
 * The router, through the generated InferenceService client: the same grpc-js machinery as the direct target,
 * so router against direct differs only by the router (the SDK adds its own per-event work on the client; the
 * tests in test/ cover it). No retries: a failure counts as it happened.
 */
export function routerTarget(address: string): Target {
  const client = createGrpcClient(inferencev1.InferenceService, address);
  return {
    name: "router",
    async *generate(request, requestId, timeoutMs) {
      const stream = client.generate(
        { model: MODEL, prompt: { case: "tokenIds", value: { ids: request.promptTokenIds } }, sampling: { maxTokens: request.maxTokens, temperature: 0, ignoreEos: true }, clientRequestId: requestId },
        { timeoutMs },
      );
      for await (const message of stream) {
        if (message.event.case === "chunk") yield { type: "chunk", tokens: message.event.value.tokenIds.length };
        else if (message.event.case === "finish") yield finishEvent(message.event.value);
      }
    },
    isRejection: (err) => err instanceof GrpcStatusError && err.code === GRPC_RESOURCE_EXHAUSTED,
    close: () => client.close(),
  };
}

const REASONS: Partial<Record<inferencev1.FinishReason, string>> = {
  [inferencev1.FinishReason.STOP]: "stop",
  [inferencev1.FinishReason.LENGTH]: "length",
  [inferencev1.FinishReason.CANCELLED]: "cancelled",
  [inferencev1.FinishReason.ERROR]: "error",
};

/** A finish from the router or a worker (the same message), as the load generator counts it. */
function finishEvent(finish: inferencev1.GenerateFinish): TargetEvent {
  return {
    type: "finish",
    finishReason: REASONS[finish.finishReason] ?? `reason ${finish.finishReason}`,
    promptTokens: finish.usage?.promptTokens ?? 0,
    cachedPromptTokens: finish.usage?.cachedPromptTokens ?? 0,
    completionTokens: finish.usage?.completionTokens ?? 0,
    ...(finish.timings === undefined || finish.timings.routerMs === 0 ? {} : { routerMs: finish.timings.routerMs }),
  };
}

/** One worker, directly through `sigmaserve.worker.v1.WorkerService` (what the router itself calls). */
export function workerTarget(address: string): Target {
  const client = createGrpcClient(workerv1.WorkerService, address);
  return {
    name: "direct",
    async *generate(request, requestId, timeoutMs) {
      const stream = client.generate(
        {
          requestId,
          model: MODEL,
          promptTokenIds: request.promptTokenIds,
          sampling: { temperature: 0, maxTokens: request.maxTokens, ignoreEos: true },
          arrivedAtUnixMs: BigInt(Date.now()),
        },
        { timeoutMs },
      );
      for await (const message of stream) {
        if (message.event.case === "chunk") yield { type: "chunk", tokens: message.event.value.tokenIds.length };
        else if (message.event.case === "finish") yield finishEvent(message.event.value);
      }
    },
    isRejection: (err) => err instanceof GrpcStatusError && err.code === GRPC_RESOURCE_EXHAUSTED,
    close: () => client.close(),
  };
}

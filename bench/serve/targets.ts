/**
 * Where the load goes: the router through the public SDK, or one worker
 * directly through its internal gRPC service. Both are reduced to the same
 * stream of events, so the load generator measures them identically.
 */
import { RateLimitedError, createClient } from "@sigmaserve/client";
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

/** The router, through `@sigmaserve/client` (no retries: a failure counts as it happened). */
export function routerTarget(address: string): Target {
  const client = createClient({ address, retry: { maxAttempts: 1 } });
  return {
    name: "router",
    async *generate(request, requestId, timeoutMs) {
      const events = client.generate(
        { model: MODEL, prompt: request.promptTokenIds, maxTokens: request.maxTokens, temperature: 0, ignoreEos: true, clientRequestId: requestId },
        { timeoutMs, requestId },
      );
      for await (const event of events) {
        if (event.type === "chunk") yield { type: "chunk", tokens: event.tokenIds.length };
        else yield { type: "finish", finishReason: event.finishReason, ...event.usage, routerMs: event.timings.routerMs };
      }
    },
    isRejection: (err) => err instanceof RateLimitedError,
    close: () => client.close(),
  };
}

/** One worker, directly through `sigmaserve.worker.v1.WorkerService` (what the router itself calls). */
export function workerTarget(address: string): Target {
  const client = createGrpcClient(workerv1.WorkerService, address);
  const reasons: Partial<Record<inferencev1.FinishReason, string>> = {
    [inferencev1.FinishReason.STOP]: "stop",
    [inferencev1.FinishReason.LENGTH]: "length",
    [inferencev1.FinishReason.CANCELLED]: "cancelled",
    [inferencev1.FinishReason.ERROR]: "error",
  };
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
        else if (message.event.case === "finish") {
          const finish = message.event.value;
          yield {
            type: "finish",
            finishReason: reasons[finish.finishReason] ?? `reason ${finish.finishReason}`,
            promptTokens: finish.usage?.promptTokens ?? 0,
            cachedPromptTokens: finish.usage?.cachedPromptTokens ?? 0,
            completionTokens: finish.usage?.completionTokens ?? 0,
          };
        }
      }
    },
    isRejection: (err) => err instanceof GrpcStatusError && err.code === GRPC_RESOURCE_EXHAUSTED,
    close: () => client.close(),
  };
}

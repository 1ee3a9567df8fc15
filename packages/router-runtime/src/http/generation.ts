/**
 * One generation as the HTTP endpoints see it: started, and its first event
 * awaited, before anything is written to the client. Everything that can go
 * wrong before the first token (a bad field, an unknown model, a full queue,
 * no worker, a worker's BadRequest) is thrown from `Generation.open`,
 * so it becomes a proper HTTP status even for a streaming request; only a
 * failure after the first token has to travel inside the SSE stream.
 *
 * `n` choices are n generations opened together (`openGenerations`): all
 * must start, or those that did are closed and the first failure thrown.
 *
 * Also here: the mapping of the cluster's finish reasons, stop reasons and
 * usage to OpenAI's (and vLLM's `stop_reason`), which both endpoints share.
 */
import { inferencev1 } from "@sigmaserve/proto";
import type { DispatchEvent } from "../generate/dispatcher.js";
import { OpenAiError } from "./openai-error.js";
import { UNAVAILABLE_RETRY_AFTER_S } from "./to-http-error.js";

export class Generation implements AsyncIterable<DispatchEvent> {
  private constructor(
    private readonly first: DispatchEvent | undefined,
    private readonly events: AsyncGenerator<DispatchEvent>,
  ) {}

  /**
   * Waits for the first event; throws what the cluster threw before it, and
   * a FINISH_REASON_ERROR that arrives before any token as its OpenAiError
   * (nothing has been sent yet, so it can still be a plain HTTP status).
   */
  static async open(events: AsyncGenerator<DispatchEvent>): Promise<Generation> {
    const first = await events.next();
    if (first.done !== true && first.value.kind === "finish") {
      const error = finishError(first.value.finish);
      if (error !== null) {
        await events.return(undefined);
        throw error;
      }
    }
    return new Generation(first.done === true ? undefined : first.value, events);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<DispatchEvent> {
    if (this.first !== undefined) yield this.first;
    for (;;) {
      const next = await this.events.next();
      if (next.done === true) return;
      yield next.value;
    }
  }

  /** Ends the generation (cancels the worker call, frees the admission slot); safe to call twice. */
  async close(): Promise<void> {
    await this.events.return(undefined);
  }
}

/**
 * Opens n generations concurrently. If any fails to start, the others are
 * closed (their worker calls cancelled, their admission slots freed) and the
 * failure of the lowest choice index is thrown.
 */
export async function openGenerations(streams: readonly AsyncGenerator<DispatchEvent>[]): Promise<Generation[]> {
  const settled = await Promise.allSettled(streams.map((events) => Generation.open(events)));
  const failed = settled.find((result) => result.status === "rejected");
  if (failed === undefined) return settled.map((result) => (result as PromiseFulfilledResult<Generation>).value);
  await closeGenerations(settled.flatMap((result) => (result.status === "fulfilled" ? [result.value] : [])));
  throw failed.reason;
}

/**
 * The n choices of one request, each its own generation. They share an
 * abort signal: the client's, joined with one that `cancel` fires, so a
 * choice that fails can stop the others and the client hanging up stops all.
 */
export class Choices {
  private constructor(
    readonly generations: readonly Generation[],
    private readonly controller: AbortController,
  ) {}

  /** Starts `n` generations (`start(i, signal)` for choice i) and waits until all have begun (`openGenerations`). */
  static async open(n: number, clientSignal: AbortSignal, start: (index: number, signal: AbortSignal) => AsyncGenerator<DispatchEvent>): Promise<Choices> {
    const controller = new AbortController();
    const signal = AbortSignal.any([clientSignal, controller.signal]);
    return new Choices(await openGenerations(Array.from({ length: n }, (_, index) => start(index, signal))), controller);
  }

  /** Cancels every choice still running. */
  cancel(): void {
    this.controller.abort();
  }

  /** Runs every choice to its end (non-streaming); the first failure cancels the others and is thrown. */
  async collect(): Promise<CollectedGeneration[]> {
    try {
      return await Promise.all(this.generations.map((generation) => collectGeneration(generation)));
    } catch (err) {
      this.cancel();
      throw err;
    }
  }

  async close(): Promise<void> {
    await closeGenerations(this.generations);
  }
}

/** Closes every generation (see Generation.close). */
export async function closeGenerations(generations: readonly Generation[]): Promise<void> {
  await Promise.all(generations.map((generation) => generation.close()));
}

/** OpenAI's finish_reason: STOP → "stop", LENGTH → "length", CANCELLED → null (the request did not finish). */
export type OpenAiFinishReason = "stop" | "length" | null;

export function finishReasonOf(finish: inferencev1.GenerateFinish): OpenAiFinishReason {
  switch (finish.finishReason) {
    case 1 /* STOP */:
      return "stop";
    case 2 /* LENGTH */:
      return "length";
    default:
      return null;
  }
}

/**
 * vLLM's `stop_reason`: the stop string that ended the choice, or the stop
 * token id (an integer) when it was one of the request's `stop_token_ids`;
 * null when it ended at EOS, at its length, or was cancelled. The worker
 * reports EOS as a matched stop token too; an id that the client did not
 * list is EOS (or another of the model's own end tokens), which vLLM reports
 * as null. NOTE: a client that lists the EOS id itself gets that id back,
 * where vLLM (which checks EOS first) says null.
 */
export type StopReason = string | number | null;

export function stopReasonOf(finish: inferencev1.GenerateFinish, stopTokenIds: readonly number[]): StopReason {
  if (finish.finishReason !== inferencev1.FinishReason.STOP) return null;
  if (finish.matchedStop !== "") return finish.matchedStop;
  const id = finish.matchedStopTokenId;
  return id !== undefined && stopTokenIds.includes(id) ? id : null;
}

/** A FINISH_REASON_ERROR (the cluster gave up mid-stream) as the error the client sees; null for any other finish. */
export function finishError(finish: inferencev1.GenerateFinish): OpenAiError | null {
  if (finish.finishReason !== inferencev1.FinishReason.ERROR) return null;
  const sent = finish.usage?.completionTokens ?? 0;
  return new OpenAiError(503, `generation failed after ${sent} tokens: ${finish.errorMessage || "unknown error"}`, "server_error", null, "generation_failed", { "retry-after": UNAVAILABLE_RETRY_AFTER_S });
}

export interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export function usageOf(finish: inferencev1.GenerateFinish): OpenAiUsage {
  const promptTokens = finish.usage?.promptTokens ?? 0;
  const completionTokens = finish.usage?.completionTokens ?? 0;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: finish.usage?.cachedPromptTokens ?? 0 },
  };
}

/**
 * The usage of n choices of one prompt: the prompt counted once, as OpenAI
 * does, the completion tokens summed; cached_tokens is the most that any
 * choice found in the prefix cache (it is a part of the one prompt).
 */
export function usageOfChoices(finishes: readonly inferencev1.GenerateFinish[]): OpenAiUsage {
  const usages = finishes.map(usageOf);
  const promptTokens = usages[0]?.prompt_tokens ?? 0;
  const completionTokens = usages.reduce((sum, usage) => sum + usage.completion_tokens, 0);
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: Math.max(0, ...usages.map((usage) => usage.prompt_tokens_details.cached_tokens)) },
  };
}

export interface CollectedGeneration {
  text: string;
  logprobs: inferencev1.TokenLogprob[];
  finish: inferencev1.GenerateFinish;
}

/** Runs a generation to its end (non-streaming responses); a FINISH_REASON_ERROR is thrown as its OpenAiError. */
export async function collectGeneration(generation: Generation): Promise<CollectedGeneration> {
  let text = "";
  const logprobs: inferencev1.TokenLogprob[] = [];
  for await (const event of generation) {
    if (event.kind === "chunk") {
      text += event.chunk.textDelta;
      logprobs.push(...event.chunk.logprobs);
    } else {
      const error = finishError(event.finish);
      if (error !== null) throw error;
      return { text, logprobs, finish: event.finish };
    }
  }
  throw new OpenAiError(500, "the generation ended without a finish", "server_error", null, "internal_error");
}

/** A response id: the prefix (`cmpl-`, `chatcmpl-`) and 32 hex digits. */
export function responseId(prefix: string, uuid: string): string {
  return `${prefix}${uuid.replaceAll("-", "")}`;
}

/** Seconds since the Unix epoch, OpenAI's `created`. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

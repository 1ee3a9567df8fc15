/**
 * The oracle every stream scenario shares: a seeded request (temperature > 0,
 * ignore_eos, a fixed max_tokens) is deterministic, and a replay after a
 * failover continues the same random stream, so a stream broken by a fault
 * must equal, token for token and in text, the same request run undisturbed.
 * `streamSeeded` records each chunk with its arrival time and checks the
 * stream is gap-free on its own (completion offsets), so a scenario can act
 * on the n-th token (kill, stop) and compare afterwards.
 */
import { SigmaserveError, type GenerateRequest, type SigmaserveClient } from "@sigmaserve/client";
import { mulberry32 } from "../lib/mulberry32.js";

export const MODEL = "sigma-tiny";
export const CHAOS_TEMPERATURE = 0.8;

/** What a stream delivered: tokens, text, and how it ended. */
export interface StreamOutcome {
  tokenIds: number[];
  text: string;
  /** performance.now() of each chunk's arrival, with the token count after it. */
  arrivals: { atMs: number; tokens: number }[];
  finishReason: string | undefined;
  /** The error the iteration threw, if any. */
  error: unknown;
  /** A chunk whose completion_offset was not the count of tokens seen so far. */
  gap: string | undefined;
}

/** A seeded request with a prompt drawn from `seed` (`promptTokens` ids below 256, the byte range). */
export function seededRequest(seed: number, promptTokens: number, maxTokens: number): GenerateRequest {
  const random = mulberry32(seed);
  const prompt = Array.from({ length: promptTokens }, () => 1 + Math.floor(random() * 250));
  return { model: MODEL, prompt, maxTokens, temperature: CHAOS_TEMPERATURE, seed, ignoreEos: true, clientRequestId: `chaos-${seed}` };
}

/**
 * Streams `request`; `onTokens(count)` runs after each chunk (synchronously, before the next one
 * is read) so that a fault lands right after a known token.
 */
export async function streamSeeded(client: SigmaserveClient, request: GenerateRequest, onTokens?: (tokens: number) => void | Promise<void>, timeoutMs = 60_000): Promise<StreamOutcome> {
  const outcome: StreamOutcome = { tokenIds: [], text: "", arrivals: [], finishReason: undefined, error: undefined, gap: undefined };
  try {
    for await (const event of client.generate(request, { timeoutMs })) {
      if (event.type === "finish") {
        outcome.finishReason = event.finishReason;
        continue;
      }
      if (event.completionOffset !== outcome.tokenIds.length && outcome.gap === undefined) outcome.gap = `chunk at offset ${event.completionOffset} after ${outcome.tokenIds.length} tokens`;
      outcome.tokenIds.push(...event.tokenIds);
      outcome.text += event.text;
      outcome.arrivals.push({ atMs: performance.now(), tokens: outcome.tokenIds.length });
      await onTokens?.(outcome.tokenIds.length);
    }
  } catch (err) {
    outcome.error = err;
  }
  return outcome;
}

/** "" when `got` equals `reference` (tokens, text, a length finish); else what differs. */
export function differs(got: StreamOutcome, reference: StreamOutcome): string {
  if (got.error !== undefined) return `the stream failed: ${describeError(got.error)}`;
  if (got.gap !== undefined) return `a gap or repeat: ${got.gap}`;
  if (got.finishReason !== "length") return `finish_reason ${got.finishReason}, expected length`;
  if (got.tokenIds.length !== reference.tokenIds.length) return `${got.tokenIds.length} tokens, the reference has ${reference.tokenIds.length}`;
  const at = got.tokenIds.findIndex((id, i) => id !== reference.tokenIds[i]);
  if (at >= 0) return `token ${at} is ${got.tokenIds[at]}, the reference's is ${reference.tokenIds[at]}`;
  if (got.text !== reference.text) return "same token ids, different text";
  return "";
}

/** `UnavailableError(UNAVAILABLE): message`, for rows and logs. */
export function describeError(err: unknown): string {
  if (err instanceof SigmaserveError) return `${err.name}(${err.code}): ${err.message}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

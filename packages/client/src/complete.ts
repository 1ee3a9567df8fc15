/**
 * A whole completion gathered from a Generate stream.
 *
 * NOTE: a stream that failed after it began (failover could not hide it)
 * rejects with the status's typed error (UnavailableError, InternalError), its
 * `finish` holding the server's error finish (usage, request id, errorMessage);
 * use generate() to keep the text produced before the failure. Only a server
 * that ends an error finish with OK (an older router) resolves with
 * finishReason "error".
 */
import type { FinishEvent, GenerateEvent, TokenLogprob } from "./events.js";

/** The completion and the finish event's fields. */
export interface Completion extends Omit<FinishEvent, "type"> {
  /** All text deltas, concatenated. */
  text: string;
  /** All generated token ids, in order. */
  tokenIds: number[];
  /** One entry per token, when the request asked for logprobs. */
  logprobs?: TokenLogprob[];
}

/** Consumes `events` to the end and folds them into one Completion. */
export async function gather(events: AsyncIterable<GenerateEvent>): Promise<Completion> {
  const text: string[] = [];
  const tokenIds: number[] = [];
  const logprobs: TokenLogprob[] = [];
  let finish: FinishEvent | undefined;
  for await (const event of events) {
    if (event.type === "finish") {
      finish = event;
      continue;
    }
    text.push(event.text);
    tokenIds.push(...event.tokenIds);
    if (event.logprobs !== undefined) logprobs.push(...event.logprobs);
  }
  // generate() ends only after a finish; a missing one is a bug in the stream reader.
  if (finish === undefined) throw new Error("gather: the event stream ended without a finish event");
  const { type: _type, ...summary } = finish;
  const completion: Completion = { ...summary, text: text.join(""), tokenIds };
  if (logprobs.length > 0) completion.logprobs = logprobs;
  return completion;
}

/**
 * Test helpers for the detokenizer invariant: cut an id sequence into push()
 * chunks at arbitrary places, and stream it through a detokenizer.
 */
import type { IncrementalDetokenizer } from "../incremental-detokenizer.js";

/** Cuts `ids` at the given positions (taken modulo length + 1, duplicates allowed, so empty chunks occur). */
export function splitIntoChunks(ids: readonly number[], cuts: readonly number[]): number[][] {
  const positions = [...new Set(cuts.map((cut) => cut % (ids.length + 1)))].sort((a, b) => a - b);
  const chunks: number[][] = [];
  let start = 0;
  for (const position of positions) {
    chunks.push(ids.slice(start, position));
    start = position;
  }
  chunks.push(ids.slice(start));
  // An empty push at the front exercises the "nothing to do" path too.
  return cuts.length % 2 === 0 ? chunks : [[], ...chunks];
}

/** Every push() output, then flush(), in order. */
export function streamChunks(detokenizer: IncrementalDetokenizer, chunks: readonly (readonly number[])[]): string[] {
  const outputs = chunks.map((chunk) => detokenizer.push(chunk));
  outputs.push(detokenizer.flush());
  return outputs;
}

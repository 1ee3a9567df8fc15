/**
 * The two string questions behind stop strings, shared by the streaming
 * `StopChecker` and by anyone who needs the one-shot answer. Which occurrence
 * counts: the proto says generation ends "when the text contains one", so the
 * winner is the occurrence that is complete first, i.e. the one that ENDS
 * first; among occurrences ending at the same place, the one that starts
 * first (the longer stop string). NOTE: this differs from "the leftmost
 * start" only when one stop string ends inside another's occurrence (stops
 * "XYZ" and "Y" on "XYZ" give "X"): waiting for the leftmost start would mean
 * generating past text that already holds a stop string. Matching is on
 * UTF-16 code units; stop strings are whole strings, so no match starts or
 * ends inside a surrogate pair.
 */

/** One stop string occurrence: `stop` starts at `index` of the searched text. */
export interface StopMatch {
  readonly index: number;
  readonly stop: string;
}

/**
 * The occurrence of any of `stops` in `text` that ends first (ties: starts
 * first); undefined when none occurs. Only occurrences that end after
 * `afterIndex` count (default 0: all do): a checker that already looked at
 * text[0, afterIndex) passes its length, so an occurrence it was not allowed
 * to match then (min_tokens) is not matched later.
 */
export function findStopString(text: string, stops: readonly string[], afterIndex = 0): StopMatch | undefined {
  let best: StopMatch | undefined;
  let bestEnd = Infinity;
  for (const stop of stops) {
    // A stop string's first occurrence from a position is also the one that ends first.
    const index = text.indexOf(stop, Math.max(0, afterIndex - stop.length + 1));
    if (index < 0) continue;
    const end = index + stop.length;
    if (end < bestEnd || (end === bestEnd && best !== undefined && index < best.index)) {
      best = { index, stop };
      bestEnd = end;
    }
  }
  return best;
}

/**
 * Length of the longest suffix of `text` that is a proper, non-empty prefix
 * of one of `stops`: how much text must be held back because the next tokens
 * may complete it into a stop string. 0 when no suffix can grow into one.
 */
export function partialStopLength(text: string, stops: readonly string[]): number {
  let held = 0;
  for (const stop of stops) {
    for (let length = Math.min(text.length, stop.length - 1); length > held; length--) {
      if (text.startsWith(stop.slice(0, length), text.length - length)) {
        held = length;
        break;
      }
    }
  }
  return held;
}

/** The one-shot rule: `text` cut right before its first stop string occurrence (findStopString), or whole. */
export function truncateAtStop(text: string, stops: readonly string[]): string {
  const match = findStopString(text, stops);
  return match === undefined ? text : text.slice(0, match.index);
}

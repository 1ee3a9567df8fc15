/** The subtitle line every plot carries: which result it was drawn from, when and where that was measured. */
import type { BenchJson } from "./bench-json.js";

export function provenance(result: BenchJson): string {
  const when = result.measuredAt === undefined ? "" : `, measured ${result.measuredAt.slice(0, 10)}`;
  const where = result.machine?.cores === undefined ? "" : ` on ${result.machine.cores} cores`;
  return `bench/results/${result.name}.json${when}${where}`;
}

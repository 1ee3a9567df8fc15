/** Every plot `npm run bench:plots` draws, in the order docs/benchmarks.md shows them. */
import { CAPACITY_PLOT } from "./capacity-plot.js";
import { DECODE_STEP_PLOT } from "./decode-step-plot.js";
import { MIGRATION_PLOT } from "./migration-plot.js";
import type { PlotDefinition } from "./plot-definition.js";
import { ROUTING_POLICY_PLOT } from "./routing-policy-plot.js";
import { THROUGHPUT_PLOT } from "./throughput-plot.js";

export const PLOTS: readonly PlotDefinition[] = [DECODE_STEP_PLOT, THROUGHPUT_PLOT, ROUTING_POLICY_PLOT, MIGRATION_PLOT, CAPACITY_PLOT];

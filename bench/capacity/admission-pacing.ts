/**
 * How fast a capacity round admits sessions: how many whole prompts one
 * engine step takes (the worker's --max-batch-tokens is that many prompts
 * plus room for the running sessions' decodes).
 *
 * Two bounds. (1) Every session that fits must be admitted before the first
 * one finishes: a session computes SESSION_MAX_TOKENS - 1 decode steps after
 * its prompt's step, so the admissions must take fewer steps than that, with
 * a margin (ADMISSION_STEPS). (2) Selective-V mode: a step's prompts must not
 * need more V device slots than the pool has beside the running sessions'
 * recent windows. NOTE: past that, the cache manager's selective-V policy
 * picks blocks to demote among those the step has reserved but not yet
 * written, and the step fails ("writing v while it is on host"), a worker
 * defect this bench found (reported with issue 16); one step admitting every
 * session at once hits it on sigma-tiny, whose V device pool holds a quarter
 * of the blocks its K pool holds.
 */
import { DEFAULT_RECENT_WINDOW_BLOCKS } from "@sigmaserve/kvcache";
import { SESSION_MAX_TOKENS } from "./admission-round.js";

/** Steps the admissions may take: below the SESSION_MAX_TOKENS - 1 decode steps of the first session, with a margin of 2. */
export const ADMISSION_STEPS = SESSION_MAX_TOKENS - 3;

/** Blocks of the pools that bind, as the worker reports them (GetLoad totals, device tier). */
export interface WorkerPools {
  kDevice: number;
  vDevice: number;
}

export interface Pacing {
  /** Whole prompts per step. */
  perStep: number;
  /** Why the two bounds cannot both hold, when they cannot (the round still runs). */
  warning?: string;
}

export function pace(pools: WorkerPools, sessionBlocks: number, selectiveV: boolean): Pacing {
  // K of every block a session holds stays on the device in every mode: its pool bounds the sessions.
  const fit = Math.floor(pools.kDevice / sessionBlocks);
  // One more than fits, so the refusal is seen within the steps too.
  const perStep = Math.max(1, Math.ceil((fit + 1) / ADMISSION_STEPS));
  if (!selectiveV) return { perStep };
  // A partial prompt may ride along with the whole ones (the budget's decode room), hence perStep + 1.
  const vNeeded = (perStep + 1) * sessionBlocks + fit * DEFAULT_RECENT_WINDOW_BLOCKS;
  if (vNeeded <= pools.vDevice) return { perStep };
  return { perStep, warning: `${perStep} prompts a step need up to ${vNeeded} V device blocks beside the recent windows, the pool has ${pools.vDevice}: the selective-V demotion defect may fail the step` };
}

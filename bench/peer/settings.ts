/**
 * The peer benchmark's knobs. Every knob is a flag:
 * `npm run bench -- peer --threads 1 --max-tokens 32`; `--quick` is a smoke
 * run of seconds (1 layer, 8 new tokens, 4 streams, 5 rounds).
 */
import { parseArgs } from "node:util";

/** Targets of issue 16 §4: ours / transformers.js tokens/s. Reported next to the measurement, never asserted. */
export const TARGET_RATIO_1_STREAM = 1.5;
export const TARGET_RATIO_16_STREAMS = 10;

export interface PeerSettings {
  quick: boolean;
  /** The model: a GQA preset written as an HF Llama dir (its vocabulary must be the tiny BPE's). */
  preset: string;
  /** Layer override; undefined = the preset's. */
  layers: number | undefined;
  seed: number;
  /**
   * ORT intra-op threads, the same on both sides: transformers.js's session
   * options and our worker's --intra-op-threads. Default 1 (our worker's own
   * default). NOTE: at 2, every one of our worker's L+1 ORT sessions has its
   * own intra-op pool whose thread spins after each run; on this shared
   * 2-core machine that measured ~28 ms of worker CPU per token against ~3
   * with spinning off (see docs/benchmarks.md), so 2 measures ORT's spinning
   * more than either runtime.
   */
  threads: number;
  /** New tokens per request (greedy, EOS ignored on both sides so every request makes exactly this many). */
  maxTokens: number;
  /** Concurrent streams of the batched comparison (the 16). */
  streams: number;
  /** Prompts run one after another in a 1-stream round. */
  singlePrompts: number;
  /** Kept rounds per variant (at least 5), after one warm-up round. */
  rounds: number;
  /**
   * Our worker's KV pool element type (its --kv-dtype). f32 by default: the
   * peer keeps its past_key_values in f32, and identical tokens need the same
   * arithmetic. With bf16 (the worker's own default) greedy decoding drifts:
   * measured, 2 of 16 sequences of 64 tokens differ (at tokens 2 and 57).
   */
  kvDtype: "f32" | "bf16" | "f16";
}

function kvDtype(value: string | undefined): PeerSettings["kvDtype"] {
  if (value === undefined) return "f32";
  if (value === "f32" || value === "bf16" || value === "f16") return value;
  throw new RangeError(`--kv-dtype must be f32, bf16 or f16, got "${value}"`);
}

export function parseSettings(args: string[]): PeerSettings {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean" },
      preset: { type: "string" },
      layers: { type: "string" },
      seed: { type: "string" },
      threads: { type: "string" },
      "max-tokens": { type: "string" },
      streams: { type: "string" },
      "single-prompts": { type: "string" },
      rounds: { type: "string" },
      "kv-dtype": { type: "string" },
    },
    strict: true,
  });
  const quick = values.quick === true;
  const int = (name: string, value: string | undefined, fallback: number, min = 1): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new RangeError(`--${name} must be an integer ≥ ${min}, got "${value}"`);
    return n;
  };
  return {
    quick,
    preset: values.preset ?? "llama-tiny",
    layers: values.layers === undefined ? (quick ? 1 : undefined) : int("layers", values.layers, 1),
    seed: int("seed", values.seed, 0, 0),
    threads: int("threads", values.threads, 1),
    maxTokens: int("max-tokens", values["max-tokens"], quick ? 8 : 64),
    streams: int("streams", values.streams, quick ? 4 : 16),
    singlePrompts: int("single-prompts", values["single-prompts"], quick ? 1 : 2),
    rounds: int("rounds", values.rounds, 5, 5),
    kvDtype: kvDtype(values["kv-dtype"]),
  };
}

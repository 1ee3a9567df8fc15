/**
 * `sigmaserve model make`: writes a deterministic demo model directory:
 * config.json, model.safetensors, and the byte tokenizer as standard Hugging
 * Face files (tokenizer.json, tokenizer_config.json with the demo chat
 * template), so HF tools load it and sigmaserve reads it back as the byte
 * tokenizer. `--format hf-llama` writes instead a tiny Llama checkpoint as
 * Hugging Face publishes one (Llama config.json, a real BPE with merges,
 * Llama 3's chat template), to serve a model that is not ours end to end.
 */
import { PRESET_NAMES } from "@sigmaserve/model/config";
import { demoModel, saveModelDir, writeTinyHfLlamaDir } from "@sigmaserve/model/weights";
import type { CommandIo } from "../command-io.js";
import { choiceFlag, defineCommand, integerFlag, parseCommand, requirePreset } from "../parse-command.js";
import { UsageError } from "../usage-error.js";

export const SPEC = defineCommand({
  name: "model make",
  summary: "Write a deterministic demo model directory (config.json, model.safetensors, tokenizer.json, tokenizer_config.json).",
  flags: {
    preset: { type: "string", value: "NAME", description: `the preset to write (${PRESET_NAMES.join(" | ")}); not with --format hf-llama` },
    format: { type: "string", value: "sigmaserve|hf-llama", default: "sigmaserve", description: "sigmaserve: a preset's demo model; hf-llama: a tiny Llama checkpoint in the HF layout (BPE tokenizer, Llama 3 chat template)" },
    out: { type: "string", value: "DIR", description: "directory to write the model into (Hugging Face layout; the chat template is the demo one)" },
    seed: { type: "string", value: "N", default: "0", description: "weight seed; the same seed writes byte-identical files" },
    dtype: { type: "string", value: "f32|f16|bf16", default: "f32", description: "storage dtype of the weights" },
    layers: { type: "string", value: "N", default: "the preset's", description: "override the preset's layer count (for benchmarks)" },
  },
  maxPositionals: 0,
});

export async function modelMake(argv: string[], io: CommandIo): Promise<void> {
  const { values } = parseCommand(SPEC, argv);
  if (values.help === true) return void io.stdout(`${SPEC.usage}\n`);
  const out = values.out as string | undefined;
  if (out === undefined || out === "") throw new UsageError("--out is required", SPEC.usage);
  const seed = integerFlag(values.seed as string | undefined, "--seed", SPEC.usage, { min: 0, fallback: 0 })!;
  const format = choiceFlag(values.format as string | undefined, "--format", ["sigmaserve", "hf-llama"] as const, "sigmaserve", SPEC.usage);
  if (format === "hf-llama") {
    if (values.preset !== undefined || values.layers !== undefined || values.dtype !== undefined) throw new UsageError("--format hf-llama takes only --out and --seed", SPEC.usage);
    await writeTinyHfLlamaDir(out, { seed });
    return void io.stdout(`wrote a tiny HF Llama (seed ${seed}) to ${out}\n`);
  }
  const preset = requirePreset(values.preset as string | undefined, SPEC.usage);
  const layers = integerFlag(values.layers as string | undefined, "--layers", SPEC.usage, { min: 1 });
  const dtype = choiceFlag(values.dtype as string | undefined, "--dtype", ["f32", "f16", "bf16"] as const, "f32", SPEC.usage);
  const model = demoModel(preset, seed, layers === undefined ? {} : { numHiddenLayers: layers });
  await saveModelDir(out, { config: model.config, weights: model.weights, dtype, metadata: { preset, seed: String(seed) } });
  io.stdout(`wrote ${preset} (seed ${seed}, ${model.config.num_hidden_layers} layers, ${dtype}) to ${out}\n`);
}

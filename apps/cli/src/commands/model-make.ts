/**
 * `sigmaserve model make`: writes a deterministic demo model directory:
 * config.json, model.safetensors, and the byte tokenizer as standard Hugging
 * Face files (tokenizer.json, tokenizer_config.json with the demo chat
 * template), so HF tools load it and sigmaserve reads it back as the byte
 * tokenizer. `--format hf-llama` writes instead a tiny Llama checkpoint as
 * Hugging Face publishes one (Llama config.json, a real BPE with merges,
 * Llama 3's chat template), to serve a model that is not ours end to end;
 * with `--preset llama-tiny` (whose format is hf-llama) that checkpoint has the
 * preset's shape, and `--onnx` adds `onnx/model.onnx`, the same weights as one
 * ONNX graph in the layout transformers.js loads (the peer benchmark's).
 */
import { PRESET_NAMES } from "@sigmaserve/model/config";
import { demoModel, saveModelDir, writeTinyHfLlamaDir } from "@sigmaserve/model/weights";
import type { CommandIo } from "../command-io.js";
import { choiceFlag, defineCommand, integerFlag, parseCommand, requirePreset } from "../parse-command.js";
import { UsageError } from "../usage-error.js";

/** Presets that are plain Llamas on the tiny HF BPE: written only in the HF layout. */
const HF_LLAMA_PRESETS = new Set(["llama-tiny"]);

export const SPEC = defineCommand({
  name: "model make",
  summary: "Write a deterministic demo model directory (config.json, model.safetensors, tokenizer.json, tokenizer_config.json).",
  flags: {
    preset: { type: "string", value: "NAME", description: `the preset to write (${PRESET_NAMES.join(" | ")}); with --format hf-llama only llama-tiny` },
    format: { type: "string", value: "sigmaserve|hf-llama", default: "hf-llama for llama-tiny, else sigmaserve", description: "sigmaserve: a preset's demo model; hf-llama: a tiny Llama checkpoint in the HF layout (BPE tokenizer, Llama 3 chat template)" },
    onnx: { type: "boolean", description: "with --format hf-llama: also write onnx/model.onnx (the whole model with past_key_values, as transformers.js loads it)" },
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
  const presetFlag = values.preset as string | undefined;
  const llamaPreset = presetFlag !== undefined && HF_LLAMA_PRESETS.has(presetFlag);
  const format = choiceFlag(values.format as string | undefined, "--format", ["sigmaserve", "hf-llama"] as const, llamaPreset ? "hf-llama" : "sigmaserve", SPEC.usage);
  if (format === "hf-llama") {
    if ((presetFlag !== undefined && !llamaPreset) || values.dtype !== undefined) throw new UsageError(`--format hf-llama takes --out, --seed, --onnx and --preset ${[...HF_LLAMA_PRESETS].join(" | ")} with --layers`, SPEC.usage);
    if (values.layers !== undefined && presetFlag === undefined) throw new UsageError("--layers needs --preset", SPEC.usage);
    const layers = integerFlag(values.layers as string | undefined, "--layers", SPEC.usage, { min: 1 });
    const written = await writeTinyHfLlamaDir(out, { seed, ...(presetFlag === undefined ? {} : { preset: presetFlag }), ...(layers === undefined ? {} : { numHiddenLayers: layers }) });
    let onnx = "";
    if (values.onnx === true) {
      // NOTE: a dynamic import, as everywhere the CLI touches the runtime entry (it maps ORT's native library).
      const { HF_LLAMA_ONNX_FILE, writeHfLlamaOnnx } = await import("@sigmaserve/model/runtime");
      await writeHfLlamaOnnx(out, written.config, written.weights);
      onnx = `, with ${HF_LLAMA_ONNX_FILE}`;
    }
    const what = presetFlag === undefined ? "a tiny HF Llama" : `${presetFlag} as an HF Llama (${written.config.num_hidden_layers} layers)`;
    return void io.stdout(`wrote ${what} (seed ${seed}${onnx}) to ${out}\n`);
  }
  if (values.onnx === true) throw new UsageError("--onnx needs --format hf-llama", SPEC.usage);
  if (llamaPreset) throw new UsageError(`${presetFlag} is a Llama on the tiny HF BPE: it is written only with --format hf-llama`, SPEC.usage);
  const preset = requirePreset(presetFlag, SPEC.usage);
  const layers = integerFlag(values.layers as string | undefined, "--layers", SPEC.usage, { min: 1 });
  const dtype = choiceFlag(values.dtype as string | undefined, "--dtype", ["f32", "f16", "bf16"] as const, "f32", SPEC.usage);
  const model = demoModel(preset, seed, layers === undefined ? {} : { numHiddenLayers: layers });
  await saveModelDir(out, { config: model.config, weights: model.weights, dtype, metadata: { preset, seed: String(seed) } });
  io.stdout(`wrote ${preset} (seed ${seed}, ${model.config.num_hidden_layers} layers, ${dtype}) to ${out}\n`);
}

/**
 * `sigmaserve model inspect`: parameters and KV-cache bytes per token for
 * f32, f16 and bf16, with K and V apart, next to the model's GQA twin
 * (n_k = n_v, no augmented Q) so the DiffQKV saving is read off directly.
 */
import { gqaTwin, kvBytesPerToken, kvElementsPerTokenPerLayer, parameterCount, presetConfig, type Dtype, type ModelConfig } from "@sigmaserve/model/config";
import { loadModelConfig } from "@sigmaserve/model/weights";
import type { CommandIo } from "../command-io.js";
import { jsonText } from "../json-output.js";
import { defineCommand, integerFlag, parseCommand, requirePreset } from "../parse-command.js";
import { UsageError } from "../usage-error.js";

export const SPEC = defineCommand({
  name: "model inspect",
  summary: "Parameters and K/V cache bytes per token of a model directory (its config.json) or a preset, next to its GQA twin.",
  args: "[DIR]",
  flags: {
    preset: { type: "string", value: "NAME", description: "inspect a preset's shape without weights (instead of DIR)" },
    layers: { type: "string", value: "N", default: "the preset's", description: "override the preset's layer count" },
    json: { type: "boolean", description: "machine-readable output (snake_case JSON)" },
  },
  maxPositionals: 1,
});

const DTYPES: Dtype[] = ["f32", "f16", "bf16"];

function describe(config: ModelConfig) {
  const elements = kvElementsPerTokenPerLayer(config);
  return {
    heads: { query: config.num_attention_heads, key: config.num_key_heads, value: config.num_value_heads, head_dim: config.head_dim },
    aug_q_size: config.aug_q_size,
    layers: config.num_hidden_layers,
    parameters: parameterCount(config),
    kv_elements_per_token_per_layer: elements,
    kv_bytes_per_token: Object.fromEntries(DTYPES.map((dtype) => [dtype, kvBytesPerToken(config, dtype)])),
  };
}

const n = (value: number): string => value.toLocaleString("en-US");

export async function modelInspect(argv: string[], io: CommandIo): Promise<void> {
  const { values, positionals } = parseCommand(SPEC, argv);
  const dir = positionals[0];
  if ((dir === undefined) === (values.preset === undefined)) throw new UsageError("give either a model DIR or --preset, not both", SPEC.usage);
  const layers = integerFlag(values.layers as string | undefined, "--layers", SPEC.usage, { min: 1 });
  const name = dir ?? requirePreset(values.preset as string | undefined, SPEC.usage);
  const config = dir === undefined ? presetConfig(name, layers === undefined ? {} : { numHiddenLayers: layers }) : await loadModelConfig(dir);
  const model = describe(config);
  const twin = describe(gqaTwin(config));

  if (values.json === true) return void io.stdout(jsonText({ model: name, ...model, gqa_twin: twin }, true));

  const lines = [
    `model ${name}: ${model.layers} layers, heads q/k/v ${model.heads.query}/${model.heads.key}/${model.heads.value}, head_dim ${model.heads.head_dim}, aug_q ${model.aug_q_size}`,
    `parameters: ${n(model.parameters.total)} (GQA twin: ${n(twin.parameters.total)})`,
    `KV elements per token per layer: K ${n(model.kv_elements_per_token_per_layer.k)}, V ${n(model.kv_elements_per_token_per_layer.v)} (GQA twin: K ${n(twin.kv_elements_per_token_per_layer.k)}, V ${n(twin.kv_elements_per_token_per_layer.v)})`,
    "",
    "KV bytes per token   K/layer   V/layer   total/layer   K all layers   V all layers   total    | GQA twin total   ratio",
  ];
  for (const dtype of DTYPES) {
    const mine = model.kv_bytes_per_token[dtype]!;
    const theirs = twin.kv_bytes_per_token[dtype]!;
    lines.push(
      [
        dtype.padEnd(18),
        n(mine.perLayer.k).padStart(9),
        n(mine.perLayer.v).padStart(9),
        n(mine.perLayer.total).padStart(13),
        n(mine.allLayers.k).padStart(14),
        n(mine.allLayers.v).padStart(14),
        n(mine.allLayers.total).padStart(8),
        "|",
        n(theirs.allLayers.total).padStart(16),
        `${(theirs.allLayers.total / mine.allLayers.total).toFixed(2)}x`.padStart(7),
      ].join(" "),
    );
  }
  lines.push("", "ratio = tokens that fit in the same memory, against the GQA twin");
  io.stdout(`${lines.join("\n")}\n`);
}

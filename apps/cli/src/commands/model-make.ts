/** `sigmaserve model make`: writes a deterministic demo model directory. */
import { demoModel, saveModelDir } from "@sigmaserve/model/weights";
import type { CommandIo } from "../command-io.js";
import { choiceFlag, integerFlag, parseCommand, requirePreset, type CommandSpec } from "../parse-command.js";
import { UsageError } from "../usage-error.js";

const SPEC: CommandSpec = {
  name: "model make",
  usage: `usage: sigmaserve model make --preset NAME --out DIR [--seed N] [--dtype f32|f16|bf16] [--layers N]

  --preset   sigma-tiny | sigma-tiny-gqa | sigma-1.5b | std-1.5b
  --out      directory to write config.json, model.safetensors and tokenizer.json into
  --seed     weight seed (default 0); the same seed writes byte-identical files
  --dtype    storage dtype of the weights (default f32)
  --layers   override the preset's layer count (for benchmarks)`,
  options: {
    preset: { type: "string" },
    out: { type: "string" },
    seed: { type: "string" },
    dtype: { type: "string" },
    layers: { type: "string" },
    help: { type: "boolean" },
  },
  maxPositionals: 0,
};

export async function modelMake(argv: string[], io: CommandIo): Promise<void> {
  const { values } = parseCommand(SPEC, argv);
  if (values.help === true) return void io.stdout(`${SPEC.usage}\n`);
  const preset = requirePreset(values.preset as string | undefined, SPEC.usage);
  const out = values.out as string | undefined;
  if (out === undefined || out === "") throw new UsageError("--out is required", SPEC.usage);
  const seed = integerFlag(values.seed as string | undefined, "--seed", SPEC.usage, { min: 0, fallback: 0 })!;
  const layers = integerFlag(values.layers as string | undefined, "--layers", SPEC.usage, { min: 1 });
  const dtype = choiceFlag(values.dtype as string | undefined, "--dtype", ["f32", "f16", "bf16"] as const, "f32", SPEC.usage);
  const model = demoModel(preset, seed, layers === undefined ? {} : { numHiddenLayers: layers });
  await saveModelDir(out, { config: model.config, weights: model.weights, dtype, metadata: { preset, seed: String(seed) } });
  io.stdout(`wrote ${preset} (seed ${seed}, ${model.config.num_hidden_layers} layers, ${dtype}) to ${out}\n`);
}

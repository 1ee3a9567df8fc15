/**
 * `sigmaserve model logits`: logits for a token sequence from the reference
 * forward pass, or from the ORT dense stages with plain attention
 * (`--path ort`), for checking one against the other by hand.
 *
 * NOTE: onnxruntime-node is imported only when `--path ort` asks for it (a
 * dynamic import of @sigmaserve/model/runtime), so the CLI's other commands,
 * and this one on the reference path, never load ORT's native library.
 */
import { referenceForward } from "@sigmaserve/model/reference";
import { demoModel, loadModelDir, type LoadedModel } from "@sigmaserve/model/weights";
import type { CommandIo } from "../command-io.js";
import { choiceFlag, defineCommand, integerFlag, parseCommand, requirePreset } from "../parse-command.js";
import { UsageError } from "../usage-error.js";

export const SPEC = defineCommand({
  name: "model logits",
  summary: "Logits of the reference forward pass (or the ORT dense path) for given tokens, from a model DIR or a preset.",
  args: "[DIR]",
  flags: {
    preset: { type: "string", value: "NAME", description: "a preset's demo weights (instead of DIR)" },
    seed: { type: "string", value: "N", default: "0", description: "weight seed of the preset's demo weights" },
    tokens: { type: "string", value: "1,2,3", description: "comma-separated token ids (required)" },
    "all-positions": { type: "boolean", description: "logits of every position, not only the last" },
    path: { type: "string", value: "reference|ort", default: "reference", description: "reference: the naive forward pass; ort: ONNX dense stages + plain attention" },
    json: { type: "boolean", description: '{"tokens":[...],"logits":[...]} (logits is a list of rows with --all-positions)' },
  },
  maxPositionals: 1,
});

function parseTokens(text: string | undefined, vocabSize: number): number[] {
  if (text === undefined || text.trim() === "") throw new UsageError("--tokens is required, e.g. --tokens 72,105", SPEC.usage);
  return text.split(",").map((part, index) => {
    const trimmed = part.trim();
    const id = Number(trimmed);
    if (!/^\d+$/.test(trimmed) || id >= vocabSize) {
      throw new UsageError(`--tokens: token ${index} is "${trimmed}", expected an integer in [0, ${vocabSize})`, SPEC.usage);
    }
    return id;
  });
}

async function computeLogits(model: LoadedModel, tokens: number[], path: "reference" | "ort"): Promise<Float32Array> {
  if (path === "reference") return referenceForward(model.config, model.weights, tokens).logits;
  const { OrtDenseModel } = await import("@sigmaserve/model/runtime");
  const ort = await OrtDenseModel.create(model.config, model.weights);
  try {
    return await ort.forward(tokens);
  } finally {
    await ort.release();
  }
}

export async function modelLogits(argv: string[], io: CommandIo): Promise<void> {
  const { values, positionals } = parseCommand(SPEC, argv);
  const dir = positionals[0];
  if ((dir === undefined) === (values.preset === undefined)) throw new UsageError("give either a model DIR or --preset, not both", SPEC.usage);
  const path = choiceFlag(values.path as string | undefined, "--path", ["reference", "ort"] as const, "reference", SPEC.usage);
  const seed = integerFlag(values.seed as string | undefined, "--seed", SPEC.usage, { min: 0, fallback: 0 })!;
  const model = dir === undefined ? demoModel(requirePreset(values.preset as string | undefined, SPEC.usage), seed) : await loadModelDir(dir);
  const tokens = parseTokens(values.tokens as string | undefined, model.config.vocab_size);
  if (tokens.length > model.config.max_position_embeddings) {
    throw new UsageError(`--tokens: ${tokens.length} tokens exceed max_position_embeddings (${model.config.max_position_embeddings})`, SPEC.usage);
  }
  const logits = await computeLogits(model, tokens, path);
  const vocab = model.config.vocab_size;
  const rows = Array.from({ length: tokens.length }, (_, t) => Array.from(logits.subarray(t * vocab, (t + 1) * vocab)));
  const allPositions = values["all-positions"] === true;
  const selected = allPositions ? rows : rows.slice(-1);

  if (values.json === true) {
    return void io.stdout(`${JSON.stringify({ tokens, logits: allPositions ? selected : selected[0] })}\n`);
  }
  const firstPosition = tokens.length - selected.length;
  for (const [offset, row] of selected.entries()) {
    const top = row
      .map((value, id) => ({ id, value }))
      .sort((a, b) => b.value - a.value)
      .slice(0, 5)
      .map(({ id, value }) => `${id}:${value.toFixed(4)}`)
      .join(" ");
    io.stdout(`position ${firstPosition + offset} (token ${tokens[firstPosition + offset]}): top ${top}\n`);
    io.stdout(`${row.map((value) => value.toFixed(6)).join(" ")}\n`);
  }
}

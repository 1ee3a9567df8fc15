/**
 * `sigmaserve kv plan`: how many tokens of KV cache fit in a device's memory
 * (and, in selective-V mode, a host's) for a preset's shape, with K and V
 * bytes apart and the same figures for the GQA twin, so the DiffQKV gain is
 * read off as a ratio of tokens in the same memory. Memory is given in GiB
 * (2^30 bytes, decimals allowed) and rounded down to whole bytes; the
 * planner counts whole blocks only. The element type is the worker's flags'
 * (`--kv-dtype`, bf16 by default, with `--kv-k-dtype` / `--kv-v-dtype` for one
 * component; `--dtype` is the older name of `--kv-dtype`), and the plan
 * reports tokens per GiB for it (bf16 and f16: twice f32's).
 */
import { CAPACITY_MODES, DEFAULT_BLOCK_SIZE_TOKENS, planCapacity, type CapacityFigures, type KvDtype } from "@sigmaserve/kvcache";
import { presetConfig } from "@sigmaserve/model/config";
import type { CommandIo } from "../command-io.js";
import { jsonText } from "../json-output.js";
import { choiceFlag, defineCommand, integerFlag, parseCommand, requirePreset } from "../parse-command.js";
import { UsageError } from "../usage-error.js";

export const SPEC = defineCommand({
  name: "kv plan",
  summary: "Tokens of KV cache that fit per tier, K and V apart, next to the GQA twin.",
  flags: {
    preset: { type: "string", value: "NAME", description: "the model shape to plan for (required)" },
    "device-gib": { type: "string", value: "N", description: "device memory for the KV pools, in GiB (2^30 bytes; decimals allowed; required)" },
    "host-gib": { type: "string", value: "N", default: "unbounded, so the device limits", description: "host memory for V, in GiB; selective-v only" },
    "kv-dtype": { type: "string", value: "f32|f16|bf16", default: "bf16", description: "KV element dtype of K and V, as the worker's --kv-dtype" },
    "kv-k-dtype": { type: "string", value: "f32|f16|bf16", default: "--kv-dtype", description: "K's element dtype" },
    "kv-v-dtype": { type: "string", value: "f32|f16|bf16", default: "--kv-dtype", description: "V's element dtype" },
    dtype: { type: "string", value: "f32|f16|bf16", description: "the older name of --kv-dtype" },
    mode: { type: "string", value: "full|selective-v", default: "full", description: "full: K and V on the device; selective-v: K on the device (the half a worker gives it; the other half keeps recent V rows), V on the host" },
    "block-size": { type: "string", value: "N", default: String(DEFAULT_BLOCK_SIZE_TOKENS), description: "tokens per block" },
    layers: { type: "string", value: "N", default: "the preset's", description: "override the preset's layer count" },
    json: { type: "boolean", description: "machine-readable output (snake_case JSON)" },
  },
  maxPositionals: 0,
});

const BYTES_PER_GIB = 2 ** 30;
const DTYPES: readonly KvDtype[] = ["f32", "f16", "bf16"];

/** A GiB amount ("80", "0.5") as whole bytes, rounded down; undefined when the flag is absent. */
function gibFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const bytes = Math.floor(Number(value) * BYTES_PER_GIB);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isSafeInteger(bytes)) throw new UsageError(`${flag} must be a number of GiB >= 0, got "${value}"`, SPEC.usage);
  return bytes;
}

const n = (value: number | null): string => (value === null ? "-" : value.toLocaleString("en-US"));

/** Table columns: title and width; every row pads to the same widths. */
const COLUMNS: readonly [string, number][] = [
  ["", 22],
  ["K B/tok", 9],
  ["V B/tok", 9],
  ["device B/tok", 14],
  ["host B/tok", 12],
  ["device tokens", 15],
  ["host tokens", 13],
  ["tokens", 13],
];

function tableLine(cells: readonly string[], limitedBy: string): string {
  return `${cells.map((cell, i) => (i === 0 ? cell.padEnd(COLUMNS[i]![1]) : cell.padStart(COLUMNS[i]![1]))).join(" ")}   ${limitedBy}`;
}

function row(label: string, figures: CapacityFigures): string {
  const cells = [figures.bytesPerToken.k, figures.bytesPerToken.v, figures.deviceBytesPerToken, figures.hostBytesPerToken, figures.deviceTokens, figures.hostTokens, figures.tokens];
  return tableLine([label, ...cells.map(n)], figures.limitedBy);
}

export async function kvPlan(argv: string[], io: CommandIo): Promise<void> {
  const { values } = parseCommand(SPEC, argv);
  const name = requirePreset(values.preset as string | undefined, SPEC.usage);
  const deviceGib = values["device-gib"] as string | undefined;
  const hostGib = values["host-gib"] as string | undefined;
  const deviceBytes = gibFlag(deviceGib, "--device-gib");
  if (deviceBytes === undefined) throw new UsageError("--device-gib is required (device memory for the KV pools, in GiB)", SPEC.usage);
  const hostBytes = gibFlag(hostGib, "--host-gib");
  if (values.dtype !== undefined && values["kv-dtype"] !== undefined && values.dtype !== values["kv-dtype"]) throw new UsageError("--dtype is the older name of --kv-dtype: give one of them", SPEC.usage);
  const both = values["kv-dtype"] === undefined ? choiceFlag(values.dtype as string | undefined, "--dtype", DTYPES, "bf16", SPEC.usage) : choiceFlag(values["kv-dtype"] as string, "--kv-dtype", DTYPES, "bf16", SPEC.usage);
  const dtype = {
    k: choiceFlag(values["kv-k-dtype"] as string | undefined, "--kv-k-dtype", DTYPES, both, SPEC.usage),
    v: choiceFlag(values["kv-v-dtype"] as string | undefined, "--kv-v-dtype", DTYPES, both, SPEC.usage),
  };
  const dtypeText = dtype.k === dtype.v ? dtype.k : `K ${dtype.k}, V ${dtype.v}`;
  const mode = choiceFlag(values.mode as string | undefined, "--mode", CAPACITY_MODES, "full", SPEC.usage);
  // NOTE: in full mode the host holds no live tokens, so a host size would
  // plan nothing; saying so beats printing figures that silently ignore it.
  if (mode === "full" && hostBytes !== undefined) throw new UsageError("--host-gib applies to --mode selective-v only (in full mode K and V both live on the device)", SPEC.usage);
  const blockSizeTokens = integerFlag(values["block-size"] as string | undefined, "--block-size", SPEC.usage, { min: 1, fallback: DEFAULT_BLOCK_SIZE_TOKENS })!;
  const layers = integerFlag(values.layers as string | undefined, "--layers", SPEC.usage, { min: 1 });
  const config = presetConfig(name, layers === undefined ? {} : { numHiddenLayers: layers });
  const plan = planCapacity(config, { dtype, blockSizeTokens, deviceBytes, mode, ...(hostBytes === undefined ? {} : { hostBytes }) });

  if (values.json === true) return void io.stdout(jsonText({ model: name, ...plan }, true));

  const twin = plan.gqaTwin!;
  const ratio = plan.vsGqaTwin!;
  const lines = [
    `kv plan ${name}: ${config.num_hidden_layers} layers, heads k/v ${config.num_key_heads}/${config.num_value_heads}, head_dim ${config.head_dim}; ${dtypeText}, ${blockSizeTokens}-token blocks, mode ${mode}`,
    `memory: device ${deviceGib} GiB (${n(deviceBytes)} bytes), host ${hostGib === undefined ? (mode === "full" ? "not used" : "unbounded") : `${hostGib} GiB (${n(hostBytes ?? 0)} bytes)`}`,
    "",
    tableLine(COLUMNS.map(([title]) => title), "limited by"),
    row(name, plan),
    row(`GQA twin (n_k ${twin.shape.num_key_heads})`, twin),
    "",
    `ratio: ${ratio.tokens === null ? "-" : `${ratio.tokens.toFixed(2)}x`} the tokens of the GQA twin in the same memory (device bytes per token ${ratio.deviceBytesPerToken.toFixed(2)}x)`,
    `density in ${dtypeText}: ${n(Math.floor(plan.tokensPerGib))} tokens per GiB of K+V (GQA twin ${n(Math.floor(twin.tokensPerGib))})`,
    "B/tok = bytes per token over all layers; device/host tokens = what each tier's memory holds in whole blocks; tokens = the smaller",
  ];
  io.stdout(`${lines.join("\n")}\n`);
}

/**
 * Entry `@sigmaserve/model/config`: what a model is, as numbers. The zod
 * schema of `config.json` and its rules (n_q divisible by n_k and n_v), the
 * Q→K and Q→V head mapping, Llama `config.json` as the GQA case, the presets,
 * and sizes (parameters, K and V bytes per token).
 *
 * Pure data and arithmetic: no file I/O, no onnxruntime-node. The router and
 * the CLI's planning commands import only this and `/tokenizer`.
 */
export { ModelConfigError, UnknownPresetError } from "./errors.js";
export { configFromJson, fromHfLlamaConfig } from "./hf-llama-config.js";
export {
  ModelConfigSchema,
  eosTokenIds,
  isGqa,
  keyHeadFor,
  parseModelConfig,
  valueHeadFor,
  type ModelConfig,
  type ModelConfigInput,
} from "./model-config.js";
export { DTYPE_BYTES, kvBytesPerToken, kvElementsPerTokenPerLayer, parameterCount, type Dtype } from "./model-size.js";
export { PRESET_NAMES, gqaTwin, gqaTwinPreset, isPresetName, presetConfig, type PresetName } from "./presets.js";

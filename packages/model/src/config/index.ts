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

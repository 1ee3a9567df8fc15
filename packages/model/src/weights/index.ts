/**
 * Entry `@sigmaserve/model/weights`: a model's tensors and the files they
 * live in. The `Tensor` type (f32 in memory, whatever the stored dtype),
 * safetensors reading and writing (F32, F16, BF16 stored), the tensor names
 * and shapes a config implies and validation against them, deterministic
 * demo weights from a seed, and model directories (`config.json`,
 * `model.safetensors`, `tokenizer.json`) saved and loaded as one
 * `LoadedModel`.
 *
 * Files and arrays only: it never imports onnxruntime-node. Running the
 * weights is `/runtime` (ORT) or `/reference` (the naive oracle).
 */
export { type Tensor, type TensorMap, elementCount } from "../tensor.js";
export * from "../safetensors/index.js";
export { WeightsMismatchError } from "./errors.js";
export { makeDemoWeights } from "./demo-weights.js";
export { EMBED_TOKENS, FINAL_NORM, LM_HEAD, expectedTensorShapes, layerTensorNames } from "./tensor-names.js";
export { validateWeights } from "./validate-weights.js";
export { CONFIG_FILE_NAME, WEIGHTS_FILE_NAME, demoModel, loadModelConfig, loadModelDir, saveModelDir, type LoadedModel } from "../model-dir/model-dir.js";
export { GENERATION_CONFIG_FILE_NAME, hfGenerationConfigJson, hfLlamaConfigJson } from "../model-dir/hf-llama-config-json.js";
export {
  LLAMA3_CHAT_TEMPLATE,
  TINY_LLAMA_SPECIAL_TOKENS,
  TINY_LLAMA_WORDS,
  tinyLlamaConfigJson,
  tinyLlamaSpecialId,
  tinyLlamaTokenizerConfig,
  tinyLlamaTokenizerJson,
  tinyLlamaVocabSize,
  writeTinyHfLlamaDir,
  type TinyHfLlamaOptions,
} from "../model-dir/tiny-hf-llama.js";

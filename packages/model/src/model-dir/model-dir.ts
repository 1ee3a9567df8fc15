/**
 * A model directory, Hugging Face style: `config.json`, `model.safetensors`
 * and `tokenizer.json` side by side. Loading checks each part against the
 * others (weights against the config, the tokenizer's vocabulary against
 * vocab_size) so a bad checkpoint fails at load time with the file named,
 * never later inside ORT.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { configFromJson, presetConfig, type ModelConfig } from "../config/index.js";
import { ModelConfigError } from "../config/errors.js";
import { readSafetensorsFile, writeSafetensorsFile, type StoredDtype } from "../safetensors/index.js";
import type { TensorMap } from "../tensor.js";
import { ByteTokenizer, loadTokenizer, writeByteTokenizerHfFiles, type Tokenizer } from "../tokenizer/index.js";
import { makeDemoWeights } from "../weights/demo-weights.js";
import { validateWeights } from "../weights/validate-weights.js";

export const CONFIG_FILE_NAME = "config.json";
export const WEIGHTS_FILE_NAME = "model.safetensors";

/** A model ready to run: config, f32 weights and tokenizer. */
export interface LoadedModel {
  /** Model id: the preset name, or the directory's name. */
  id: string;
  config: ModelConfig;
  weights: TensorMap;
  tokenizer: Tokenizer;
}

/** Reads and validates `dir/config.json` (sigmaserve or Llama-family). */
export async function loadModelConfig(dir: string): Promise<ModelConfig> {
  const source = join(dir, CONFIG_FILE_NAME);
  let text: string;
  try {
    text = await readFile(source, "utf8");
  } catch (cause) {
    throw new ModelConfigError([`(file): cannot be read (${(cause as Error).message})`], { source, cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ModelConfigError([`(file): is not valid JSON (${(cause as Error).message})`], { source, cause });
  }
  return configFromJson(json, { source });
}

/** Loads and cross-checks a model directory. */
export async function loadModelDir(dir: string): Promise<LoadedModel> {
  const config = await loadModelConfig(dir);
  const weightsPath = join(dir, WEIGHTS_FILE_NAME);
  const { tensors } = await readSafetensorsFile(weightsPath);
  validateWeights(config, tensors, { source: weightsPath });
  const tokenizer = await loadTokenizer(dir);
  if (tokenizer.vocabSize > config.vocab_size) {
    throw new ModelConfigError([`vocab_size: is ${config.vocab_size} but the tokenizer in ${dir} has ${tokenizer.vocabSize} tokens`], {
      source: join(dir, CONFIG_FILE_NAME),
    });
  }
  return { id: basename(resolve(dir)), config, weights: tensors, tokenizer };
}

/** The demo model of a preset, made in memory from a seed (no files). */
export function demoModel(preset: string, seed = 0, overrides: { numHiddenLayers?: number } = {}): LoadedModel {
  const config = presetConfig(preset, overrides);
  return { id: preset, config, weights: makeDemoWeights(config, seed), tokenizer: new ByteTokenizer() };
}

/**
 * Writes config.json, model.safetensors (in `dtype`) and the byte tokenizer
 * as Hugging Face tokenizer.json + tokenizer_config.json (with the demo chat template). Deterministic: the same model and dtype give byte-identical files.
 */
export async function saveModelDir(dir: string, model: { config: ModelConfig; weights: TensorMap; dtype: StoredDtype; metadata?: Record<string, string> }): Promise<void> {
  validateWeights(model.config, model.weights);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, CONFIG_FILE_NAME), `${JSON.stringify(model.config, null, 2)}\n`, "utf8");
  await writeSafetensorsFile(join(dir, WEIGHTS_FILE_NAME), model.weights, { dtype: model.dtype, ...(model.metadata ? { metadata: model.metadata } : {}) });
  await writeByteTokenizerHfFiles(dir);
}

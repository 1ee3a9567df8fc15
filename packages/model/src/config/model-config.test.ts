import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ModelConfigError, UnknownPresetError } from "./errors.js";
import { configFromJson } from "./hf-llama-config.js";
import { keyHeadFor, parseModelConfig, valueHeadFor } from "./model-config.js";
import { kvBytesPerToken, kvElementsPerTokenPerLayer, parameterCount } from "./model-size.js";
import { gqaTwin, presetConfig } from "./presets.js";

const tiny = presetConfig("sigma-tiny");

function configError(input: unknown): ModelConfigError {
  try {
    parseModelConfig(input);
  } catch (err) {
    assert.ok(err instanceof ModelConfigError, `expected ModelConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail("config was accepted");
}

describe("model config - each rule names its field", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["n_q not divisible by n_v", { num_value_heads: 3 }, "num_attention_heads: must be divisible by num_value_heads (8 % 3 = 2)"],
    ["n_q not divisible by n_k", { num_key_heads: 3 }, "num_attention_heads: must be divisible by num_key_heads (8 % 3 = 2)"],
    ["odd head_dim", { head_dim: 33 }, "head_dim: must be even for rotate-half RoPE, got 33"],
    ["eos outside the vocabulary", { eos_token_id: 300 }, "eos_token_id: must be below vocab_size (259), got 300"],
    ["bos outside the vocabulary", { bos_token_id: 259 }, "bos_token_id: must be below vocab_size (259), got 259"],
    ["zero layers", { num_hidden_layers: 0 }, "num_hidden_layers: Too small: expected number to be >0"],
    ["fractional hidden size", { hidden_size: 25.5 }, "hidden_size: Invalid input: expected int, received number"],
    ["negative aug_q_size", { aug_q_size: -1 }, "aug_q_size: Too small: expected number to be >=0"],
    ["non-positive rope_theta", { rope_theta: 0 }, "rope_theta: Too small: expected number to be >0"],
    ["missing vocab_size", { vocab_size: undefined }, "vocab_size: Invalid input: expected number, received undefined"],
    ["string eps", { rms_norm_eps: "1e-5" }, "rms_norm_eps: Invalid input: expected number, received string"],
  ];
  for (const [name, change, message] of cases) {
    test(`model config - ${name} is refused`, () => {
      const err = configError({ ...tiny, ...change });
      assert.deepEqual(err.issues, [message]);
      assert.match(err.message, /^model config is invalid: /);
    });
  }
});

test("model config - a Llama config.json loads as the GQA special case", () => {
  const config = configFromJson({
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    vocab_size: 128256,
    hidden_size: 2048,
    intermediate_size: 8192,
    num_hidden_layers: 16,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    rope_theta: 500000,
    rms_norm_eps: 1e-5,
    max_position_embeddings: 131072,
    tie_word_embeddings: true,
    bos_token_id: 128000,
    eos_token_id: [128001, 128008, 128009],
    torch_dtype: "bfloat16",
  });
  assert.equal(config.num_key_heads, 8);
  assert.equal(config.num_value_heads, 8);
  assert.equal(config.head_dim, 64);
  assert.equal(config.aug_q_size, 0);
  assert.deepEqual(config.eos_token_id, [128001, 128008, 128009]);
});

test("model config - head mapping is contiguous (paper Eq. 3)", () => {
  const sigma = presetConfig("sigma-1.5b");
  assert.deepEqual(
    Array.from({ length: 32 }, (_, i) => keyHeadFor(sigma, i)),
    [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3],
  );
  assert.deepEqual(
    Array.from({ length: 32 }, (_, i) => valueHeadFor(sigma, i)),
    Array.from({ length: 32 }, (_, i) => i >> 1),
  );
});

test("model config - sigma-1.5b in bf16 stores 66,560 KV bytes per token against 106,496 for std-1.5b", () => {
  const sigma = presetConfig("sigma-1.5b");
  const std = presetConfig("std-1.5b");
  assert.deepEqual(kvElementsPerTokenPerLayer(sigma), { k: 256, v: 1024 });
  assert.deepEqual(kvElementsPerTokenPerLayer(std), { k: 1024, v: 1024 });
  // 26 layers × (256 + 1024) elements × 2 bytes
  assert.equal(kvBytesPerToken(sigma, "bf16").allLayers.total, 66_560);
  assert.equal(kvBytesPerToken(std, "bf16").allLayers.total, 106_496);
  assert.equal(kvBytesPerToken(sigma, "bf16").allLayers.k, 13_312);
  assert.deepEqual(gqaTwin(sigma), std);
});

test("model config - parameter counts follow the layer shapes", () => {
  // sigma-1.5b, tied embeddings: per layer q 2048² + augQ 3·2048·3072 + k,v 2048·(4+16)·64 + o 2048²
  // + MLP 3·2048·6144 + norms 2·2048.
  const perLayer = 2048 * 2048 + 3 * 2048 * 3072 + 2048 * 20 * 64 + 2048 * 2048 + 3 * 2048 * 6144 + 2 * 2048;
  const counts = parameterCount(presetConfig("sigma-1.5b"));
  assert.equal(counts.perLayer, perLayer);
  assert.equal(counts.total, 128256 * 2048 + 26 * perLayer + 2048);
  assert.equal(presetConfig("sigma-1.5b", { numHiddenLayers: 2 }).num_hidden_layers, 2);
});

test("model config - an unknown preset lists the known ones", () => {
  assert.throws(() => presetConfig("sigma-huge"), (err: unknown) => {
    assert.ok(err instanceof UnknownPresetError);
    assert.equal(err.message, 'unknown preset "sigma-huge"; known presets: sigma-tiny, sigma-tiny-gqa, sigma-1.5b, std-1.5b, llama-tiny');
    return true;
  });
});

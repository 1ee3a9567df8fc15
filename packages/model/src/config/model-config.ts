/**
 * The DiffQKV model config: a zod schema over Hugging Face style JSON.
 *
 * Field names follow config.json conventions (snake_case) so a file on disk
 * is the same object as the parsed config. DiffQKV adds `num_key_heads` and
 * `num_value_heads` (n_k, n_v) in place of Llama's single
 * `num_key_value_heads`, and `aug_q_size` (0 = no augmented Q). Parsing
 * checks every field and the cross-field rules; an error names the field and
 * the rule it broke, e.g. `num_attention_heads: must be divisible by
 * num_value_heads (32 % 12 = 8)`.
 */
import { z } from "zod";
import { ModelConfigError } from "./errors.js";

const positiveInt = z.number().int().positive();
const tokenId = z.number().int().nonnegative();

export const ModelConfigSchema = z
  .object({
    /** "sigma" for DiffQKV models; a Llama config is converted by fromHfLlamaConfig. */
    model_type: z.literal("sigma").default("sigma"),
    vocab_size: positiveInt,
    hidden_size: positiveInt,
    /** Width of the SwiGLU MLP's hidden layer. */
    intermediate_size: positiveInt,
    num_hidden_layers: positiveInt,
    /** n_q. */
    num_attention_heads: positiveInt,
    /** n_k. */
    num_key_heads: positiveInt,
    /** n_v. */
    num_value_heads: positiveInt,
    /** Dimension of one Q, K or V head (the QK dot product runs at this width). */
    head_dim: positiveInt,
    /** Hidden width of the augmented-Q gated MLP; 0 = no augmented Q. */
    aug_q_size: z.number().int().nonnegative(),
    rope_theta: z.number().positive(),
    rms_norm_eps: z.number().positive(),
    /** Longest sequence (prompt + completion) in tokens. */
    max_position_embeddings: positiveInt,
    /** lm_head shares embed_tokens' weight (no lm_head.weight tensor). */
    tie_word_embeddings: z.boolean(),
    bos_token_id: tokenId.optional(),
    /** One id or several (Llama 3 lists three). */
    eos_token_id: z.union([tokenId, z.array(tokenId).min(1)]).optional(),
  })
  .superRefine((config, ctx) => {
    const rule = (path: string, message: string): void => {
      ctx.addIssue({ code: "custom", path: [path], message });
    };
    const nQ = config.num_attention_heads;
    if (nQ % config.num_key_heads !== 0) {
      rule("num_attention_heads", `must be divisible by num_key_heads (${nQ} % ${config.num_key_heads} = ${nQ % config.num_key_heads})`);
    }
    if (nQ % config.num_value_heads !== 0) {
      rule("num_attention_heads", `must be divisible by num_value_heads (${nQ} % ${config.num_value_heads} = ${nQ % config.num_value_heads})`);
    }
    if (config.head_dim % 2 !== 0) rule("head_dim", `must be even for rotate-half RoPE, got ${config.head_dim}`);
    for (const field of ["bos_token_id", "eos_token_id"] as const) {
      const ids = config[field];
      for (const id of ids === undefined ? [] : Array.isArray(ids) ? ids : [ids]) {
        if (id >= config.vocab_size) rule(field, `must be below vocab_size (${config.vocab_size}), got ${id}`);
      }
    }
  });

/** A parsed, valid config. */
export type ModelConfig = z.output<typeof ModelConfigSchema>;
/** What a caller may write: model_type may be omitted. */
export type ModelConfigInput = z.input<typeof ModelConfigSchema>;

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.length === 0 ? "(root)" : issue.path.join(".");
  return `${field}: ${issue.message}`;
}

/** Validates a config object; throws ModelConfigError naming each bad field and rule. */
export function parseModelConfig(input: unknown, options?: { source?: string }): ModelConfig {
  const result = ModelConfigSchema.safeParse(input);
  if (!result.success) {
    throw new ModelConfigError(result.error.issues.map(describeIssue), options?.source === undefined ? {} : { source: options.source });
  }
  return Object.freeze(result.data);
}

/** The EOS ids as a list (empty when the config names none). */
export function eosTokenIds(config: ModelConfig): number[] {
  const ids = config.eos_token_id;
  return ids === undefined ? [] : Array.isArray(ids) ? [...ids] : [ids];
}

/** Q head i reads K head floor(i·n_k/n_q) (paper Eq. 3: contiguous groups). */
export function keyHeadFor(config: ModelConfig, queryHead: number): number {
  return Math.floor((queryHead * config.num_key_heads) / config.num_attention_heads);
}

/** Q head i reads V head floor(i·n_v/n_q). */
export function valueHeadFor(config: ModelConfig, queryHead: number): number {
  return Math.floor((queryHead * config.num_value_heads) / config.num_attention_heads);
}

/** True when the model is the GQA special case: n_k = n_v and no augmented Q. */
export function isGqa(config: ModelConfig): boolean {
  return config.num_key_heads === config.num_value_heads && config.aug_q_size === 0;
}

/**
 * The JSON a tokenizer describes itself with. The byte tokenizer's
 * description is complete: written as `tokenizer.json` next to the model, it
 * is all `loadTokenizer` needs. A Hugging Face tokenizer's description is only
 * a summary (its own tokenizer.json is the source of truth), so it cannot be
 * loaded back. Field names are snake_case like every file next to a model;
 * "no such token" is `null` because JSON has no undefined.
 */

/** The `type` of a byte tokenizer description. */
export const BYTE_TOKENIZER_TYPE = "sigmaserve-byte";
/** The only byte tokenizer description version there is. */
export const BYTE_TOKENIZER_VERSION = 1;
/** The `type` of a Hugging Face tokenizer summary. */
export const HF_TOKENIZER_SUMMARY_TYPE = "huggingface";

/** `{ "type": "sigmaserve-byte", "version": 1, "vocab_size": 259, "bos_token_id": 256, ... }` */
export interface ByteTokenizerDescription {
  readonly type: typeof BYTE_TOKENIZER_TYPE;
  readonly version: typeof BYTE_TOKENIZER_VERSION;
  readonly vocab_size: number;
  readonly bos_token_id: number;
  readonly eos_token_id: number;
  readonly pad_token_id: number;
}

/** A summary of a Hugging Face tokenizer, for logs and worker capability reports. */
export interface HfTokenizerSummary {
  readonly type: typeof HF_TOKENIZER_SUMMARY_TYPE;
  readonly vocab_size: number;
  readonly bos_token_id: number | null;
  readonly eos_token_id: number | null;
  readonly pad_token_id: number | null;
}

export type TokenizerDescription = ByteTokenizerDescription | HfTokenizerSummary;

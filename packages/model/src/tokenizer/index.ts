/**
 * Entry `@sigmaserve/model/tokenizer`: the `Tokenizer` interface, the byte
 * tokenizer of the demo model, Hugging Face tokenizers, streaming
 * detokenizers, and loading a model directory's tokenizer.json.
 *
 * It needs no weights and never imports onnxruntime-node, so the router
 * tokenizes with it without loading a runtime it never runs.
 */
export type { DecodeOptions, EncodeOptions, Tokenizer } from "./tokenizer.js";
export {
  BYTE_TOKENIZER_TYPE,
  BYTE_TOKENIZER_VERSION,
  HF_TOKENIZER_SUMMARY_TYPE,
  type ByteTokenizerDescription,
  type HfTokenizerSummary,
  type TokenizerDescription,
} from "./tokenizer-description.js";
export {
  BYTE_BOS_TOKEN_ID,
  BYTE_EOS_TOKEN_ID,
  BYTE_PAD_TOKEN_ID,
  BYTE_SPECIAL_TOKEN_MARKERS,
  BYTE_TOKEN_COUNT,
  BYTE_VOCAB_SIZE,
  ByteTokenizer,
} from "./byte-tokenizer.js";
export {
  byteLevelAlphabet,
  byteLevelBpeTokenizerJson,
  byteTokenizerHfConfig,
  byteTokenizerHfJson,
  byteTokenizerHfJsonText,
  isByteTokenizerHfJson,
  type ByteLevelBpeSpec,
} from "./byte-tokenizer-hf-files.js";
export { DEMO_CHAT_TEMPLATE } from "./demo-chat-template.js";
export { HfTokenizer, loadHfTokenizer, type HfTokenizerSources } from "./hf-tokenizer.js";
export type { IncrementalDetokenizer } from "./incremental-detokenizer.js";
export { Utf8StreamDetokenizer, type IdsToBytes } from "./utf8-stream-detokenizer.js";
export { PrefixOffsetDetokenizer, type DecodeIds } from "./prefix-offset-detokenizer.js";
export {
  loadTokenizer,
  tokenizerFromDescription,
  writeTokenizerDescription,
  writeByteTokenizerHfFiles,
  type TokenizerFromDescriptionOptions,
} from "./load-tokenizer.js";
export { TOKENIZER_CONFIG_FILE_NAME, TOKENIZER_FILE_NAME } from "./read-json-file.js";
export { InvalidTokenIdError, TokenizerError } from "./errors.js";

/**
 * The request bodies of the OpenAI-compatible API as zod schemas. Every
 * message is a rule ("must be an integer >= 1"); parse-request.ts prefixes
 * the field's name and appends what was sent, so a client reads
 * "max_tokens: must be an integer >= 1, got 0".
 *
 * `null` means "not set" everywhere, as OpenAI's SDKs send it. Every field of
 * OpenAI's two request types is either honoured or refused with a 400 naming
 * it: the ones this server does not implement (`echo`, presence and
 * frequency penalties, tools) are in these schemas and refused by the
 * endpoints, the ones that would have no effect here (`user`, `metadata`,
 * `store`, ...) by `refuseInertFields` (generate-request.ts);
 * http/openai-fields.test.ts enumerates them against the SDK's types. A field
 * in neither is refused too (400 `unknown_parameter` naming it), as OpenAI
 * refuses it: a misspelt `temprature` silently ignored would change the
 * answer unseen (vLLM ignores such fields; this server does not).
 *
 * The sampling ranges (top_p in (0, 1], a temperature that fits float32, at
 * most 16 stop strings, max_tokens within the context) are the public
 * request's rules, checked by the router for both doors before admission
 * (generate/validate-request.ts); their BadRequest comes back as a 400 whose
 * `param` is the field as sent here.
 */
import { z } from "zod";

const U32_MAX = 2 ** 32 - 1;
const I32_MAX = 2 ** 31 - 1;
/** The most top alternatives a worker returns per token (MAX_LOGPROBS of the sampler). */
export const MAX_TOP_LOGPROBS = 20;

const int = (min: number, max: number) =>
  z
    .number({ error: `must be an integer in [${min}, ${max}]` })
    .int({ error: `must be an integer in [${min}, ${max}]` })
    .min(min, { error: `must be an integer in [${min}, ${max}]` })
    .max(max, { error: `must be an integer in [${min}, ${max}]` });
const bool = () => z.boolean({ error: "must be true or false" });
const str = () => z.string({ error: "must be a string" });

const StreamOptionsSchema = z.object({ include_usage: bool().nullish() }, { error: "must be an object such as {\"include_usage\": true}" });

/** Fields that both endpoints share: model, sampling, streaming and the extensions. */
const common = {
  model: str().min(1, { error: "must not be empty" }),
  max_tokens: int(1, U32_MAX).nullish(),
  temperature: z.number({ error: "must be a number >= 0" }).min(0, { error: "must be a number >= 0" }).nullish(),
  top_p: z.number({ error: "must be a number in (0, 1]" }).nullish(),
  /** Extension (vLLM): keep the k most likely tokens; 0 or -1 means off. */
  top_k: int(-1, U32_MAX).nullish(),
  seed: int(0, Number.MAX_SAFE_INTEGER).nullish(),
  stop: z.union([str(), z.array(str(), { error: "must be a string or an array of strings" })], { error: "must be a string or an array of strings" }).nullish(),
  stream: bool().nullish(),
  stream_options: StreamOptionsSchema.nullish(),
  /** Independent samples of the prompt (at most MAX_CHOICES, checked by the endpoints). */
  n: int(1, U32_MAX).nullish(),
  /** Extension (vLLM): keep generating past EOS until max_tokens. */
  ignore_eos: bool().nullish(),
  /** Extension (vLLM): lower runs first. */
  priority: int(-I32_MAX - 1, I32_MAX).nullish(),
  /** Extension (vLLM): EOS, stop_token_ids and stop strings end nothing before this many tokens (<= max_tokens). */
  min_tokens: int(0, U32_MAX).nullish(),
  /** Extension (vLLM): > 0, 1 is off; the range is the router's rule (validate-request.ts). */
  repetition_penalty: z.number({ error: "must be a number > 0" }).nullish(),
  /** Extension (vLLM): in [0, 1], 0 is off; the range is the router's rule. */
  min_p: z.number({ error: "must be a number in [0, 1]" }).nullish(),
  /** Extension (vLLM): token ids that end generation when sampled. */
  stop_token_ids: z.array(int(0, U32_MAX), { error: "must be an array of token ids" }).nullish(),
  /** Extension (vLLM): keep the matched stop string (or stop token's text) in the output. */
  include_stop_str_in_output: bool().nullish(),
  /** Extension (vLLM): leave special tokens' text out of the output; default true. */
  skip_special_tokens: bool().nullish(),
  presence_penalty: z.number({ error: "must be a number" }).nullish(),
  frequency_penalty: z.number({ error: "must be a number" }).nullish(),
  logit_bias: z.record(z.string(), z.number(), { error: "must be an object mapping token ids to numbers" }).nullish(),
};

export const CompletionRequestSchema = z.strictObject(
  {
    ...common,
    /** One prompt: text, or token ids (used as given, no BOS added). */
    prompt: z.union([str(), z.array(int(0, U32_MAX), { error: "must be a string or an array of token ids" })], {
      error: "must be a string or an array of token ids (a list of prompts is not supported: send one request per prompt)",
    }),
    /** 0 is allowed with `echo` (scoring the prompt, lm-eval's loglikelihood); completions.ts refuses it otherwise. */
    max_tokens: int(0, U32_MAX).nullish(),
    /** Top alternatives per token (0 = only the chosen token's logprob). */
    logprobs: int(0, MAX_TOP_LOGPROBS).nullish(),
    /** The prompt's text before the completion's, and with logprobs the prompt tokens' log probabilities first. */
    echo: bool().nullish(),
    suffix: str().nullish(),
    best_of: int(1, U32_MAX).nullish(),
  },
  { error: "must be a JSON object" },
);
export type CompletionRequest = z.output<typeof CompletionRequestSchema>;

const ContentPartSchema = z.object(
  {
    type: z.literal("text", { error: "must be \"text\" (only text content parts are supported)" }),
    text: str(),
  },
  { error: "must be an object {\"type\": \"text\", \"text\": ...}" },
);

/**
 * A chat message. Only an assistant message may have a null (or no) content,
 * as OpenAI allows (an earlier turn that was all tool calls); it is rendered
 * as empty content. An assistant turn's `tool_calls` or `function_call` are
 * refused: tools are not supported, and dropping them would change what the
 * model sees without a word.
 */
export const ChatMessageSchema = z
  .object(
    {
      /** "developer" is OpenAI's newer name for "system" and is rendered as one. */
      role: z.enum(["system", "developer", "user", "assistant"], { error: "must be one of \"system\", \"developer\", \"user\", \"assistant\"" }),
      content: z
        .union([str(), z.array(ContentPartSchema, { error: "must be a string or an array of text parts" })], {
          error: "must be a string or an array of text parts",
        })
        .nullish(),
      name: str().nullish(),
      tool_calls: z.array(z.unknown(), { error: "must be an array" }).nullish(),
      function_call: z.unknown().optional(),
    },
    { error: "must be an object with a role and a content" },
  )
  .superRefine((message, ctx) => {
    if (message.content == null && message.role !== "assistant") {
      ctx.addIssue({ code: "custom", path: ["content"], message: "must be a string or an array of text parts (only an assistant message may have a null content)" });
    }
    if (message.tool_calls != null && message.tool_calls.length > 0) ctx.addIssue({ code: "custom", path: ["tool_calls"], message: "tool calls are not supported" });
    if (message.function_call != null) ctx.addIssue({ code: "custom", path: ["function_call"], message: "function calls are not supported" });
  });
export type ChatMessage = z.output<typeof ChatMessageSchema>;

export const ChatCompletionRequestSchema = z.strictObject(
  {
    ...common,
    messages: z.array(ChatMessageSchema, { error: "must be an array of messages" }).min(1, { error: "must hold at least one message" }),
    /** OpenAI's newer name for max_tokens on chat; wins when both are set. */
    max_completion_tokens: int(1, U32_MAX).nullish(),
    logprobs: bool().nullish(),
    top_logprobs: int(0, MAX_TOP_LOGPROBS).nullish(),
    tools: z.array(z.unknown(), { error: "must be an array" }).nullish(),
    response_format: z.object({ type: str() }, { error: "must be an object such as {\"type\": \"text\"}" }).nullish(),
  },
  { error: "must be a JSON object" },
);
export type ChatCompletionRequest = z.output<typeof ChatCompletionRequestSchema>;

/** What both request types share, for the sampling mapping. */
export type CommonRequest = Pick<CompletionRequest, keyof typeof common>;

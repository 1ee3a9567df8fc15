/**
 * The chat template of the OpenAI door: how a list of chat messages becomes
 * one text prompt.
 *
 * The demo model (sigma-tiny, byte tokenizer) was never trained on a chat
 * format, so the router defines a simple byte-level one. Each message is
 * written as a header line naming its role, then its content, then a newline;
 * a final assistant header asks the model for the next turn:
 *
 *     <|system|>\n
 *     You are terse.\n
 *     <|user|>\n
 *     Hi!\n
 *     <|assistant|>\n
 *
 * i.e. `"<|system|>\nYou are terse.\n<|user|>\nHi!\n<|assistant|>\n"`.
 *
 * - Roles: `system`, `user`, `assistant`; `developer` (OpenAI's newer name for
 *   system) is written as `<|system|>`. `name` is not rendered.
 * - An assistant message with null content (OpenAI allows it) is written as
 *   an empty one.
 * - Content given as parts (`[{type: "text", text}]`) is the parts' texts
 *   joined with "\n" (as vLLM does).
 * - The prompt is sent as text: the router tokenizes it and adds the
 *   tokenizer's special tokens (BOS for the byte tokenizer), exactly as for a
 *   completions prompt. The headers are plain bytes, not special tokens, so a
 *   message that contains "<|user|>" is just text; nothing is escaped.
 * - A conversation that ends with an assistant message still gets a new
 *   `<|assistant|>\n` header: every request asks for a new turn.
 * - No stop string is added: generation ends at EOS, a client `stop` or
 *   `max_completion_tokens`, so usage and finish reasons stay those of the
 *   worker. A model trained on this template would emit EOS after its turn.
 *
 * A model with its own template (`chat_template` in its
 * tokenizer_config.json) is rendered with that template instead
 * (`ChatTemplate`, Jinja by `@huggingface/jinja`); this built-in one is the
 * fallback for a model without one (the byte tokenizer has no files to send).
 * The demo model dirs `model make` writes carry the same template in Jinja
 * (`DEMO_CHAT_TEMPLATE`), so both paths give the same prompt.
 */
import { create } from "@bufbuild/protobuf";
import { Template } from "@huggingface/jinja";
import { inferencev1 } from "@sigmaserve/proto";
import { InvalidRequestError } from "../errors.js";
import type { TokenizerRegistry } from "../generate/model-tokenizers.js";
import { checkPromptBytes } from "../generate/encode-prompt.js";
import { checkModel, modelLimits } from "../generate/normalize-request.js";
import type { WorkerPool } from "../workers/worker-pool.js";
import type { ChatMessage } from "./openai-types.js";

/** The header line of each role. */
export const ROLE_HEADERS: Readonly<Record<ChatMessage["role"], string>> = {
  system: "<|system|>\n",
  developer: "<|system|>\n",
  user: "<|user|>\n",
  assistant: "<|assistant|>\n",
};

/** The text of a message's content; an assistant's null content (ChatMessageSchema allows no other) is "". */
export function contentText(content: ChatMessage["content"]): string {
  if (content == null) return "";
  return typeof content === "string" ? content : content.map((part) => part.text).join("\n");
}

/** The prompt for `messages`: every message, then the assistant header that asks for the reply. */
export function renderChatPrompt(messages: readonly Pick<ChatMessage, "role" | "content">[]): string {
  let prompt = "";
  for (const message of messages) prompt += `${ROLE_HEADERS[message.role]}${contentText(message.content)}\n`;
  return prompt + ROLE_HEADERS.assistant;
}

/** Special-token texts a template may use (`{{ bos_token }}`), from tokenizer_config.json. */
export interface ChatTemplateTokens {
  readonly bosToken?: string | undefined;
  readonly eosToken?: string | undefined;
}

/**
 * A model's own Jinja chat template, parsed once. `render` passes what
 * transformers' apply_chat_template passes: `messages` (content as one
 * string: parts joined with "\n", as vLLM does for text-only templates),
 * `add_generation_prompt: true`, `bos_token`, `eos_token`. A template that
 * fails (its `raise_exception` for a role it does not allow, a missing
 * field) is the client's 400 on `messages`, with the template's message.
 */
export class ChatTemplate {
  readonly #template: Template;

  /** Throws the parser's error for a template that does not parse (the caller names the model). */
  constructor(
    readonly source: string,
    readonly tokens: ChatTemplateTokens = {},
  ) {
    this.#template = new Template(source);
  }

  render(messages: readonly Pick<ChatMessage, "role" | "content">[]): string {
    try {
      return this.#template.render({
        messages: messages.map((m) => ({ role: m.role, content: contentText(m.content) })),
        add_generation_prompt: true,
        bos_token: this.tokens.bosToken ?? "",
        eos_token: this.tokens.eosToken ?? "",
      });
    } catch (err) {
      throw new InvalidRequestError([{ field: "messages", description: `the model's chat template refused them: ${(err as Error).message}` }], { cause: err });
    }
  }
}

/** The prompt for `messages`: the model's template when it has one, else the built-in one. */
export function renderChat(template: ChatTemplate | undefined, messages: readonly Pick<ChatMessage, "role" | "content">[]): string {
  return template === undefined ? renderChatPrompt(messages) : template.render(messages);
}

/**
 * The Generate prompt of a chat request. Without a template of its own the
 * model gets the built-in one as text, tokenized like a completions prompt
 * (BOS added). With its own template, the router tokenizes here: a template
 * that writes `{{ bos_token }}` itself (Llama 3) must not get a second BOS
 * from the tokenizer's post-processor, so special tokens are added only when
 * the rendered text does not already start with the BOS text (what vLLM and
 * transformers' apply_chat_template(tokenize=True) amount to for such
 * templates). Throws what `TokenizerRegistry.load` throws (unknown model,
 * tokenizer unavailable) and the template's 400.
 */
export async function chatPrompt(
  tokenizers: TokenizerRegistry,
  pool: WorkerPool,
  model: string,
  messages: readonly Pick<ChatMessage, "role" | "content">[],
): Promise<Exclude<inferencev1.GenerateRequest["prompt"], { case: undefined }>> {
  checkModel(model, pool);
  const loaded = await tokenizers.load(model, pool);
  const { tokenizer, chatTemplate } = loaded;
  const limits = modelLimits(model, pool);
  if (chatTemplate === undefined) {
    const text = renderChatPrompt(messages);
    checkPromptBytes(text, tokenizer, limits, "messages");
    return { case: "text", value: text };
  }
  const text = chatTemplate.render(messages);
  const bos = chatTemplate.tokens.bosToken;
  const addSpecialTokens = bos === undefined || bos === "" || !text.startsWith(bos);
  return { case: "tokenIds", value: create(inferencev1.TokenIdsSchema, { ids: await tokenizers.encode(loaded, text, limits, "messages", { addSpecialTokens }) }) };
}

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
 * A model with a trained template (an `hf` tokenizer with `chat_template`)
 * would need a Jinja renderer; this server has none yet and uses this
 * template for every model.
 */
import type { ChatMessage } from "./openai-types.js";

/** The header line of each role. */
export const ROLE_HEADERS: Readonly<Record<ChatMessage["role"], string>> = {
  system: "<|system|>\n",
  developer: "<|system|>\n",
  user: "<|user|>\n",
  assistant: "<|assistant|>\n",
};

/** The text of a message's content. */
export function contentText(content: ChatMessage["content"]): string {
  return typeof content === "string" ? content : content.map((part) => part.text).join("\n");
}

/** The prompt for `messages`: every message, then the assistant header that asks for the reply. */
export function renderChatPrompt(messages: readonly Pick<ChatMessage, "role" | "content">[]): string {
  let prompt = "";
  for (const message of messages) prompt += `${ROLE_HEADERS[message.role]}${contentText(message.content)}\n`;
  return prompt + ROLE_HEADERS.assistant;
}

/**
 * Prompt and output text in the shape of the GenAI semantic conventions'
 * `gen_ai.input.messages` and `gen_ai.output.messages` attributes: a JSON
 * array of messages, each a role and a list of parts
 * (`{"type":"text","content":...}`), the output's with its finish_reason.
 * Recorded only when the router runs with --trace-content (or the GenAI
 * content variable, config/router-config.ts); request-spans.ts decides.
 */
import type { inferencev1 } from "@sigmaserve/proto";

export interface GenAiMessage {
  role: string;
  parts: GenAiPart[];
  finish_reason?: string;
}

/** Text, or a prompt given as token ids (gRPC's token_ids form), which the router never turns back into text. */
export type GenAiPart = { type: "text"; content: string } | { type: "token_ids"; content: number[] };

/** A chat message as the OpenAI door accepts it: a string, or text parts. */
export interface ChatInput {
  role: string;
  content: string | readonly { text: string }[];
  name?: string | null | undefined;
}

/** Chat messages as given (developer is the system role, as the chat template renders it). */
export function chatInputMessages(messages: readonly ChatInput[]): GenAiMessage[] {
  return messages.map((m) => ({
    role: m.role === "developer" ? "system" : m.role,
    parts: typeof m.content === "string" ? [{ type: "text", content: m.content }] : m.content.map((p) => ({ type: "text" as const, content: p.text })),
    ...(m.name == null ? {} : { name: m.name }),
  }));
}

/** A completion prompt is one user message: its text, or its token ids. */
export function promptInputMessages(prompt: inferencev1.GenerateRequest["prompt"]): GenAiMessage[] {
  if (prompt.case === "text") return [{ role: "user", parts: [{ type: "text", content: prompt.value }] }];
  if (prompt.case === "tokenIds") return [{ role: "user", parts: [{ type: "token_ids", content: [...prompt.value.ids] }] }];
  return [];
}

export function outputMessages(text: string, finishReason: string): GenAiMessage[] {
  return [{ role: "assistant", parts: [{ type: "text", content: text }], finish_reason: finishReason }];
}

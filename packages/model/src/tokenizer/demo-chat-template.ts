/**
 * The demo model's chat template as Jinja, written into the
 * `tokenizer_config.json` of every directory `model make` writes. It renders
 * exactly what the router's built-in template (router-runtime
 * `src/http/chat-template.ts`) renders, so a router that reads the model's
 * own template and one that falls back to the built-in one send the same
 * prompt:
 *
 *     <|system|>\nYou are terse.\n<|user|>\nHi!\n<|assistant|>\n
 *
 * `developer` is written as `<|system|>`; content given as parts is their
 * texts joined with "\n"; any other role is an error (`raise_exception`).
 * The headers are plain text, not special tokens.
 */
export const DEMO_CHAT_TEMPLATE = [
  "{%- for message in messages -%}",
  "{%- if message['role'] == 'system' or message['role'] == 'developer' -%}{{ '<|system|>\\n' }}",
  "{%- elif message['role'] == 'user' -%}{{ '<|user|>\\n' }}",
  "{%- elif message['role'] == 'assistant' -%}{{ '<|assistant|>\\n' }}",
  "{%- else -%}{{ raise_exception('unsupported role: ' + message['role']) }}",
  "{%- endif -%}",
  "{%- if message['content'] is string -%}{{ message['content'] }}",
  "{%- else -%}{%- for part in message['content'] -%}{%- if not loop.first -%}{{ '\\n' }}{%- endif -%}{{ part['text'] }}{%- endfor -%}",
  "{%- endif -%}{{ '\\n' }}",
  "{%- endfor -%}",
  "{%- if add_generation_prompt -%}{{ '<|assistant|>\\n' }}{%- endif -%}",
].join("\n");

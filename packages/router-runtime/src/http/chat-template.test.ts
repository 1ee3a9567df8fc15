import assert from "node:assert/strict";
import { test } from "node:test";
import { Template } from "@huggingface/jinja";
import { DEMO_CHAT_TEMPLATE } from "@sigmaserve/model/tokenizer";
import { InvalidRequestError } from "../errors.js";
import { ChatTemplate, renderChat, renderChatPrompt } from "./chat-template.js";

test("chat template - each message is a role header line, its content and a newline, then the assistant header", () => {
  assert.equal(
    renderChatPrompt([
      { role: "system", content: "You are terse." },
      { role: "user", content: "Hi!" },
      { role: "assistant", content: "Hello." },
      { role: "user", content: [{ type: "text", text: "one" }, { type: "text", text: "two" }] },
    ]),
    "<|system|>\nYou are terse.\n<|user|>\nHi!\n<|assistant|>\nHello.\n<|user|>\none\ntwo\n<|assistant|>\n",
  );
});

test("chat template - developer is written as system, and headers inside content are plain text", () => {
  assert.equal(renderChatPrompt([{ role: "developer", content: "a <|user|> b" }]), "<|system|>\na <|user|> b\n<|assistant|>\n");
  assert.equal(renderChatPrompt([{ role: "user", content: "" }]), "<|user|>\n\n<|assistant|>\n");
});

/** Every case above, through the Jinja template `model make` writes into tokenizer_config.json. */
const CASES: Parameters<typeof renderChatPrompt>[0][] = [
  [
    { role: "system", content: "You are terse." },
    { role: "user", content: "Hi!" },
    { role: "assistant", content: "Hello." },
    { role: "user", content: [{ type: "text", text: "one" }, { type: "text", text: "two" }] },
  ],
  [{ role: "developer", content: "a <|user|> b" }],
  [{ role: "user", content: "" }],
  [{ role: "user", content: "Café 日本語 👋🏽 {{ not jinja }} {% raw %}" }],
  [],
];

test("chat template - the demo model's Jinja chat_template renders exactly the built-in template", () => {
  const template = new ChatTemplate(DEMO_CHAT_TEMPLATE, { bosToken: "<|bos|>", eosToken: "<|eos|>" });
  for (const messages of CASES) assert.equal(template.render(messages), renderChatPrompt(messages), JSON.stringify(messages));
  // The raw template, content parts as a list (what transformers would pass), gives the same.
  const raw = new Template(DEMO_CHAT_TEMPLATE).render({ messages: CASES[0], add_generation_prompt: true });
  assert.equal(raw, renderChatPrompt(CASES[0]!));
});

test("chat template - a model without a template gets the built-in one; a refusing template is a 400 on messages", () => {
  assert.equal(renderChat(undefined, [{ role: "user", content: "Hi!" }]), "<|user|>\nHi!\n<|assistant|>\n");
  const strict = new ChatTemplate("{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{{ m.content }}{% endfor %}");
  assert.equal(renderChat(strict, [{ role: "user", content: "ok" }]), "ok");
  assert.throws(() => strict.render([{ role: "system", content: "no" }]), (err: unknown) => {
    assert.ok(err instanceof InvalidRequestError);
    assert.equal(err.violations[0]?.field, "messages");
    assert.match(err.message, /System role not supported/);
    return true;
  });
});

test("chat template - a Llama-3 style template gets bos_token and the generation prompt", () => {
  const llama3 =
    "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
  const template = new ChatTemplate(llama3, { bosToken: "<|begin_of_text|>" });
  assert.equal(
    template.render([{ role: "user", content: " Hi! " }]),
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
  );
});

test("chat template - an assistant's null content is empty content, in the built-in template and as \"\" to a Jinja one", () => {
  const messages = [
    { role: "user", content: "Hi" },
    { role: "assistant", content: null },
  ] as const;
  assert.equal(renderChatPrompt(messages), "<|user|>\nHi\n<|assistant|>\n\n<|assistant|>\n");
  // A template that concatenates content as a string would fail on None; it gets "".
  const template = new ChatTemplate("{% for m in messages %}[{{ m.role }}:{{ m.content + '' }}:{{ m.content is string }}]{% endfor %}");
  assert.equal(template.render(messages), "[user:Hi:true][assistant::true]");
  assert.equal(renderChat(new ChatTemplate(DEMO_CHAT_TEMPLATE), messages), renderChatPrompt(messages));
});

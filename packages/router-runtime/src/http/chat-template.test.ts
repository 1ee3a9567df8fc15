import assert from "node:assert/strict";
import { test } from "node:test";
import { renderChatPrompt } from "./chat-template.js";

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

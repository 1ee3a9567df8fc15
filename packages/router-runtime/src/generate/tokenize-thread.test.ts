/**
 * Long prompts are tokenized on the tokenizer thread, never on the event
 * loop. The oracle for the ids is the same files' tokenizer on the main
 * thread; the proof that the loop stayed free is a timer that keeps firing
 * while the thread encodes (a synchronous encode lets no timer run at all).
 */
import { byteLevelBpeTokenizerJson } from "@sigmaserve/model/tokenizer";
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidRequestError } from "../errors.js";
import { TokenizerRegistry, buildModelTokenizer, type ModelTokenizer } from "./model-tokenizers.js";
import { OFFLOAD_MIN_CHARS } from "./tokenize-thread.js";

/** A small byte-level BPE (GPT-2 layout: merges of "Ġt", "he", "Ġthe") as a worker would send its files. */
function modelTokenizer(): ModelTokenizer {
  const specials = [{ id: 259, content: "<|begin|>" }];
  const json = byteLevelBpeTokenizerJson({ merged: ["Ġt", "he", "Ġthe"], merges: ["Ġ t", "h e", "Ġt he"], specials, bos: specials[0]! });
  const tokenizerJson = new TextEncoder().encode(JSON.stringify(json));
  const tokenizerConfigJson = new Uint8Array();
  return { ...buildModelTokenizer("tiny-hf", "w0", tokenizerJson, tokenizerConfigJson), files: { key: "tiny-hf\0test", tokenizerJson, tokenizerConfigJson } };
}

const limits = { maxContextTokens: 1_000_000 };

test("tokenize thread - a long prompt comes back with the ids the main thread's tokenizer gives, while the event loop keeps running", async () => {
  const registry = new TokenizerRegistry();
  const loaded = modelTokenizer();
  try {
    const text = "the theme then the other thing, ".repeat(20_000); // 640 000 characters
    assert.ok(text.length >= OFFLOAD_MIN_CHARS);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    let ids: number[];
    try {
      ids = await registry.encode(loaded, text, limits, "text", { addSpecialTokens: true });
    } finally {
      clearInterval(timer);
    }
    assert.deepEqual(ids, loaded.tokenizer.encode(text, { addSpecialTokens: true }));
    assert.ok(ticks > 0, "timers ran while the thread encoded");
    // A second model text reuses the thread's tokenizer (files are sent once); short texts stay on the loop.
    assert.deepEqual(await registry.encode(loaded, `${text}x`, limits, "text", { addSpecialTokens: false }), loaded.tokenizer.encode(`${text}x`, { addSpecialTokens: false }));
    assert.deepEqual(await registry.encode(loaded, "the theme", limits, "text", { addSpecialTokens: false }), loaded.tokenizer.encode("the theme", { addSpecialTokens: false }));
  } finally {
    await registry.close();
  }
});

test("tokenize thread - the size bound comes first: a prompt too long for the context never reaches a tokenizer", async () => {
  const registry = new TokenizerRegistry();
  const loaded = modelTokenizer();
  try {
    const bound = 2048 * loaded.tokenizer.maxTokenBytes;
    await assert.rejects(
      registry.encode(loaded, "a".repeat(bound + 1), { maxContextTokens: 2048 }, "messages", { addSpecialTokens: true }),
      (err: unknown) => err instanceof InvalidRequestError && err.violations[0]!.field === "messages",
    );
  } finally {
    await registry.close();
  }
});

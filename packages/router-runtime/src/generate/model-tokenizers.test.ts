import { create } from "@bufbuild/protobuf";
import { ByteTokenizer, HfTokenizer, byteTokenizerHfJson } from "@sigmaserve/model/tokenizer";
import { coordv1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidRequestError, NoWorkerError } from "../errors.js";
import { WorkerPool } from "../workers/worker-pool.js";
import { TokenizerRegistry, buildModelTokenizer } from "./model-tokenizers.js";

const bytes = (value: object): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

function poolWith(tokenizer: string, sha256: string): WorkerPool {
  const pool = new WorkerPool({ maxMessageMib: 4 });
  // Port 1: nothing listens, so a fetch fails at once.
  pool.upsert(create(coordv1.WorkerInfoSchema, { workerId: "w1", epoch: 1n, grpcAddress: "127.0.0.1:1", model: { id: "m", tokenizer }, tokenizerSha256: sha256 }));
  return pool;
}

test("model tokenizers - a byte model needs no fetch and has no template of its own", async () => {
  const pool = poolWith("byte", "");
  const registry = new TokenizerRegistry({ pool });
  assert.ok(registry.get("m", pool) instanceof ByteTokenizer);
  assert.equal((await registry.load("m", pool)).chatTemplate, undefined);
  pool.close();
});

test("model tokenizers - an hf model not fetched yet is a 503 to retry; an unreachable worker is named", async () => {
  const pool = poolWith("hf", "ab".repeat(32));
  const registry = new TokenizerRegistry({ fetchTimeoutMs: 2_000 });
  assert.throws(() => registry.get("m", pool), (err: unknown) => err instanceof NoWorkerError && /being fetched/.test(err.message));
  await assert.rejects(registry.load("m", pool), (err: unknown) => err instanceof NoWorkerError && /w1:/.test(err.message));
  assert.throws(() => registry.get("other", pool), InvalidRequestError);
  pool.close();
});

test("model tokenizers - files become the HF tokenizer and the model's chat template", () => {
  // The byte tokenizer's HF file, edited (no longer recognised as ours): an HF tokenizer.
  const json = { ...byteTokenizerHfJson(), normalizer: { type: "NFC" } };
  const config = { bos_token: { __type: "AddedToken", content: "<|bos|>" }, eos_token: "<|eos|>", chat_template: "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{{ eos_token }}{% endfor %}" };
  const built = buildModelTokenizer("m", "w1", bytes(json), bytes(config));
  assert.ok(built.tokenizer instanceof HfTokenizer);
  assert.equal(built.chatTemplate?.tokens.bosToken, "<|bos|>");
  assert.equal(built.chatTemplate?.render([{ role: "user", content: "Hi" }]), "<|bos|>[user] Hi<|eos|>");
  // A list of named templates: "default" is the chat one. No config: no template.
  const named = buildModelTokenizer("m", "w1", bytes(json), bytes({ chat_template: [{ name: "tool_use", template: "x" }, { name: "default", template: "{{ messages[0].content }}" }] }));
  assert.equal(named.chatTemplate?.render([{ role: "user", content: "Hi" }]), "Hi");
  assert.equal(buildModelTokenizer("m", "w1", bytes(json), new Uint8Array(0)).chatTemplate, undefined);
  assert.throws(() => buildModelTokenizer("m", "w1", bytes(json), bytes({ chat_template: "{% for %}" })), /chat_template does not parse/);
});

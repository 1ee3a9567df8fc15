/**
 * The tokenizer thread's body (tokenize-thread.ts): builds each model's
 * tokenizer once from the files the main thread sends with its first job,
 * then encodes texts and sends the ids back as a transferred Uint32Array.
 * The files were already built and checked on the main thread (the
 * registry's load), so a failure here is reported, not explained.
 */
import { tokenizerFromDescription, type Tokenizer } from "@sigmaserve/model/tokenizer";
import { parentPort } from "node:worker_threads";
import type { TokenizeJob, TokenizeReply } from "./tokenize-thread.js";

const tokenizers = new Map<string, Tokenizer>();
const decoder = new TextDecoder();

function tokenizerFor(job: TokenizeJob): Tokenizer {
  let tokenizer = tokenizers.get(job.key);
  if (tokenizer !== undefined) return tokenizer;
  if (job.files === undefined) throw new Error(`no files for tokenizer ${job.key}`);
  const config = job.files.tokenizerConfigJson.length === 0 ? undefined : (JSON.parse(decoder.decode(job.files.tokenizerConfigJson)) as object);
  tokenizer = tokenizerFromDescription(JSON.parse(decoder.decode(job.files.tokenizerJson)), config === undefined ? {} : { tokenizerConfig: config });
  tokenizers.set(job.key, tokenizer);
  return tokenizer;
}

parentPort!.on("message", (job: TokenizeJob) => {
  let reply: TokenizeReply;
  try {
    const ids = Uint32Array.from(tokenizerFor(job).encode(job.text, { addSpecialTokens: job.addSpecialTokens }));
    reply = { id: job.id, ids };
    parentPort!.postMessage(reply, [ids.buffer]);
  } catch (err) {
    reply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
    parentPort!.postMessage(reply);
  }
});

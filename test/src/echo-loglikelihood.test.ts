/**
 * Prompt log-likelihoods through the whole cluster, as lm-eval's
 * loglikelihood tasks ask for them: a completion with `echo: true`,
 * `max_tokens: 0` and `logprobs`, over HTTP to a router and a real worker
 * process (the engine's values are checked against the reference forward
 * pass in packages/engine and worker-runtime; this checks the wiring): one
 * entry per prompt token, the first null, every other one a log-probability
 * that the worker's own prefix cache does not change, and the echoed text is
 * the prompt.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startCluster, type Cluster } from "./cluster.js";

let cluster: Cluster;
before(async () => {
  cluster = await startCluster({ workers: 1 });
});
after(() => cluster?.stop());

const score = async (prompt: string) => {
  const res = await fetch(`http://${cluster.httpAddress}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "sigma-tiny", prompt, echo: true, max_tokens: 0, logprobs: 1 }),
  });
  assert.equal(res.status, 200);
  return (await res.json()) as { choices: { text: string; finish_reason: string; logprobs: { tokens: string[]; token_logprobs: (number | null)[]; top_logprobs: (Record<string, number> | null)[] } }[]; usage: { prompt_tokens: number; completion_tokens: number } };
};

test("echo log-likelihood - a scoring request returns every prompt token's log-probability, the first null, the same on a second (cached) run", async () => {
  const prompt = "The lighthouse keeper counted the ships passing in the night.";
  const first = await score(prompt);
  const choice = first.choices[0]!;
  assert.equal(choice.text, prompt, "echo returns the prompt and nothing more");
  assert.equal(first.usage.completion_tokens, 0);
  const { token_logprobs: logprobs, tokens } = choice.logprobs;
  // BOS, then one byte token per character (the demo model's byte tokenizer).
  assert.equal(logprobs.length, first.usage.prompt_tokens);
  assert.equal(tokens.length, logprobs.length);
  assert.equal(logprobs[0], null, "nothing precedes the first token");
  for (const lp of logprobs.slice(1)) assert.ok(typeof lp === "number" && lp <= 0 && Number.isFinite(lp), `a log-probability, got ${lp}`);
  assert.equal(choice.logprobs.top_logprobs.slice(1).every((top) => top !== null && Object.keys(top).length >= 1), true);
  // The prompt's blocks are cached now; scoring computes the whole prompt anyway, so the values are the same.
  const second = await score(prompt);
  assert.deepEqual(second.choices[0]!.logprobs.token_logprobs, logprobs);
});

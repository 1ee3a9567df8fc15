import { Tokenizer as HfLibTokenizer } from "@huggingface/tokenizers";
import { ByteTokenizer, HfTokenizer, loadTokenizer } from "@sigmaserve/model/tokenizer";
import { loadModelDir } from "@sigmaserve/model/weights";
import { loadRouterConfig, startRouter } from "@sigmaserve/router-runtime";
import { loadWorkerConfig, startWorker } from "@sigmaserve/worker-runtime";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pino } from "pino";
import { main } from "../main.js";

const root = await mkdtemp(join(tmpdir(), "sigmaserve-model-make-"));
after(() => rm(root, { recursive: true, force: true }));

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

test("cli - model make writes a Hugging Face tokenizer.json and tokenizer_config.json with the demo chat template", async () => {
  const out = join(root, "tiny");
  const { code, stderr } = await run("model", "make", "--preset", "sigma-tiny", "--layers", "1", "--out", out);
  assert.equal(code, 0, stderr);
  const json = JSON.parse(await readFile(join(out, "tokenizer.json"), "utf8")) as Record<string, unknown>;
  assert.equal((json["model"] as { type: string }).type, "BPE");
  const config = JSON.parse(await readFile(join(out, "tokenizer_config.json"), "utf8")) as Record<string, unknown>;
  assert.deepEqual([config["bos_token"], config["eos_token"]], ["<|bos|>", "<|eos|>"]);
  assert.match(config["chat_template"] as string, /<\|assistant\|>/);
  // sigmaserve reads it back as the byte tokenizer; an HF loader gets the same ids.
  assert.ok((await loadTokenizer(out)) instanceof ByteTokenizer);
  const hf = HfTokenizer.fromJson(json, config);
  const text = "Café 日本 👋🏽";
  assert.deepEqual(hf.encode(text, { addSpecialTokens: true }), new ByteTokenizer().encode(text, { addSpecialTokens: true }));
});

test("cli - model make --preset llama-tiny writes the preset as an HF Llama, with onnx/model.onnx on --onnx", async () => {
  const out = join(root, "llama-tiny");
  const { code, stdout, stderr } = await run("model", "make", "--preset", "llama-tiny", "--layers", "1", "--onnx", "--out", out);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /llama-tiny as an HF Llama \(1 layers\).*onnx\/model\.onnx/);
  const config = JSON.parse(await readFile(join(out, "config.json"), "utf8")) as Record<string, unknown>;
  assert.deepEqual([config["model_type"], config["num_key_value_heads"], config["hidden_size"], config["num_hidden_layers"]], ["llama", 2, 512, 1]);
  // The graph is the export of the weights the directory holds (the export itself is tested against the reference in @sigmaserve/model).
  const { buildHfLlamaOnnx } = await import("@sigmaserve/model/runtime");
  const model = await loadModelDir(out);
  assert.ok((await readFile(join(out, "onnx", "model.onnx"))).equals(buildHfLlamaOnnx(model.config, model.weights)));
  const refused = await run("model", "make", "--preset", "llama-tiny", "--format", "sigmaserve", "--out", join(root, "refused"));
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /llama-tiny is a Llama on the tiny HF BPE: it is written only with --format hf-llama/);
});

/**
 * A model that is not ours, end to end: `model make --format hf-llama` writes a tiny Llama in the HF layout,
 * a real worker serves it as "tiny-llama" (--served-model-name), and a real router (static worker list) gets
 * its tokenizer and chat template from the worker (GetTokenizer). The router's token ids are checked against
 * `@huggingface/tokenizers` loading the same tokenizer.json, and chat against the checkpoint's own template.
 */
test("cli - a tiny HF Llama is served through the router with its own tokenizer and chat template", async () => {
  const dir = join(root, "tiny-llama");
  const made = await run("model", "make", "--format", "hf-llama", "--out", dir);
  assert.equal(made.code, 0, made.stderr);
  const oracle = new HfLibTokenizer(JSON.parse(await readFile(join(dir, "tokenizer.json"), "utf8")), JSON.parse(await readFile(join(dir, "tokenizer_config.json"), "utf8")));
  const logger = pino({ level: "silent" });
  const worker = await startWorker(loadWorkerConfig(["--model", dir, "--served-model-name", "tiny-llama"], {}), logger);
  const routed: { promptTokens: number[] }[] = [];
  const router = await startRouter(loadRouterConfig(["--workers", worker.address, "--http-port", "0", "--grpc-port", "0"], {}), logger, {
    onRoute: (request) => void routed.push({ promptTokens: [...request.promptTokens] }),
  });
  try {
    const base = `http://${router.httpAddress}`;
    const post = async (path: string, body: object): Promise<{ status: number; json: Record<string, unknown> }> => {
      const response = await fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };
    for (let i = 0; !(await (await fetch(`${base}/v1/models`)).text()).includes("tiny-llama"); i++) {
      assert.ok(i < 100, "the router never listed tiny-llama");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    // Chat: rendered by the checkpoint's Llama 3 template (BOS written by the template, so none added again).
    const messages = [
      { role: "system", content: "You are terse." },
      { role: "user", content: "  Hello world! Café 日本語 👋🏽  " },
    ];
    const chat = await post("/v1/chat/completions", { model: "tiny-llama", messages, max_tokens: 2, temperature: 0 });
    assert.equal(chat.status, 200, JSON.stringify(chat.json));
    const expected =
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>" +
      "<|start_header_id|>user<|end_header_id|>\n\nHello world! Café 日本語 👋🏽<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
    assert.deepEqual(routed.at(-1)?.promptTokens, oracle.encode(expected, { add_special_tokens: false }).ids);
    assert.equal(routed.at(-1)?.promptTokens.filter((id) => id === oracle.token_to_id("<|begin_of_text|>")).length, 1);

    // Content given as parts is joined with "\n" before the template sees it.
    const parts = await post("/v1/chat/completions", { model: "tiny-llama", messages: [{ role: "user", content: [{ type: "text", text: "Hello" }, { type: "text", text: "world" }] }], max_tokens: 1 });
    assert.equal(parts.status, 200, JSON.stringify(parts.json));
    const partsPrompt = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello\nworld<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
    assert.deepEqual(routed.at(-1)?.promptTokens, oracle.encode(partsPrompt, { add_special_tokens: false }).ids);

    // Completions: the router tokenizes text as the oracle does, BOS added by the post-processor.
    const corpus = ["Hello world the", "Café naïve façade", "日本語のテキスト、中文", "emoji 👋 👋🏽 👩‍👩‍👧 🇫🇷", "tabs\tand\nnewlines!\n", "مرحبا שלום"];
    for (const text of corpus) {
      const completion = await post("/v1/completions", { model: "tiny-llama", prompt: text, max_tokens: 1, temperature: 0 });
      assert.equal(completion.status, 200, JSON.stringify(completion.json));
      assert.deepEqual(routed.at(-1)?.promptTokens, oracle.encode(text, { add_special_tokens: true }).ids, text);
    }
  } finally {
    await router.stop();
    await worker.stop();
  }
});

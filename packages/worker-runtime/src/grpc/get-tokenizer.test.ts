import { writeTinyHfLlamaDir } from "@sigmaserve/model/weights";
import { createGrpcClient, workerv1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import { loadWorkerConfig } from "../config/worker-config.js";
import { startWorker } from "../worker-runtime.js";
import { tokenizerFilesSha256 } from "./get-tokenizer.js";

async function withWorker(flags: string[], body: (client: ReturnType<typeof createGrpcClient<typeof workerv1.WorkerService>>) => Promise<void>): Promise<void> {
  const runtime = await startWorker(loadWorkerConfig(flags, {}), pino({ level: "silent" }));
  const client = createGrpcClient(workerv1.WorkerService, runtime.address);
  try {
    await body(client);
  } finally {
    client.close();
    await runtime.stop();
  }
}

test("worker - --served-model-name is the model id it registers; a byte tokenizer sends no files", async () => {
  await withWorker(["--preset", "sigma-tiny", "--served-model-name", "demo"], async (client) => {
    const { info } = await client.getInfo({});
    assert.deepEqual([info?.model?.id, info?.model?.tokenizer, info?.tokenizerSha256], ["demo", "byte", ""]);
    const files = await client.getTokenizer({});
    assert.deepEqual([files.model, files.kind, files.tokenizerJson.length, files.sha256], ["demo", "byte", 0, ""]);
  });
});

test("worker - GetTokenizer sends an HF model's tokenizer files, hashed as its WorkerInfo says", async () => {
  const dir = await mkdtemp(join(tmpdir(), "get-tokenizer-"));
  try {
    await writeTinyHfLlamaDir(dir);
    await withWorker(["--model", dir], async (client) => {
      const { info } = await client.getInfo({});
      const files = await client.getTokenizer({});
      const tokenizerJson = new Uint8Array(await readFile(join(dir, "tokenizer.json")));
      const configJson = new Uint8Array(await readFile(join(dir, "tokenizer_config.json")));
      assert.ok(Buffer.from(files.tokenizerJson).equals(tokenizerJson));
      assert.ok(Buffer.from(files.tokenizerConfigJson).equals(configJson));
      assert.equal(files.kind, "hf");
      assert.equal(files.sha256, tokenizerFilesSha256(tokenizerJson, configJson));
      assert.equal(info?.tokenizerSha256, files.sha256);
      assert.equal(info?.model?.id, dir.split("/").at(-1));
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

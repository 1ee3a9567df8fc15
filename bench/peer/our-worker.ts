/**
 * Our side: a real worker process (apps/worker's dist/main.js) serving the
 * same model directory, called straight through its gRPC WorkerService as
 * the router would: token-id prompts, greedy (temperature 0), EOS ignored,
 * exactly `maxTokens` new tokens. Several prompts are concurrent streams,
 * which the worker's scheduler batches.
 *
 * Each call carries its own cache salt, so the worker's prefix cache never
 * serves a prompt it saw in an earlier round (transformers.js has no prefix
 * cache; a hit would make ours skip the prefill the peer pays).
 */
import { createGrpcClient, inferencev1, workerv1 } from "@sigmaserve/proto";
import { startClusterProcess } from "../lib/cluster-processes.js";

/** Deadline of one request, ms: generous, so a loaded machine slows a round rather than failing it. */
const REQUEST_TIMEOUT_MS = 300_000;

export interface OurWorker {
  pid: number;
  /** Concurrent greedy streams; returns each prompt's new token ids. */
  generate(prompts: readonly (readonly number[])[], maxTokens: number): Promise<number[][]>;
  stop(): Promise<void>;
}

export async function startOurWorker(modelDir: string, servedName: string, options: { threads: number; kvDtype: string }): Promise<OurWorker> {
  const proc = await startClusterProcess(
    "@sigmaserve/worker",
    ["--model", modelDir, "--served-model-name", servedName, "--port", "0", "--intra-op-threads", String(options.threads), "--kv-dtype", options.kvDtype, "--worker-id", "peer-bench"],
    "worker listening",
  );
  const client = createGrpcClient(workerv1.WorkerService, proc.ready["address"] as string);
  let calls = 0;
  const one = async (prompt: readonly number[], maxTokens: number, salt: string, index: number): Promise<number[]> => {
    const tokens: number[] = [];
    let finish = "none";
    const stream = client.generate(
      {
        requestId: `${salt}-${index}`,
        model: servedName,
        promptTokenIds: [...prompt],
        sampling: { temperature: 0, maxTokens, ignoreEos: true },
        cacheSalt: salt,
        arrivedAtUnixMs: BigInt(Date.now()),
      },
      { timeoutMs: REQUEST_TIMEOUT_MS },
    );
    for await (const message of stream) {
      if (message.event.case === "chunk") tokens.push(...message.event.value.tokenIds);
      else if (message.event.case === "finish") finish = `${inferencev1.FinishReason[message.event.value.finishReason] ?? message.event.value.finishReason} ${message.event.value.errorMessage}`.trim();
    }
    if (tokens.length !== maxTokens) throw new Error(`our worker: request ${index} made ${tokens.length} tokens, not ${maxTokens} (finish ${finish})`);
    return tokens;
  };
  return {
    pid: proc.child.pid!,
    generate(prompts, maxTokens) {
      const salt = `peer-bench-${calls++}`;
      return Promise.all(prompts.map((prompt, i) => one(prompt, maxTokens, salt, i)));
    },
    async stop() {
      client.close();
      await proc.kill(process.env["BENCH_STOP_SIGNAL"] === "SIGTERM" ? "SIGTERM" : "SIGKILL");
    },
  };
}

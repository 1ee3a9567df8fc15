/**
 * A worker's /metrics over real HTTP after real requests: the vLLM series and
 * the K/V split hold what the requests and the pool say (the finish messages'
 * usage and the pool's own usage() are the oracle), in Prometheus's text
 * format with vLLM's names and labels.
 */
import { createGrpcClient, workerv1 } from "@sigmaserve/proto";
import { parseExposition, sample } from "@sigmaserve/telemetry";
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { loadWorkerConfig } from "../config/worker-config.js";
import { startWorker } from "../worker-runtime.js";

test("worker metrics - /metrics serves the vLLM series and the K/V split, matching the requests and the pool", async () => {
  const runtime = await startWorker(loadWorkerConfig(["--preset", "sigma-tiny", "--metrics-port", "0", "--block-size", "16"], {}), pino({ level: "silent" }));
  try {
    assert.ok(runtime.metricsAddress, "the worker reports where /metrics listens");
    const client = createGrpcClient(workerv1.WorkerService, runtime.address);
    const usages: { prompt: number; completion: number; cached: number; reason: string }[] = [];
    const prompt = Array.from({ length: 40 }, (_, i) => (i * 7) % 250);
    // The same prompt twice: the second finds 32 of its 40 tokens (two full blocks) in the prefix cache.
    for (const [i, maxTokens] of [5, 3].entries()) {
      for await (const message of client.generate({ requestId: `m${i}`, model: "sigma-tiny", promptTokenIds: prompt, sampling: { maxTokens, ignoreEos: true } })) {
        if (message.event.case === "finish") {
          const finish = message.event.value;
          usages.push({ prompt: finish.usage!.promptTokens, completion: finish.usage!.completionTokens, cached: finish.usage!.cachedPromptTokens, reason: "length" });
        }
      }
    }
    client.close();
    assert.equal(usages[1]!.cached, 32, "the second request hit the prefix cache");

    const response = await fetch(`http://${runtime.metricsAddress}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const series = parseExposition(await response.text());
    const model = { model_name: "sigma-tiny" };
    const sum = (key: "prompt" | "completion" | "cached") => usages.reduce((total, u) => total + u[key], 0);

    assert.equal(sample(series, "vllm:num_requests_running", model), 0);
    assert.equal(sample(series, "vllm:num_requests_waiting", model), 0);
    assert.equal(sample(series, "vllm:request_success_total", { ...model, finished_reason: "length" }), 2);
    assert.equal(sample(series, "vllm:prompt_tokens_total", model), sum("prompt"));
    assert.equal(sample(series, "vllm:generation_tokens_total", model), sum("completion"));
    assert.equal(sample(series, "vllm:prefix_cache_queries_total", model), sum("prompt"));
    assert.equal(sample(series, "vllm:prefix_cache_hits_total", model), sum("cached"));
    assert.equal(sample(series, "vllm:time_to_first_token_seconds_count", model), 2);
    // vLLM's TTFT boundaries, le="0.001" first and +Inf last.
    assert.ok(series.has('vllm:time_to_first_token_seconds_bucket{le="0.001",model_name="sigma-tiny"}'));
    assert.equal(sample(series, "vllm:time_to_first_token_seconds_bucket", { ...model, le: "+Inf" }), 2);
    // One inter-token gap per token after the first: 4 + 2.
    assert.equal(sample(series, "vllm:inter_token_latency_seconds_count", model), sum("completion") - usages.length);
    assert.equal(sample(series, "vllm:e2e_request_latency_seconds_count", model), 2);
    assert.equal(sample(series, "vllm:num_preemptions_total", model), 0);

    // The K/V split is the pool's own usage, block for block.
    for (const u of runtime.kv.usage()) {
      const labels = { ...model, component: u.component, tier: u.tier };
      assert.equal(sample(series, "sigmaserve_kv_blocks", { ...labels, state: "used" }), u.usedBlocks, `${u.component}/${u.tier} used`);
      assert.equal(sample(series, "sigmaserve_kv_blocks", { ...labels, state: "cached" }), u.cachedFreeBlocks, `${u.component}/${u.tier} cached`);
      assert.equal(sample(series, "sigmaserve_kv_blocks", { ...labels, state: "free" }), u.totalBlocks - u.usedBlocks - u.cachedFreeBlocks);
      assert.equal(sample(series, "sigmaserve_kv_usage_ratio", labels), u.usedBlocks / u.totalBlocks);
    }
    assert.ok((sample(series, "sigmaserve_kv_blocks", { ...model, component: "k", tier: "device", state: "cached" }) ?? 0) >= 2, "the prompt's full blocks stay cached");
    assert.equal(sample(series, "vllm:kv_cache_usage_perc", model), 0, "nothing is held once the requests finished");
    assert.ok((sample(series, "sigmaserve_attention_read_bytes_total", { ...model, component: "k", tier: "device" }) ?? 0) > 0);
    assert.equal(sample(series, "sigmaserve_selective_v_rows_total", { ...model, outcome: "skipped" }), 0, "full attention skips no V row");
    assert.equal(sample(series, "sigmaserve_kv_events_published_total", model), runtime.eventLog.lastTakenSeq);
    assert.equal(sample(series, "sigmaserve_kv_tenant_cap_evictions_total", model), 0, "the tenant cap is off by default");
    // Each component's pool dtype is an info series (bf16 by default); nothing was imported, so nothing converted.
    for (const component of ["k", "v"] as const) {
      assert.equal(runtime.kv.dtype[component], "bf16");
      assert.equal(sample(series, "sigmaserve_kv_dtype_info", { ...model, component, dtype: "bf16" }), 1, `${component} dtype`);
      assert.equal(sample(series, "sigmaserve_kv_import_dtype_conversions_total", { ...model, component }), 0);
    }
    assert.equal(sample(series, "vllm:cache_config_info", { ...model, block_size: "16" }), 1);
    // The step loop's phases are the scheduler's own wall-time sums (no request runs now, so they hold still).
    const phases = runtime.scheduler.stepPhaseMs;
    for (const [phase, label] of [["schedule", "schedule"], ["dense", "dense"], ["attention", "attention"], ["kvWrite", "kv_write"], ["sample", "sample"], ["io", "io"]] as const) {
      const seconds = sample(series, "sigmaserve_engine_step_phase_seconds_total", { ...model, phase: label });
      assert.ok(seconds !== undefined && Math.abs(seconds - phases[phase] / 1000) < 1e-9, `phase ${label}: ${seconds} s against ${phases[phase]} ms`);
    }
    assert.ok(phases.dense > 0 && phases.attention > 0 && phases.kvWrite > 0, "the engine reports its dense, attention and KV-write time");

    assert.equal((await fetch(`http://${runtime.metricsAddress}/other`)).status, 404);
    assert.equal((await fetch(`http://${runtime.metricsAddress}/metrics`, { method: "POST" })).status, 405);
  } finally {
    await runtime.stop();
  }
});

test("worker metrics - without --metrics-port nothing listens, and the registry still counts", async () => {
  const runtime = await startWorker(loadWorkerConfig(["--preset", "sigma-tiny"], {}), pino({ level: "silent" }));
  try {
    assert.equal(runtime.metricsAddress, undefined);
    assert.match(await runtime.metrics.registry.metrics(), /vllm:num_requests_running\{model_name="sigma-tiny"\} 0/);
  } finally {
    await runtime.stop();
  }
});

test("worker metrics - selective V: the V rows read plus the rows skipped are what full attention reads", async () => {
  const runtime = await startWorker(loadWorkerConfig(["--preset", "sigma-tiny", "--kv-host-mib", "8", "--selective-v-topk", "4"], {}), pino({ level: "silent" }));
  try {
    const client = createGrpcClient(workerv1.WorkerService, runtime.address);
    const prompt = Array.from({ length: 40 }, (_, i) => (i * 11) % 250);
    for await (const _ of client.generate({ requestId: "sv", model: "sigma-tiny", promptTokenIds: prompt, sampling: { maxTokens: 5, ignoreEos: true } }));
    client.close();
    const series = parseExposition(await runtime.metrics.registry.metrics());
    // Positions 0..39 (the prompt) and 40..43 (four generated tokens fed back) were computed; a row at position p
    // attends to p + 1 positions, and full attention reads each of them once per V head and layer.
    const { num_hidden_layers: layers, num_value_heads: nV } = runtime.model.config;
    const positions = Array.from({ length: 44 }, (_, p) => p + 1).reduce((a, b) => a + b, 0);
    const read = sample(series, "sigmaserve_selective_v_rows_total", { outcome: "read" })!;
    const skipped = sample(series, "sigmaserve_selective_v_rows_total", { outcome: "skipped" })!;
    assert.ok(skipped > 0, "selective V skipped rows");
    assert.equal(read + skipped, layers * positions * nV);
  } finally {
    await runtime.stop();
  }
});

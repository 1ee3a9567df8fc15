import assert from "node:assert/strict";
import { test } from "node:test";
import { main } from "../main.js";

/** Runs the CLI in-process. */
async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

test("cli - kv plan: sigma-1.5b in bf16 fits 1.6x the tokens of std-1.5b in 80 GiB (66,560 vs 106,496 bytes per token)", async () => {
  const { code, stdout, stderr } = await run("kv", "plan", "--preset", "sigma-1.5b", "--dtype", "bf16", "--device-gib", "80", "--json");
  assert.equal(code, 0, stderr);
  const plan = JSON.parse(stdout);
  assert.equal(plan.model, "sigma-1.5b");
  assert.deepEqual(plan.bytes_per_token, { k: 13_312, v: 53_248, total: 66_560 });
  assert.equal(plan.device_bytes, 80 * 2 ** 30);
  assert.deepEqual([plan.device_bytes_per_token, plan.tokens, plan.limited_by], [66_560, 1_290_544, "device"]);
  assert.deepEqual(plan.gqa_twin.shape, { num_hidden_layers: 26, num_key_heads: 16, num_value_heads: 16, head_dim: 64 });
  assert.deepEqual([plan.gqa_twin.bytes_per_token.total, plan.gqa_twin.tokens], [106_496, 806_592]);
  assert.equal(plan.vs_gqa_twin.device_bytes_per_token, 1.6);
  assert.equal(plan.vs_gqa_twin.tokens.toFixed(2), "1.60");

  const text = await run("kv", "plan", "--preset", "sigma-1.5b", "--dtype", "bf16", "--device-gib", "80");
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^kv plan sigma-1\.5b: 26 layers, heads k\/v 4\/16, head_dim 64; bf16, 16-token blocks, mode full$/m);
  assert.match(text.stdout, /^memory: device 80 GiB \(85,899,345,920 bytes\), host not used$/m);
  assert.match(text.stdout, /^sigma-1\.5b +13,312 +53,248 +66,560 +0 +1,290,544 +- +1,290,544 +device$/m);
  assert.match(text.stdout, /^GQA twin \(n_k 16\) +53,248 +53,248 +106,496 +0 +806,592 +- +806,592 +device$/m);
  assert.match(text.stdout, /^ratio: 1\.60x the tokens of the GQA twin in the same memory \(device bytes per token 1\.60x\)$/m);
  // 2^30 ÷ 66,560 = 16,131.9 tokens per GiB; the twin 2^30 ÷ 106,496 = 10,082.5.
  assert.match(text.stdout, /^density in bf16: 16,131 tokens per GiB of K\+V \(GQA twin 10,082\)$/m);
});

test("cli - kv plan: tokens per GiB for the dtype in use, bf16 exactly twice f32; --kv-k-dtype / --kv-v-dtype set one component", async () => {
  const plans = await Promise.all(
    [["--kv-dtype", "f32"], ["--kv-dtype", "bf16"], ["--dtype", "f16"], ["--kv-dtype", "f32", "--kv-k-dtype", "bf16"]].map(async (flags) => {
      const { code, stdout, stderr } = await run("kv", "plan", "--preset", "sigma-1.5b", "--device-gib", "80", "--json", ...flags);
      assert.equal(code, 0, stderr);
      return JSON.parse(stdout);
    }),
  );
  const [f32, bf16, f16, mixed] = plans;
  assert.deepEqual([f32.dtype, bf16.dtype, f16.dtype, mixed.dtype], [{ k: "f32", v: "f32" }, { k: "bf16", v: "bf16" }, { k: "f16", v: "f16" }, { k: "bf16", v: "f32" }]);
  assert.equal(f32.tokens_per_gib, 2 ** 30 / 133_120);
  assert.equal(bf16.tokens_per_gib, 2 * f32.tokens_per_gib);
  assert.equal(f16.tokens_per_gib, bf16.tokens_per_gib);
  assert.deepEqual(mixed.bytes_per_token, { k: 13_312, v: 106_496, total: 119_808 });
  const text = await run("kv", "plan", "--preset", "sigma-1.5b", "--device-gib", "80", "--kv-v-dtype", "f16", "--kv-k-dtype", "bf16");
  assert.match(text.stdout, /; K bf16, V f16, 16-token blocks, mode full$/m);
});

test("cli - kv plan: selective-v keeps 13,312 bytes per token on the device and names the tier that limits", async () => {
  const deviceOnly = await run("kv", "plan", "--preset", "sigma-1.5b", "--dtype", "bf16", "--device-gib", "80", "--mode", "selective-v");
  assert.equal(deviceOnly.code, 0, deviceOnly.stderr);
  assert.match(deviceOnly.stdout, /^memory: device 80 GiB \(85,899,345,920 bytes\), host unbounded$/m);
  assert.match(deviceOnly.stdout, /^sigma-1\.5b +13,312 +53,248 +13,312 +53,248 +3,226,384 +- +3,226,384 +device$/m);
  assert.match(deviceOnly.stdout, /^ratio: 4\.00x the tokens of the GQA twin in the same memory \(device bytes per token 4\.00x\)$/m);

  const withHost = await run("kv", "plan", "--preset", "sigma-1.5b", "--device-gib", "80", "--host-gib", "64", "--mode", "selective-v", "--json");
  assert.equal(withHost.code, 0, withHost.stderr);
  const plan = JSON.parse(withHost.stdout);
  assert.deepEqual(plan.dtype, { k: "bf16", v: "bf16" }, "bf16 is the default dtype");
  assert.deepEqual([plan.device_bytes_per_token, plan.host_bytes_per_token, plan.device_tokens, plan.host_tokens, plan.tokens, plan.limited_by], [13_312, 53_248, 3_226_384, 1_290_544, 1_290_544, "host"]);
});

test("cli - kv plan: --block-size, --layers and --dtype change the plan", async () => {
  const { code, stdout } = await run("kv", "plan", "--preset", "sigma-1.5b", "--layers", "2", "--dtype", "f32", "--block-size", "32", "--device-gib", "0.5", "--json");
  assert.equal(code, 0);
  const plan = JSON.parse(stdout);
  // 2 layers × (4 + 16) heads × 64 × 4 bytes = 10,240 bytes per token; 327,680 per 32-token block.
  assert.deepEqual([plan.bytes_per_token.total, plan.bytes_per_block.total, plan.device_bytes], [10_240, 327_680, 2 ** 29]);
  assert.deepEqual([plan.blocks, plan.tokens], [1_638, 52_416]);
});

test("cli - kv plan: bad arguments exit 2 with a message naming the flag", async () => {
  const cases: [string[], RegExp][] = [
    [["kv", "plan", "--device-gib", "80"], /--preset is required/],
    [["kv", "plan", "--preset", "sigma-9b", "--device-gib", "80"], /--preset "sigma-9b" is not a preset/],
    [["kv", "plan", "--preset", "sigma-1.5b"], /--device-gib is required/],
    [["kv", "plan", "--preset", "sigma-1.5b", "--device-gib", "lots"], /--device-gib must be a number of GiB >= 0, got "lots"/],
    [["kv", "plan", "--preset", "sigma-1.5b", "--device-gib=-1"], /--device-gib must be a number of GiB >= 0, got "-1"/],
    [["kv", "plan", "--preset", "sigma-1.5b", "--device-gib", "1e3"], /--device-gib must be a number of GiB >= 0, got "1e3"/],
    [["kv", "plan", "--preset", "sigma-1.5b", "--device-gib", "80", "--mode", "selective-v", "--host-gib", "x"], /--host-gib must be a number of GiB >= 0, got "x"/],
    [["kv", "plan", "--preset", "sigma-1.5b", "--device-gib", "80", "--mode", "offload"], /--mode must be one of full, selective-v, got "offload"/],
    [["kv", "plan", "--preset", "sigma-1.5b", "--device-gib", "80", "--host-gib", "512"], /--host-gib applies to --mode selective-v only/],
    [["kv", "plan", "--preset", "sigma-1.5b", "--device-gib", "80", "--dtype", "f8"], /--dtype must be one of f32, f16, bf16, got "f8"/],
    [["kv", "plan", "--preset", "sigma-1.5b", "--device-gib", "80", "--kv-dtype", "f8"], /--kv-dtype must be one of f32, f16, bf16, got "f8"/],
    [["kv", "plan", "--preset", "sigma-1.5b", "--device-gib", "80", "--kv-v-dtype", "int8"], /--kv-v-dtype must be one of f32, f16, bf16, got "int8"/],
    [["kv", "plan", "--preset", "sigma-1.5b", "--device-gib", "80", "--dtype", "f32", "--kv-dtype", "bf16"], /--dtype is the older name of --kv-dtype: give one of them/],
    [["kv", "plan", "--preset", "sigma-1.5b", "--device-gib", "80", "--block-size", "0"], /--block-size must be an integer >= 1, got "0"/],
    [["kv", "plan", "--preset", "sigma-1.5b", "--device-gib", "80", "--layers", "two"], /--layers must be an integer >= 1, got "two"/],
    [["kv", "plan", "--preset", "sigma-1.5b", "--device-gib", "80", "extra"], /unexpected argument "extra"/],
    [["kv", "plan", "--preset", "sigma-1.5b", "--device-gib", "-1"], /--device-gib/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await run(...args);
    assert.equal(code, 2, `${args.join(" ")} → ${code}: ${stderr}`);
    assert.match(stderr, message, args.join(" "));
    assert.match(stderr, /^sigmaserve kv plan: .+ \(see "sigmaserve kv plan --help"\)\n$/, `one line: ${stderr}`);
  }
});

test("cli - kv plan is listed in the top-level usage", async () => {
  const { stdout } = await run("--help");
  assert.match(stdout, /^ {2}kv plan +Tokens of KV cache that fit per tier, K and V apart, next to the GQA twin$/m);
});

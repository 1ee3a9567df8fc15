/**
 * The CLI's conventions: -h/--help and --version everywhere, help generated from each command's flag
 * table, one way to give the router's address (a URL or host:port, SIGMASERVE_ADDRESS, SIGMASERVE_API_KEY),
 * snake_case JSON with NDJSON for --json --stream, and `up` refusing a bad command line in one line
 * before it starts anything.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { pino } from "pino";
import { resolveAddress } from "./address.js";
import { SPEC as upSpec } from "./commands/up.js";
import { startSingleProcessCluster } from "./commands/single-process-cluster.js";
import { snakeCaseKeys } from "./json-output.js";
import { VERSION, main } from "./main.js";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

/** Runs with these environment variables set (undefined: unset), then puts them back. */
async function withEnv<T>(vars: Record<string, string | undefined>, body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  const set = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  set(vars);
  try {
    return await body();
  } finally {
    set(saved);
  }
}

/** Pids of this process's children (what a half-started `up` would leave behind). */
function childPids(): string[] {
  try {
    const lines = execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" }).split("\n").map((line) => line.trim().split(/\s+/));
    return lines.filter(([pid, command]) => pid !== "" && command !== "ps").map(([pid, command]) => `${pid} ${command}`);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

test("cli help - -h, --help, help COMMAND and COMMAND --help; --version everywhere", async () => {
  const top = await run("-h");
  assert.equal(top.code, 0);
  assert.match(top.stdout, /^usage: sigmaserve <command> \[options\]$/m);
  assert.match(top.stdout, /^ {2}model inspect +Parameters and K\/V cache bytes/m);
  assert.deepEqual(await run("--help"), top);
  assert.deepEqual(await run("help"), top);
  for (const args of [["--version"], ["up", "--version"], ["model", "make", "--version"]]) assert.deepEqual(await run(...args), { code: 0, stdout: `sigmaserve ${VERSION}\n`, stderr: "" });
  assert.match(VERSION, /^\d+\.\d+\.\d+/);

  const up = await run("help", "up");
  assert.equal(up.code, 0);
  assert.deepEqual(await run("up", "--help"), up);
  assert.deepEqual(await run("up", "-h"), up);
  assert.match(up.stdout, /^usage: sigmaserve up \[options\]$/m);
  // Every flag of the table is there, with its description and its default.
  for (const [name, flag] of Object.entries(upSpec.flags)) {
    const line = up.stdout.split("\n").find((l) => l.includes(`--${name} `) || l.endsWith(`--${name}`) || new RegExp(`--${name} {2,}`).test(l));
    assert.ok(line !== undefined, `--${name} is in the help`);
    assert.ok(line.includes(flag.description), `--${name}'s description`);
    if (flag.default !== undefined) assert.ok(line.endsWith(`(default: ${flag.default})`), `--${name}'s default: ${line}`);
  }
  assert.match(up.stdout, /^ {6}--http-port N +the router's HTTP port \(0: the OS picks\); must be free \(default: 8000\)$/m);
  assert.match(up.stdout, /^ {2}-h, --help +show this help and exit$/m);

  const make = await run("help", "model", "make");
  assert.equal(make.code, 0);
  assert.deepEqual(await run("model", "make", "--help"), make);
  assert.match(make.stdout, /--seed N +weight seed; .+ \(default: 0\)/);
  const status = await run("status", "--help");
  assert.match(status.stdout, /--http ADDR +deprecated: use --address/);
  assert.match(status.stdout, /--address ADDR .+\(default: 127\.0\.0\.1:8000, or \$SIGMASERVE_ADDRESS\)/);
});

test("cli help - a group without its subcommand lists them; unknown commands exit 2 in one line", async () => {
  const model = await run("model");
  assert.equal(model.code, 0);
  assert.match(model.stdout, /^usage: sigmaserve model <command> \[options\]$/m);
  for (const sub of ["make", "inspect", "logits"]) assert.match(model.stdout, new RegExp(`^ {2}model ${sub} +\\S`, "m"));
  assert.deepEqual(await run("help", "model"), model);
  assert.deepEqual(await run("model", "--help"), model);
  assert.match((await run("kv")).stdout, /^ {2}kv plan +Tokens of KV cache/m);

  const none = await run();
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^usage: sigmaserve <command>/);
  for (const args of [["frobnicate"], ["model", "frobnicate"], ["help", "frobnicate"]]) {
    const result = await run(...args);
    assert.equal(result.code, 2, args.join(" "));
    assert.match(result.stderr, /^sigmaserve: unknown command "[a-z ]+" \(see "sigmaserve --help"\)\n$/);
  }
  const bad = await run("generate", "hi", "--bogus");
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, `sigmaserve generate: Unknown option '--bogus' (see "sigmaserve generate --help")\n`);
});

test("cli up - a bad command line or a taken port fails in one line before anything starts, nothing left running", async () => {
  const taken = createTcpServer();
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
  const port = (taken.address() as { port: number }).port;
  const before = childPids();
  try {
    const cases: [string[], number, RegExp][] = [
      [["--preset", "nope"], 2, /^sigmaserve up: --preset "nope" is not a preset \(one of sigma-tiny, /],
      [["--policy", "bogus"], 2, /^sigmaserve up: --policy: Invalid option: expected one of .*"kv_aware"/],
      [["--workers", "0"], 2, /^sigmaserve up: --workers must be an integer >= 1 and <= 64, got "0"/],
      [["--autoscale", "3..1"], 2, /^sigmaserve up: --autoscale: MAX must be at least MIN/],
      [["--grpc-port", "9000", "--http-port", "9000"], 2, /^sigmaserve up: --grpc-port and --http-port are both 9000/],
      [["--log-level", "loud"], 2, /^sigmaserve up: --log-level must be one of fatal, error, warn, info, debug, trace, silent/],
      [["--grpc-port", "0", "--http-port", String(port)], 1, new RegExp(`^sigmaserve up: --http-port ${port}: 127\\.0\\.0\\.1:${port} is in use; give another port, or 0`)],
    ];
    for (const [args, code, message] of cases) {
      const startedMs = Date.now();
      const result = await run("up", ...args);
      assert.equal(result.code, code, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(" "));
      assert.equal(result.stderr.split("\n").length, 2, `one line: ${result.stderr}`);
      assert.equal(result.stdout, "", "nothing started, nothing announced");
      assert.ok(Date.now() - startedMs < 5_000, "refused before any start-up");
    }
    assert.deepEqual(childPids(), before, "no process was started");
    // As a real process: the same one line, no stack trace.
    const real = await promisify(execFile)(process.execPath, ["--import", "tsx", MAIN, "up", "--preset", "nope"]).then(
      () => assert.fail("must fail"),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    assert.equal(real.code, 2);
    assert.match(real.stderr, /^sigmaserve up: --preset "nope" is not a preset .*\n$/);
    assert.doesNotMatch(real.stderr, /\n\s+at /);
  } finally {
    taken.close();
  }
});

test("cli status - takes the URL the up banner prints, host:port, the deprecated --http, and SIGMASERVE_ADDRESS / SIGMASERVE_API_KEY", async () => {
  const seen: IncomingHttpHeaders[] = [];
  const router = createServer((request, response) => {
    seen.push(request.headers);
    assert.equal(request.url, "/v1/cluster");
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify({ workers: [{ id: "worker-0", address: "127.0.0.1:1", model: "sigma-tiny", state: "ready", running_requests: 1, waiting_requests: 0 }] }));
  });
  await new Promise<void>((resolve) => router.listen(0, "127.0.0.1", resolve));
  const hostPort = `127.0.0.1:${(router.address() as { port: number }).port}`;
  try {
    await withEnv({ SIGMASERVE_ADDRESS: undefined, SIGMASERVE_API_KEY: undefined }, async () => {
      for (const args of [["--address", `http://${hostPort}`], ["--address", `http://${hostPort}/`], ["--address", hostPort], ["--http", `http://${hostPort}`], ["--http", hostPort]]) {
        const result = await run("status", ...args);
        assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
        assert.match(result.stdout, /^worker-0 {2}127\.0\.0\.1:1 {2}sigma-tiny {2}ready {2}running 1 {2}waiting 0/);
      }
      assert.equal(seen.at(-1)!.authorization, undefined);
      const json = await run("status", "--address", hostPort, "--json");
      assert.equal(JSON.parse(json.stdout).workers[0].running_requests, 1);
      const wrong = await run("status", "--address", `grpc://${hostPort}`);
      assert.equal(wrong.code, 2);
      assert.match(wrong.stderr, /--address "grpc:\/\/.+" is not a HTTP address: give http:\/\/host:port or host:port/);
      const both = await run("status", "--address", hostPort, "--http", hostPort);
      assert.match(both.stderr, /give --address or --http, not both/);
    });
    await withEnv({ SIGMASERVE_ADDRESS: `http://${hostPort}`, SIGMASERVE_API_KEY: "secret-1" }, async () => {
      const result = await run("status");
      assert.equal(result.code, 0, result.stderr);
      assert.equal(seen.at(-1)!.authorization, "Bearer secret-1");
      // Flags win over the environment.
      const flagged = await run("status", "--api-key", "secret-2", "--address", "127.0.0.1:9");
      assert.equal(flagged.code, 1);
      assert.match(flagged.stderr, /^sigmaserve status: GET http:\/\/127\.0\.0\.1:9\/v1\/cluster: .+\n$/);
      await run("status", "--api-key", "secret-2");
      assert.equal(seen.at(-1)!.authorization, "Bearer secret-2");
    });
  } finally {
    router.close();
  }
});

test("cli generate - --json --stream prints NDJSON (one snake_case object per event); --json alone one object", async () => {
  // The cluster's log lines, to read the router's access line for each request.
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const cluster = await startSingleProcessCluster({ workers: 1, preset: "sigma-tiny", grpcPort: 0, httpPort: 0, logger });
  try {
    await withEnv({ SIGMASERVE_ADDRESS: `grpc://${cluster.router.grpcAddress}`, SIGMASERVE_API_KEY: undefined }, async () => {
      const streamed = await run("generate", "Hello", "--max-tokens", "4", "--temperature", "0", "--json", "--stream");
      assert.equal(streamed.code, 0, streamed.stderr);
      const events = streamed.stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.deepEqual(events.map((e) => e["type"]), ["chunk", "chunk", "chunk", "chunk", "finish"]);
      const finish = events.at(-1)!;
      assert.equal(finish["finish_reason"], "length");
      assert.deepEqual(Object.keys(finish["usage"] as object), ["prompt_tokens", "completion_tokens", "cached_prompt_tokens"]);
      assert.equal((finish["usage"] as Record<string, number>)["completion_tokens"], 4);
      assert.equal(typeof (finish["timings"] as Record<string, unknown>)["ttft_ms"], "number");
      const keys = (value: unknown): string[] => (value !== null && typeof value === "object" ? Object.entries(value).flatMap(([k, v]) => [k, ...keys(v)]) : []);
      assert.deepEqual(events.flatMap(keys).filter((key) => /[A-Z]/.test(key)), [], "snake_case keys only");

      const whole = await run("generate", "Hello", "--max-tokens", "4", "--temperature", "0", "--json", "--address", cluster.router.grpcAddress);
      assert.equal(whole.code, 0, whole.stderr);
      const result = JSON.parse(whole.stdout) as Record<string, unknown>;
      assert.deepEqual(Object.keys(result), ["text", "token_ids", "finish_reason", "usage"]);
      assert.deepEqual(result["token_ids"], events.slice(0, 4).flatMap((e) => e["token_ids"] as number[]), "the same greedy tokens");

      // The router logged one access line per request, at info, with its id, tokens, TTFT and worker.
      const access = logs.filter((entry) => entry["msg"] === "request");
      assert.equal(access.length, 2);
      const { time: _time, pid: _pid, hostname: _hostname, e2eMs, ttftMs, ...line } = access[0]!;
      assert.deepEqual(line, {
        level: 30,
        component: "router",
        requestId: finish["request_id"],
        clientRequestId: "",
        model: "sigma-tiny",
        tenant: "default",
        promptTokens: (finish["usage"] as Record<string, number>)["prompt_tokens"],
        completionTokens: 4,
        cachedTokens: 0,
        workerId: "worker-0",
        finishReason: "length",
        replays: 0,
        status: "ok",
        msg: "request",
      });
      assert.equal(ttftMs, (finish["timings"] as Record<string, number>)["ttft_ms"]);
      assert.ok(typeof e2eMs === "number" && e2eMs >= (ttftMs as number));
    });
  } finally {
    await cluster.stop(0);
  }
});

test("cli address - a URL of the command's protocol or host:port; the other protocol is refused", () => {
  const usage = "usage";
  assert.equal(resolveAddress("http://h:8000", {}, "http", usage), "http://h:8000");
  assert.equal(resolveAddress("https://h.example/", {}, "http", usage), "https://h.example");
  assert.equal(resolveAddress("h:8000", {}, "http", usage), "http://h:8000");
  assert.equal(resolveAddress(undefined, {}, "http", usage), "http://127.0.0.1:8000");
  assert.equal(resolveAddress("grpc://h:50051", {}, "grpc", usage), "h:50051");
  assert.equal(resolveAddress("[::1]:50051", {}, "grpc", usage), "[::1]:50051");
  assert.equal(resolveAddress(undefined, { SIGMASERVE_ADDRESS: "grpc://e:1" }, "grpc", usage), "e:1");
  assert.equal(resolveAddress("f:2", { SIGMASERVE_ADDRESS: "grpc://e:1" }, "grpc", usage), "f:2");
  assert.equal(resolveAddress(undefined, {}, "grpc", usage), "127.0.0.1:50051");
  assert.throws(() => resolveAddress("http://h:8000", {}, "grpc", usage), /--address "http:\/\/h:8000" is not a gRPC address: give grpc:\/\/host:port or host:port/);
  assert.throws(() => resolveAddress(undefined, { SIGMASERVE_ADDRESS: "http://h:1" }, "grpc", usage), /^UsageError: SIGMASERVE_ADDRESS "http:\/\/h:1" is not a gRPC address/);
  assert.throws(() => resolveAddress("http://http://h:1", {}, "http", usage), /--address "http:\/\/http:\/\/h:1" has a path: give scheme:\/\/host:port only/);
  assert.throws(() => resolveAddress("localhost", {}, "http", usage), /"localhost" is neither host:port nor a URL/);
});

test("cli json - keys in snake_case, values as they are, 64-bit seeds exact", () => {
  assert.deepEqual(snakeCaseKeys({ tokenIds: [1, 2], finishReason: "stop", usage: { cachedPromptTokens: 3 }, seed: 2n ** 63n, small: 7n, kv_usage: { k: 1 } }), {
    token_ids: [1, 2],
    finish_reason: "stop",
    usage: { cached_prompt_tokens: 3 },
    seed: "9223372036854775808",
    small: 7,
    kv_usage: { k: 1 },
  });
});

/**
 * The README's quick start, for real: `sigmaserve up` (from the built CLI),
 * then the curl to /v1/chat/completions, `sigmaserve generate --stream` and
 * `sigmaserve status`, then Ctrl-C. Run twice: with nats-server (worker and
 * router processes) and single-process on the in-memory bus (what `up` does
 * where nats-server is not installed). After Ctrl-C nothing it started is left
 * listening.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { describe, test } from "node:test";
import { promisify } from "node:util";

const CLI = join(dirname(createRequire(import.meta.url).resolve("@sigmaserve/cli/package.json")), "dist", "main.js");

function sigmaserve(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [CLI, ...args], { timeout: 60_000 });
}

/** True when something accepts TCP connections on host:port. */
function listening(address: string): Promise<boolean> {
  const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

for (const mode of ["nats-server", "single-process"] as const) {
  describe(`quick start - sigmaserve up (${mode})`, () => {
    test("curl, generate and status work as the README shows; Ctrl-C stops everything", async () => {
      const args = ["up", "--workers", "2", "--grpc-port", "0", "--http-port", "0", ...(mode === "single-process" ? ["--single-process"] : [])];
      const up = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "inherit"] });
      try {
        const printed: string[] = [];
        for await (const line of createInterface({ input: up.stdout! })) {
          printed.push(line);
          if (line.startsWith("Ctrl-C stops the cluster")) break;
        }
        const text = printed.join("\n");
        const http = /http http:\/\/(\S+)/.exec(text)?.[1];
        const grpc = /router +grpc (\S+)/.exec(text)?.[1];
        const workerAddresses = [...text.matchAll(/^worker-\d +(\S+)/gm)].map((m) => m[1]!);
        assert.ok(http !== undefined && grpc !== undefined, text);
        assert.equal(workerAddresses.length, 2, text);
        const nats = /^nats +nats:\/\/(\S+) \(started\)/m.exec(text)?.[1];
        if (mode === "nats-server") assert.ok(nats, "a nats-server was started");
        else assert.match(text, /in this process on the in-memory bus/);

        // The curl of the quick start.
        const response = await fetch(`http://${http}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "sigma-tiny", messages: [{ role: "user", content: "Hello" }], max_tokens: 32 }),
        });
        assert.equal(response.status, 200);
        const completion = (await response.json()) as { object: string; choices: { message: { role: string }; finish_reason: string }[]; usage: { completion_tokens: number } };
        assert.equal(completion.object, "chat.completion");
        assert.equal(completion.choices[0]!.message.role, "assistant");
        // Sampled with the server's seed: EOS may come before max_tokens, so either reason is right.
        const reason = completion.choices[0]!.finish_reason;
        assert.ok(reason === "length" ? completion.usage.completion_tokens === 32 : reason === "stop" && completion.usage.completion_tokens <= 32, JSON.stringify(completion));

        const generated = await sigmaserve("generate", "Hello", "--address", grpc, "--stream", "--max-tokens", "12");
        // EOS may end it early (sampled); the summary line says which.
        const summary = /\[(length|stop): \d+ prompt \+ (\d+) completion tokens/.exec(generated.stdout);
        assert.ok(summary !== null, generated.stdout);
        assert.ok(summary[1] === "length" ? summary[2] === "12" : Number(summary[2]) <= 12, generated.stdout);

        // Workers register through the bus (NATS or memory): status lists both with K and V usage.
        let status = "";
        for (let attempt = 0; attempt < 50 && !/worker-1/.test(status); attempt++) {
          status = (await sigmaserve("status", "--http", http)).stdout;
          if (!/worker-1/.test(status)) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.match(status, /worker-0/);
        assert.match(status, /worker-1/);
        assert.match(status, /worker-0 .*pressure K \d\.\d\d V \d\.\d\d/);

        up.kill("SIGINT");
        const [code] = (await once(up, "exit")) as [number | null];
        assert.equal(code, 0);
        for (const address of [http, grpc, ...workerAddresses, ...(nats === undefined ? [] : [nats])]) {
          assert.equal(await listening(address), false, `${address} still listens after Ctrl-C`);
        }
      } finally {
        up.kill("SIGKILL");
      }
    });
  });
}

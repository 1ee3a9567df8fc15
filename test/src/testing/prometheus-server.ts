/**
 * A real Prometheus (Debian's `prometheus` package; .ci/run installs it) for
 * cross-process tests: it scrapes the given targets every second from a
 * config written to a temporary folder, listens on a free loopback port, and
 * answers PromQL through its HTTP query API. `stop()` kills it and removes
 * its folder.
 */
import { freePort } from "@sigmaserve/testkit";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary } from "./find-binary.js";

export const PROMETHEUS_INSTALL_HINT = "install Debian's prometheus package (apt-get install prometheus), as .ci/run does";

export interface PrometheusServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** The instant vector of `promql`: each series' labels and value. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: number }[]>;
  /** Polls `promql` until `accept` holds for its result (scrapes come every second); throws with the last result after `timeoutMs`. */
  waitFor(promql: string, accept: (result: { metric: Record<string, string>; value: number }[]) => boolean, timeoutMs?: number): Promise<{ metric: Record<string, string>; value: number }[]>;
  stop(): Promise<void>;
}

export async function startPrometheus(jobs: Record<string, string[]>): Promise<PrometheusServer> {
  const binary = findBinary(["prometheus"], PROMETHEUS_INSTALL_HINT);
  const dir = await mkdtemp(join(tmpdir(), "sigmaserve-prometheus-"));
  const scrapeConfigs = Object.entries(jobs)
    .map(([job, targets]) => `  - job_name: ${job}\n    static_configs:\n      - targets: [${targets.map((t) => `"${t}"`).join(", ")}]`)
    .join("\n");
  await writeFile(join(dir, "prometheus.yml"), `global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n${scrapeConfigs}\n`);
  const port = await freePort();
  const child = spawn(binary, [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`);
      const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`prometheus was not ready within 30 s: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const query: PrometheusServer["query"] = async (promql) => {
    const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== "success" || body.data === undefined) throw new Error(`prometheus query ${promql} failed: ${body.error ?? response.status}`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  return {
    url,
    query,
    waitFor: async (promql, accept, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const result = await query(promql);
        if (accept(result)) return result;
        if (Date.now() > deadline) throw new Error(`prometheus: ${promql} never met the condition in ${timeoutMs} ms; last result ${JSON.stringify(result)}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    stop,
  };
}

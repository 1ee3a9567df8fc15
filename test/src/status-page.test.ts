/**
 * The router's status page in a real browser (headless Chromium) against a
 * live cluster: after the page's script has polled /v1/cluster, the DOM holds
 * a card per worker with its K and V bars (their numbers the worker's own
 * usage as /v1/cluster reports it), the request rate and TTFT, and the last
 * routing decisions with every candidate's cost.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startCluster, type Cluster } from "./cluster.js";
import { dumpDom, screenshot } from "./testing/headless-chromium.js";

let cluster: Cluster;

before(async () => {
  cluster = await startCluster({ workers: 2 });
  // A worker's pools show in /v1/cluster from its first load report (a heartbeat after it registers).
  for (let i = 0; i < 200; i++) {
    const view = (await (await fetch(`http://${cluster.httpAddress}/v1/cluster`)).json()) as { workers: { kv_usage: { k?: { device?: unknown } } }[] };
    if (view.workers.length === 2 && view.workers.every((w) => w.kv_usage.k?.device !== undefined)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (let i = 0; i < 3; i++) {
    const response = await fetch(`http://${cluster.httpAddress}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "sigma-tiny", prompt: "The status page shows this request, number " + i, max_tokens: 4 }),
    });
    assert.equal(response.status, 200);
  }
});

after(() => cluster?.stop());

test("status page - renders each worker with its K and V bars, the rate and TTFT, and the routing decisions with candidate costs", async () => {
  const page = await fetch(`http://${cluster.httpAddress}/status`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
  assert.doesNotMatch(await page.text(), /<script src=|<link /, "nothing is fetched from elsewhere");

  const dom = await dumpDom(`http://${cluster.httpAddress}/status`);
  const cluster1 = (await (await fetch(`http://${cluster.httpAddress}/v1/cluster`)).json()) as { workers: { id: string; kv_usage: Record<string, Record<string, { total_blocks: number }>> }[]; recent: { decisions: unknown[] } };
  assert.equal(cluster1.workers.length, 2);
  for (const worker of cluster1.workers) {
    assert.match(dom, new RegExp(`data-worker="${worker.id}"`), `a card for ${worker.id}`);
    for (const component of ["k", "v"]) {
      const total = worker.kv_usage[component]!["device"]!.total_blocks;
      assert.match(dom, new RegExp(`class="kv-bar" data-component="${component}" data-tier="device" data-used="\\d+" data-cached="\\d+" data-total="${total}"`), `${worker.id} ${component} device bar`);
    }
  }
  // Three requests: three decisions, each naming both candidates with a cost.
  const rows = [...dom.matchAll(/<tr data-request="[^"]+">(.*?)<\/tr>/g)];
  assert.equal(rows.length, 3);
  for (const [, row] of rows) for (const worker of cluster1.workers) assert.match(row!, new RegExp(`${worker.id} -?\\d`), "each candidate with its cost");
  assert.match(dom, /<div class="value">2 \/ 2<\/div><div class="label">workers ready<\/div>/);
  assert.match(dom, /<div class="label">TTFT p50<\/div>/);
  assert.match(dom, /<div id="error"><\/div>/, "no error shown");
  assert.match(dom, /<div id="updated">updated /);

  const dir = await mkdtemp(join(tmpdir(), "sigmaserve-status-"));
  try {
    await screenshot(`http://${cluster.httpAddress}/status`, join(dir, "status.png"));
    const png = await readFile(join(dir, "status.png"));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "a PNG");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/**
 * GET /status: a page a person can leave open. It polls /v1/cluster every
 * two seconds and draws the workers (state, load, K and V usage per tier as
 * bars: held by requests, cached, free), the last minute's request rate and
 * client-side TTFT, and the last routing decisions with every candidate's
 * cost. One self-contained document: inline CSS and plain JavaScript, no
 * build step, nothing fetched from elsewhere. Values from the cluster are
 * written with textContent only. With API keys on, the page asks for one and
 * keeps it in the tab's sessionStorage (the page itself needs no key).
 */
import type { ServerResponse } from "node:http";

export const STATUS_REFRESH_MS = 2_000;

const STYLE = `
:root { --bg: #0f1419; --panel: #1a2129; --text: #d8dee6; --muted: #8a96a3; --k: #4ea1ff; --v: #f2a33a; --cached: #5b6b7a; --free: #2a333d; --ok: #3fb950; --warn: #d29922; --bad: #f85149; }
* { box-sizing: border-box; }
body { margin: 0; padding: 20px 28px; background: var(--bg); color: var(--text); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 24px 0 8px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .04em; }
#updated { color: var(--muted); font-size: 12px; } #error { color: var(--bad); margin: 8px 0; min-height: 1em; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin-top: 12px; }
.card { background: var(--panel); border-radius: 8px; padding: 10px 16px; min-width: 140px; } .card .value { font-size: 22px; font-weight: 600; } .card .label { color: var(--muted); font-size: 12px; }
.workers { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 12px; }
.worker { background: var(--panel); border-radius: 8px; padding: 12px 14px; }
.worker .head { display: flex; justify-content: space-between; align-items: baseline; } .worker .id { font-weight: 600; font-size: 15px; }
.state { font-size: 12px; padding: 1px 8px; border-radius: 10px; background: var(--free); } .state.ready { color: var(--ok); } .state.draining, .state.starting { color: var(--warn); } .state.drained, .state.quarantined, .state.stalled, .state.unknown { color: var(--bad); }
.meta { color: var(--muted); font-size: 12px; margin: 2px 0 8px; }
.kv { display: grid; grid-template-columns: 84px 1fr 150px; align-items: center; gap: 6px; font-size: 12px; margin: 3px 0; }
.kv-bar { height: 12px; background: var(--free); border-radius: 3px; overflow: hidden; display: flex; }
.kv-bar .used { background: var(--k); } .kv-bar[data-component="v"] .used { background: var(--v); } .kv-bar .cached { background: var(--cached); }
.kv .numbers { color: var(--muted); text-align: right; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; background: var(--panel); border-radius: 8px; overflow: hidden; font-size: 13px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--free); } th { color: var(--muted); font-weight: 600; }
td.num { font-variant-numeric: tabular-nums; } .chosen { font-weight: 700; color: var(--ok); } .ineligible { color: var(--muted); text-decoration: line-through; }
.legend { color: var(--muted); font-size: 12px; } .legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 4px 0 12px; vertical-align: -1px; }
#key-form { display: none; margin: 12px 0; } #key-form input { background: var(--panel); color: var(--text); border: 1px solid var(--cached); border-radius: 4px; padding: 4px 8px; }
`;

const SCRIPT = `
"use strict";
const REFRESH_MS = ${STATUS_REFRESH_MS};
const KEY = "sigmaserve-api-key";
const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.className = value; else if (name === "style") node.style.cssText = value; else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}
const pct = (part, total) => (total > 0 ? (100 * part) / total : 0);
const ms = (value) => (value === null || value === undefined ? "–" : value < 1000 ? Math.round(value) + " ms" : (value / 1000).toFixed(2) + " s");
function kvRow(worker, component, tier) {
  const pool = (worker.kv_usage[component] || {})[tier];
  if (!pool) return null;
  const used = pool.used_blocks, cached = pool.cached_free_blocks, total = pool.total_blocks;
  const bar = el("div", { class: "kv-bar", "data-component": component, "data-tier": tier, "data-used": String(used), "data-cached": String(cached), "data-total": String(total), title: component.toUpperCase() + " " + tier + ": " + used + " held, " + cached + " cached, " + (total - used - cached) + " free of " + total + " blocks" },
    el("span", { class: "used", style: "width:" + pct(used, total) + "%" }), el("span", { class: "cached", style: "width:" + pct(cached, total) + "%" }));
  return el("div", { class: "kv" }, el("span", {}, component.toUpperCase() + " " + tier), bar, el("span", { class: "numbers" }, used + " + " + cached + " / " + total));
}
function workerCard(worker) {
  const state = worker.quarantined ? "quarantined" : worker.stalled ? "stalled" : worker.state;
  const rows = [];
  for (const tier of ["device", "host"]) for (const component of ["k", "v"]) { const row = kvRow(worker, component, tier); if (row) rows.push(row); }
  return el("div", { class: "worker", "data-worker": worker.id },
    el("div", { class: "head" }, el("span", { class: "id" }, worker.id), el("span", { class: "state " + state }, state)),
    el("div", { class: "meta" }, worker.address + " · " + worker.model + " · " + worker.running_requests + " running, " + worker.waiting_requests + " waiting · routed here now " + worker.router_in_flight + (worker.selective_v ? " · selective V" : "")),
    ...rows);
}
function decisionRow(decision) {
  const candidates = el("td", {});
  decision.candidates.forEach((candidate, i) => {
    if (i > 0) candidates.append(" · ");
    candidates.append(el("span", { class: candidate.worker_id === decision.worker_id ? "chosen" : candidate.eligible ? "" : "ineligible" }, candidate.worker_id + " " + candidate.cost));
  });
  return el("tr", { "data-request": decision.request_id },
    el("td", { class: "num" }, new Date(decision.at_unix_ms).toLocaleTimeString()), el("td", {}, decision.request_id.slice(0, 12)),
    el("td", { class: "chosen" }, decision.worker_id), el("td", {}, decision.policy), el("td", { class: "num" }, decision.matched_blocks), candidates);
}
function render(cluster) {
  const ready = cluster.workers.filter((w) => w.state === "ready" && !w.quarantined && !w.stalled).length;
  $("cards").replaceChildren(
    ...[["workers ready", ready + " / " + cluster.workers.length], ["requests / s (last " + cluster.recent.window_s + " s)", cluster.recent.requests_per_s.toFixed(2)],
      ["TTFT p50", ms(cluster.recent.ttft_ms_p50)], ["TTFT p99", ms(cluster.recent.ttft_ms_p99)],
      ["in flight", cluster.router.admission.in_flight], ["queued", cluster.router.admission.queued]]
      .map(([label, value]) => el("div", { class: "card" }, el("div", { class: "value" }, value), el("div", { class: "label" }, label))));
  $("workers").replaceChildren(...cluster.workers.map(workerCard));
  $("decisions").replaceChildren(...cluster.recent.decisions.map(decisionRow));
  $("updated").textContent = "updated " + new Date().toLocaleTimeString();
}
async function refresh() {
  const key = sessionStorage.getItem(KEY);
  try {
    const response = await fetch("/v1/cluster", { cache: "no-store", headers: key ? { authorization: "Bearer " + key } : {} });
    if (response.status === 401) { $("key-form").style.display = "block"; $("error").textContent = "this router wants an API key"; return; }
    if (!response.ok) throw new Error("/v1/cluster answered " + response.status);
    render(await response.json());
    $("error").textContent = "";
  } catch (err) {
    $("error").textContent = "cannot reach the router: " + err.message;
  }
}
$("key-form").addEventListener("submit", (event) => { event.preventDefault(); sessionStorage.setItem(KEY, $("key").value); $("key-form").style.display = "none"; refresh(); });
refresh();
setInterval(refresh, REFRESH_MS);
`;

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sigmaserve cluster</title>
<style>${STYLE}</style>
</head>
<body>
<h1>sigmaserve cluster</h1>
<div id="updated">loading…</div>
<div id="error"></div>
<form id="key-form"><label>API key <input id="key" type="password" autocomplete="off"></label> <button>use</button></form>
<div class="cards" id="cards"></div>
<h2>Workers</h2>
<div class="legend">KV blocks per component and tier:<i style="background:var(--k)"></i>K held<i style="background:var(--v)"></i>V held<i style="background:var(--cached)"></i>cached (reusable)<i style="background:var(--free)"></i>free</div>
<div class="workers" id="workers"></div>
<h2>Last routing decisions</h2>
<table><thead><tr><th>time</th><th>request</th><th>worker</th><th>policy</th><th>matched blocks</th><th>candidates (cost, lower wins)</th></tr></thead><tbody id="decisions"></tbody></table>
<script>${SCRIPT}</script>
</body>
</html>
`;

export function sendStatusPage(res: ServerResponse): void {
  res.writeHead(200, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    // Everything the page needs is inline; it talks only to this router.
    "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'",
  });
  res.end(STATUS_PAGE_HTML);
}

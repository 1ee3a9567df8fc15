import { create } from "@bufbuild/protobuf";
import { inferencev1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import type { RoutedRequest } from "../generate/dispatcher.js";
import { RecentActivity } from "./recent-activity.js";

const request = (id: string): RoutedRequest => ({ requestId: id, clientRequestId: id, model: "m", promptTokens: [1], sampling: create(inferencev1.SamplingParamsSchema, {}), cacheSalt: "", priority: 0, arrivedAtMs: 0, arrivedAtPerfMs: 0 });

test("recent activity - rate and TTFT quantiles over the window, the newest decisions first, bounded", () => {
  const recent = new RecentActivity({ windowMs: 10_000, maxDecisions: 3 });
  for (let i = 0; i < 20; i++) recent.completed(i + 1, 1_000 * i); // TTFT 1..20 ms, one a second
  const view = recent.view(19_500);
  // The window (9.5 s .. 19.5 s) holds the completions at 10..19 s: TTFT 11..20 ms.
  assert.equal(view.requests_per_s, 1);
  assert.equal(view.ttft_ms_p50, 16);
  assert.equal(view.ttft_ms_p99, 20);
  for (const id of ["a", "b", "c", "d"]) recent.decided(request(id), { workerId: `w-${id}`, policy: "kv_aware", matchedBlocks: 2, candidates: [{ workerId: `w-${id}`, cost: 1.23456, eligible: true }] }, 0);
  assert.deepEqual(recent.view(19_500).decisions.map((d) => d.request_id), ["d", "c", "b"]);
  assert.deepEqual(recent.view(19_500).decisions[0]!.candidates, [{ worker_id: "w-d", cost: 1.2346, eligible: true }]);
  assert.deepEqual(new RecentActivity().view(0), { window_s: 60, requests_per_s: 0, ttft_ms_p50: null, ttft_ms_p99: null, decisions: [] });
});

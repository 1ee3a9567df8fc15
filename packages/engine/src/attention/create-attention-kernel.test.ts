import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NativeAttentionUnavailableError } from "./attention-errors.js";
import { createAttentionKernel } from "./create-attention-kernel.js";
import { JsPagedAttention } from "./js-paged-attention.js";
import { NativePagedAttention, loadNativeAttention } from "./native-paged-attention.js";

const MISSING = "/nonexistent/paged_attention.node";

describe("attention - createAttentionKernel", () => {
  test("picks the native kernel when its addon loads here", { skip: loadNativeAttention().available ? false : "native addon not built" }, () => {
    const logged: string[] = [];
    const kernel = createAttentionKernel({ threads: 2, log: (m) => logged.push(m) });
    assert.ok(kernel instanceof NativePagedAttention);
    assert.equal(kernel.threads, 2);
    assert.deepEqual(logged, []);
  });

  test("falls back to the JS kernel when the addon is missing, and logs why", () => {
    const logged: string[] = [];
    const kernel = createAttentionKernel({ nativeAddonPath: MISSING, log: (m) => logged.push(m) });
    assert.ok(kernel instanceof JsPagedAttention);
    assert.deepEqual(logged, [`attention: using the JS kernel (compute-bound, about 1.7 GFLOP/s): ${MISSING} is not built (npm run build:native needs a C++ compiler and Node headers)`]);
  });

  test("insisting on the native kernel throws when the addon is missing", () => {
    assert.throws(() => createAttentionKernel({ kind: "native", nativeAddonPath: MISSING }), NativeAttentionUnavailableError);
    assert.throws(() => new NativePagedAttention({ addonPath: MISSING }), NativeAttentionUnavailableError);
  });

  test("kind js never touches the addon", () => {
    const logged: string[] = [];
    assert.ok(createAttentionKernel({ kind: "js", nativeAddonPath: MISSING, log: (m) => logged.push(m) }) instanceof JsPagedAttention);
    assert.deepEqual(logged, []);
  });

  test("refuses a thread count that is not a positive integer", { skip: loadNativeAttention().available ? false : "native addon not built" }, () => {
    assert.throws(() => new NativePagedAttention({ threads: 0 }), RangeError);
    assert.throws(() => new NativePagedAttention({ threads: 1.5 }), RangeError);
  });
});

/**
 * Picks the attention kernel for this process: the native kernel when its
 * addon loads on this machine, otherwise the JS kernel, saying why. The two
 * compute the same function (within 1e-5, tested); only speed differs.
 */
import { NativeAttentionUnavailableError } from "./attention-errors.js";
import type { AttentionKernel } from "./attention-kernel.js";
import { JsPagedAttention } from "./js-paged-attention.js";
import { DEFAULT_NATIVE_ATTENTION_PATH, NativePagedAttention, loadNativeAttention } from "./native-paged-attention.js";

export type AttentionKernelKind = "auto" | "native" | "js";

export interface CreateAttentionKernelOptions {
  /** "auto" (default): native if it loads, else JS; "native": throw if it does not load; "js": always JS. */
  kind?: AttentionKernelKind;
  /** Threads of the native kernel, the calling thread included; default: availableParallelism(). */
  threads?: number;
  /** The native addon file; default: native/build/Release/paged_attention.node of this package. */
  nativeAddonPath?: string;
  /** Receives the reason when "auto" falls back to JS; default: process.emitWarning. */
  log?: (message: string) => void;
}

/** Warning code of the fallback, for process.on("warning") filters. */
export const ATTENTION_FALLBACK_WARNING_CODE = "SIGMASERVE_ATTENTION_JS_FALLBACK";

export function createAttentionKernel(options: CreateAttentionKernelOptions = {}): AttentionKernel {
  const kind = options.kind ?? "auto";
  if (kind === "js") return new JsPagedAttention();
  const addonPath = options.nativeAddonPath ?? DEFAULT_NATIVE_ATTENTION_PATH;
  const status = loadNativeAttention(addonPath);
  if (status.available) return new NativePagedAttention({ addonPath, ...(options.threads === undefined ? {} : { threads: options.threads }) });
  if (kind === "native") throw new NativeAttentionUnavailableError(status.reason);
  const log = options.log ?? ((message: string) => process.emitWarning(message, { code: ATTENTION_FALLBACK_WARNING_CODE }));
  log(`attention: using the JS kernel (compute-bound, about 1.7 GFLOP/s): ${status.reason}`);
  return new JsPagedAttention();
}

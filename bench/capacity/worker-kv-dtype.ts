/**
 * Which KV dtype the workers run with. The worker may or may not have a
 * `--kv-dtype` flag (issue 16 moves the default from f32 to bf16): its
 * `--help` says, and when it does the bench passes the dtype explicitly. The
 * dtype in effect is then read back from the worker itself (GetInfo's
 * kv_dtype), and the planner is asked about that one, so prediction and
 * measurement always describe the same pools.
 */
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import type { KvDtype } from "@sigmaserve/kvcache";
import { kvv1 } from "@sigmaserve/proto";

const run = promisify(execFile);
const workerMain = () => join(dirname(createRequire(import.meta.url).resolve("@sigmaserve/worker/package.json")), "dist", "main.js");

/** Whether the built worker accepts `--kv-dtype` (read from its help text). */
export async function workerHasKvDtypeFlag(): Promise<boolean> {
  const { stdout } = await run(process.execPath, [workerMain(), "--help"]);
  return /--kv-dtype\b/.test(stdout);
}

/** The planner's name for a worker's reported KV dtype; throws on one the planner does not know. */
export function plannerDtype(reported: kvv1.KvDtype): KvDtype {
  switch (reported) {
    case kvv1.KvDtype.F32:
      return "f32";
    case kvv1.KvDtype.F16:
      return "f16";
    case kvv1.KvDtype.BF16:
      return "bf16";
    default:
      throw new Error(`the worker reports KV dtype ${String(reported)}, which the planner does not know`);
  }
}

/**
 * Loader hooks of record-loads.mjs: runs on the ESM loader's thread and
 * appends `resolved <url>` for every specifier the process resolves, static
 * or dynamic import alike. Synchronous appends, so the log is complete even
 * when the process is killed right after.
 */
import { appendFileSync } from "node:fs";

let log;

export function initialize(data) {
  log = data.log;
}

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  appendFileSync(log, `resolved ${result.url}\n`);
  return result;
}

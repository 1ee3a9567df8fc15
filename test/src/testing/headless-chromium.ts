/**
 * Debian's chromium, headless, for tests of pages: the DOM after the page's
 * scripts ran (--dump-dom with a virtual-time budget, so timers and fetches
 * complete before the dump), or a PNG screenshot. .ci/run installs it.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary } from "./find-binary.js";
import { promisify } from "node:util";

const run = promisify(execFile);
export const CHROMIUM_INSTALL_HINT = "install Debian's chromium package (apt-get install chromium), as .ci/run does";

async function chromium(args: string[]): Promise<string> {
  // A profile of its own per run, removed after: nothing leaks between tests.
  const profile = await mkdtemp(join(tmpdir(), "sigmaserve-chromium-"));
  try {
    const { stdout } = await run(findBinary(["chromium", "chromium-browser"], CHROMIUM_INSTALL_HINT), ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions", `--user-data-dir=${profile}`, ...args], { maxBuffer: 32 * 2 ** 20, timeout: 60_000 });
    return stdout;
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** The page's DOM once its scripts have had `budgetMs` of (virtual) time. */
export function dumpDom(url: string, budgetMs = 3_000): Promise<string> {
  return chromium([`--virtual-time-budget=${budgetMs}`, "--dump-dom", url]);
}

/** Writes a PNG of the page at `width`×`height` to `path`. */
export async function screenshot(url: string, path: string, options: { width?: number; height?: number; budgetMs?: number } = {}): Promise<void> {
  await chromium([`--virtual-time-budget=${options.budgetMs ?? 3_000}`, `--window-size=${options.width ?? 1280},${options.height ?? 900}`, "--hide-scrollbars", `--screenshot=${path}`, url]);
}

/**
 * A preload that records what a process loads, for tests that check a
 * process never loaded onnxruntime-node. Use it as
 *
 *   node --import file:///…/record-loads.mjs?log=/tmp/x.log main.js
 *
 * Each module URL the ESM loader resolves is appended to the log as
 * `resolved <url>` (by record-loads-hooks.mjs on the loader's thread), and at
 * exit every shared library the process has mapped is appended as
 * `mapped <path>`. The log path travels in the URL's query so the process's
 * own flags and environment stay exactly as in production.
 *
 * Plain JavaScript on purpose: it runs inside built apps under plain node.
 */
import { appendFileSync } from "node:fs";
import { register } from "node:module";

const log = new URL(import.meta.url).searchParams.get("log");
if (log === null) throw new Error("record-loads.mjs: give the log path as ?log=PATH in the --import URL");
register(new URL("./record-loads-hooks.mjs", import.meta.url), { data: { log } });
// NOTE: 'exit' runs on process.exit() and on a normal end; a process killed by a signal writes no `mapped` lines.
process.on("exit", () => {
  const mapped = process.report.getReport().sharedObjects;
  appendFileSync(log, mapped.map((path) => `mapped ${path}\n`).join(""));
});

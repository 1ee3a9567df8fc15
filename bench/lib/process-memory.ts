/**
 * Resident memory of a process from /proc (Linux), what the soak samples to
 * see whether a process grows: VmRSS (all resident pages) and, inside it,
 * RssAnon (the heap, V8's and native, as opposed to mapped code). Elsewhere,
 * or once the process is gone, it reads NaN.
 */
import { readFileSync } from "node:fs";

export interface ProcessMemory {
  rssBytes: number;
  rssAnonBytes: number;
}

/** One `Name:   1234 kB` field of /proc/<pid>/status, in bytes; NaN when absent. */
function kbField(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(status);
  return match === null ? Number.NaN : Number(match[1]) * 1024;
}

export function processMemory(pid: number): ProcessMemory {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return { rssBytes: kbField(status, "VmRSS"), rssAnonBytes: kbField(status, "RssAnon") };
  } catch {
    return { rssBytes: Number.NaN, rssAnonBytes: Number.NaN };
  }
}

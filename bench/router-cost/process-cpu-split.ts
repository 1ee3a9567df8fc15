/**
 * A process's CPU time split into user and system ms, from /proc (Linux), so
 * the bench can tell the router's own JavaScript (user) from the kernel's
 * socket work it asks for (system: one write per relayed message at low load).
 * bench/lib/process-cpu.ts reads their sum. NaN when /proc cannot say.
 */
import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const TICKS_PER_S = 100;

export interface CpuSplitMs {
  userMs: number;
  systemMs: number;
}

export function processCpuSplitMs(pid: number): CpuSplitMs {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces, hence the last ")"): utime is the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { userMs: (Number(fields[11]) * 1000) / TICKS_PER_S, systemMs: (Number(fields[12]) * 1000) / TICKS_PER_S };
  } catch {
    return { userMs: Number.NaN, systemMs: Number.NaN };
  }
}

import { readdirSync, readFileSync } from "node:fs";

export interface MemorySample {
  /** Resident set size now, bytes. */
  readonly rssBytes: number;
  /** Peak resident set size so far, bytes. */
  readonly hwmBytes: number;
  /** Proportional set size of the process and every process below it (a database server it runs), bytes. */
  readonly treePssBytes: number;
}

function field(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+)\\s+kB$`, "m").exec(status);
  if (!match?.[1]) throw new Error(`no ${name} in /proc status`);
  return Number(match[1]) * 1024;
}

/** VmRSS and VmHWM of a live process, from /proc/<pid>/status (Linux only). */
export function readMemory(pid: number): MemorySample {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return { rssBytes: field(status, "VmRSS"), hwmBytes: field(status, "VmHWM"), treePssBytes: readTreePssBytes(pid) };
}

/** Decimal megabytes (10^6 bytes), rounded to 0.1. */
export function toMB(bytes: number): number {
  return Math.round(bytes / 100_000) / 10;
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

/** The live processes' pids with their parent pid, from /proc. */
function processTable(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command may hold spaces and parentheses: fields start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  return parents;
}

/** `pid` and every process below it (its children, theirs, …). */
export function processTree(pid: number): number[] {
  const parents = processTable();
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  }
  return tree;
}

/** CPU time used so far by a process and by the processes below it (a database server it runs), ms. */
export interface TreeCpu {
  /** The process itself, every thread of it. */
  readonly ownMs: number;
  /** The processes below it. */
  readonly childrenMs: number;
}

/** User + system CPU time of one process, ms; 0 once it has exited (its time is lost, as it would be to `ps`). */
function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** User + system CPU time used so far by `pid` and by the processes below it, apart (Linux only). */
export function readTreeCpu(pid: number): TreeCpu {
  const [own, ...children] = processTree(pid);
  return { ownMs: processCpuMs(own ?? pid), childrenMs: children.reduce((sum, p) => sum + processCpuMs(p), 0) };
}

/**
 * The memory of `pid` and the processes below it, as proportional set size (each shared page
 * divided among the processes that map it, so Postgres' shared buffers count once), bytes.
 */
export function readTreePssBytes(pid: number): number {
  let kb = 0;
  for (const p of processTree(pid)) {
    try {
      const rollup = readFileSync(`/proc/${p}/smaps_rollup`, "utf8");
      const match = /^Pss:\s+(\d+)\s+kB$/m.exec(rollup);
      kb += Number(match?.[1] ?? 0);
    } catch {
      // Exited meanwhile.
    }
  }
  return kb * 1024;
}

import { readFileSync } from "node:fs";

export interface MemorySample {
  /** Resident set size now, bytes. */
  readonly rssBytes: number;
  /** Peak resident set size so far, bytes. */
  readonly hwmBytes: number;
}

function field(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+)\\s+kB$`, "m").exec(status);
  if (!match?.[1]) throw new Error(`no ${name} in /proc status`);
  return Number(match[1]) * 1024;
}

/** VmRSS and VmHWM of a live process, from /proc/<pid>/status (Linux only). */
export function readMemory(pid: number): MemorySample {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return { rssBytes: field(status, "VmRSS"), hwmBytes: field(status, "VmHWM") };
}

/** Decimal megabytes (10^6 bytes), rounded to 0.1. */
export function toMB(bytes: number): number {
  return Math.round(bytes / 100_000) / 10;
}

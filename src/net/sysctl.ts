// Per-namespace sysctls through node:fs, where ./proc-sys.ts (libc) repeats a failed call for its
// error. /proc/sys/net is the calling thread's namespace's: run inside the pod's (docs/bun.md §1).
import { readFileSync, writeFileSync } from "node:fs";

const path = (key: string) => `/proc/sys/${key}`;

export function readSysctl(key: string): string {
  return readFileSync(path(key), "utf8").trim();
}

export function writeSysctl(key: string, value: string): void {
  writeFileSync(path(key), value);
}

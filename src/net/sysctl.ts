// Per-namespace sysctls. /proc/sys/net follows the calling thread's namespace, so these must run
// while the thread is inside the pod's namespace, synchronously (docs/bun.md §1).
import { readFileSync, writeFileSync } from "node:fs";

const path = (key: string) => `/proc/sys/${key}`;

export function readSysctl(key: string): string {
  return readFileSync(path(key), "utf8").trim();
}

export function writeSysctl(key: string, value: string): void {
  writeFileSync(path(key), value);
}

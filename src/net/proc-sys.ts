// Per-namespace sysctls as every ADD reads and writes them: through libc (src/cni/sysio.ts), not
// node:fs, which would cost each command its start-up (README "Start-up budget"). /proc/sys/net
// follows the calling thread's namespace, so these run while the thread is inside the pod's
// namespace, synchronously (docs/bun.md §1). A call that fails is repeated by ./sysctl.ts
// (node:fs), so the error thrown, code and message, is node:fs's as before.
import { readText, writeText } from "../cni/sysio";

const path = (key: string) => `/proc/sys/${key}`;
const byNodeFs = (): typeof import("./sysctl") => require("./sysctl");

export function readSysctl(key: string): string {
  return readText(path(key))?.trim() ?? byNodeFs().readSysctl(key);
}

export function writeSysctl(key: string, value: string): void {
  if (!writeText(path(key), value)) byNodeFs().writeSysctl(key, value);
}

// src/net/proc-sys.ts: the sysctls every ADD reads and writes through libc reach the namespace the
// JS thread is in (docs/bun.md §1), and a failed call throws node:fs's error, as ./sysctl.ts does.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { readSysctl, writeSysctl } from "../../src/net/proc-sys";
import { withNetns } from "../../src/netlink/netns";
import { createNetns, sh, type Netns } from "../lib/netns";

const made: Netns[] = [];
afterEach(() => {
  for (const ns of made.splice(0)) ns.delete();
});

const KEY = "net/ipv4/ip_default_ttl";

/** The error a call throws, as a plain object (undefined when it does not throw). */
function thrown(fn: () => unknown): { code?: string; message: string } | undefined {
  try {
    fn();
  } catch (e) {
    return { code: (e as NodeJS.ErrnoException).code, message: (e as Error).message };
  }
  return undefined;
}

describe("sysctls through libc", () => {
  test("read and written inside the pod's netns, the host's value untouched", () => {
    const ns = createNetns();
    made.push(ns);
    const host = readFileSync(`/proc/sys/${KEY}`, "utf8").trim();
    const inside = host === "99" ? "98" : "99";
    withNetns(ns.path, () => writeSysctl(KEY, inside));
    expect(sh(["ip", "netns", "exec", ns.name, "cat", `/proc/sys/${KEY}`]).trim()).toBe(inside);
    expect(withNetns(ns.path, () => readSysctl(KEY))).toBe(inside);
    expect(readSysctl(KEY)).toBe(host);
    expect(readFileSync(`/proc/sys/${KEY}`, "utf8").trim()).toBe(host);
  });

  test("a failed read or write throws node:fs's error, code and message", () => {
    const missing = "net/ipv4/conf/nh-no-such-link/forwarding";
    expect(thrown(() => readSysctl(missing))).toEqual(thrown(() => readFileSync(`/proc/sys/${missing}`, "utf8")));
    expect(thrown(() => writeSysctl(missing, "1"))).toEqual(thrown(() => writeFileSync(`/proc/sys/${missing}`, "1")));
    expect(thrown(() => readSysctl(missing))?.code).toBe("ENOENT");
    // the kernel refuses the value: EINVAL from write(2)
    const ns = createNetns();
    made.push(ns);
    const bad = withNetns(ns.path, () => thrown(() => writeSysctl(KEY, "0")));
    expect(bad).toEqual(withNetns(ns.path, () => thrown(() => writeFileSync(`/proc/sys/${KEY}`, "0"))));
    expect(bad?.code).toBe("EINVAL");
  });
});

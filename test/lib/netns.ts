// Test helpers for network namespaces and iproute2. Synchronous on purpose: tests that switch
// netns must not await I/O in between (docs/bun.md §2), and `ip` calls are short.
//
//   using ns = createNetns();                  // deleted when the block exits, also on throw
//   await withNetns(async (ns) => { … });      // same, for a callback
//   afterEach(cleanupNetns);                   // or let a hook delete whatever a test left
//                                              // (bun test fires no process "exit" event)
//   sh(["ip", "-n", ns.name, "link", "add", "d0", "type", "dummy"]);
//   const links = ipJson(["-d", "link", "show"], ns.name) as any[];
//   test.skipIf(!hasKernelFeature("vrf"))("…", …);
//
// Names are `nh-<random>` (`nh-<tag>-<random>` when test/run.sh sets NEXTHOP_NETNS_TAG, so the
// runner can tell its own leftovers from those of a concurrent run). Needs root.
import { existsSync } from "node:fs";
import { randomBytes } from "node:crypto";

export interface Netns {
  /** Name as `ip netns` knows it (`ip -n <name> …`). */
  readonly name: string;
  /** Bind-mount path, for setns(2) and CNI_NETNS: /var/run/netns/<name>. */
  readonly path: string;
  /** Deletes the namespace; idempotent. */
  delete(): void;
  [Symbol.dispose](): void;
}

/**
 * Runs a command synchronously (no shell) and returns its stdout. Throws an Error naming the
 * command, its exit status and its stderr when it fails or cannot be started.
 */
export function sh(cmd: string[]): string {
  const r = Bun.spawnSync(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    const how = r.exitCode === null ? `signal ${r.signalCode}` : `exit ${r.exitCode}`;
    throw new Error(`${cmd.join(" ")}: ${how}: ${r.stderr.toString().trim()}`);
  }
  return r.stdout.toString();
}

/**
 * Runs `ip -j [-n netns] <args>` and returns the parsed JSON. `ip` prints nothing at all for some
 * empty results and for changes (`link add`); that gives `[]`.
 */
export function ipJson(args: string[], netns?: string): unknown {
  const out = sh(["ip", "-j", ...(netns ? ["-n", netns] : []), ...args]).trim();
  return out === "" ? [] : JSON.parse(out);
}

const live = new Set<string>();

function removeNetns(name: string): void {
  if (!live.delete(name)) return;
  // Deleting an already-removed namespace must not mask the test's own error.
  Bun.spawnSync(["ip", "netns", "delete", name], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
}

/** Creates a uniquely named netns; it is deleted by `delete()`, `using`, or `cleanupNetns()`. */
export function createNetns(prefix = "nh-"): Netns {
  const tag = process.env.NEXTHOP_NETNS_TAG;
  const name = `${prefix}${tag ? `${tag}-` : ""}${randomBytes(4).toString("hex")}`;
  sh(["ip", "netns", "add", name]);
  live.add(name);
  const del = () => removeNetns(name);
  return { name, path: `/var/run/netns/${name}`, delete: del, [Symbol.dispose]: del };
}

/** Runs `fn` with a fresh netns and deletes the namespace afterwards, whether `fn` fails or not. */
export async function withNetns<T>(fn: (ns: Netns) => T | Promise<T>, prefix = "nh-"): Promise<T> {
  const ns = createNetns(prefix);
  try {
    return await fn(ns);
  } finally {
    ns.delete();
  }
}

/** Deletes every namespace this process created and has not deleted yet (for afterEach/afterAll). */
export function cleanupNetns(): void {
  for (const name of [...live]) removeNetns(name);
}

export type KernelFeature = "vrf" | "ipvlan" | "dummy";

// `ip link add` in a throw-away namespace (unshare -n): the netns and its links vanish with the
// process. ipvlan needs an Ethernet lower device; veth is the one every kernel here has.
const probes: Record<KernelFeature, string> = {
  vrf: "ip link add p0 type vrf table 1",
  dummy: "ip link add p0 type dummy",
  ipvlan: "ip link add p0 type veth peer name p1 && ip link add p2 link p0 type ipvlan mode l2",
};
const features = new Map<KernelFeature, boolean>();

/**
 * Whether the running kernel can create a link of this kind: true at once if the module is loaded
 * (/sys/module/<kind>, as in the test VM), else probed once per process. The host kernel 6.18
 * has none of the three and cannot load modules; the test VM's 6.1 has all of them.
 */
export function hasKernelFeature(kind: KernelFeature): boolean {
  let has = features.get(kind);
  if (has === undefined) {
    has = existsSync(`/sys/module/${kind}`) ||
      Bun.spawnSync(["unshare", "--net", "sh", "-c", probes[kind]], {
        stdin: "ignore", stdout: "ignore", stderr: "ignore",
      }).exitCode === 0;
    features.set(kind, has);
  }
  return has;
}

/**
 * The default routes of a family as structures: `{gateway, dev}` for a single-path route,
 * `{nexthops: [{gateway, dev, weight}]}` for a multipath one (kernel-only keys left out).
 */
export function defaultRoutes(netns: string, family: "-4" | "-6"): unknown[] {
  return (ipJson([family, "route", "show", "default"], netns) as any[]).map((r) =>
    r.nexthops
      ? { nexthops: r.nexthops.map((n: any) => ({ gateway: n.gateway, dev: n.dev, weight: n.weight })) }
      : { gateway: r.gateway, dev: r.dev },
  );
}

/** Names of the links in `netns`, sorted. */
export function linkNames(netns: string): string[] {
  return (ipJson(["link", "show"], netns) as any[]).map((l) => l.ifname).sort();
}

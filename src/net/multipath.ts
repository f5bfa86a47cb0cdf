// The `multipath` option of the interface plugins: per-pod hash policy and gateway failover with
// failback (docs/multipath.md). Shared by macvlan/ipvlan (attach.ts) and meant for the vrf plugin
// too, which must call applyFailover() again after it moved an interface (an enslave cycles the
// device down and up, and a down flushes its neighbour entries, managed ones included).
//
// What it changes, and who owns it:
//  - per pod namespace: net.ipv{4,6}.fib_multipath_hash_policy (+ _hash_fields for "custom") and
//    net.ipv4.fib_multipath_use_neigh. Shared by every attachment of the pod: a second one asking
//    for another value fails; the pod's previous values come back when the last one leaves
//    (multipath-state.ts keeps who holds what).
//  - per interface (owned by this attachment, gone with the device): the neighbour timers of the
//    interface and one managed neighbour entry per gateway of its routes.
// Every change is recorded in the undo log.
import { formatIP, ipEqual, type IPAddr } from "../ip";
import { CniError, ErrCode, errorText, step } from "../cni/errors";
import { z } from "../cni/zod";
import { AF_INET, AF_INET6, ENOENT } from "../netlink/constants";
import { linkByName } from "../netlink/link";
import {
  addManagedNeighbour, deleteNeighbour, listNeighbours, NTF_EXT_MANAGED, restoreNeighbour, type Neighbour,
} from "../netlink/neigh";
import { withNetns } from "../netlink/netns";
import { NetlinkError, type NetlinkSocket } from "../netlink/socket";
import { anyState, newState, netnsCookie, readState, writeState, type PodState } from "./multipath-state";
import type { RouteWrite } from "./plan";
import { readSysctl, writeSysctl } from "./proc-sys";
import type { UndoLog } from "./undo";

/** fib_multipath_hash_policy values by name (Documentation/networking/ip-sysctl.rst). */
export const HASH_POLICIES = ["l3", "l4", "l3-inner", "custom"] as const;

/** fib_multipath_hash_fields bits by name (policy 3, "custom"). */
export const HASH_FIELDS: Record<string, number> = {
  srcIp: 0x0001, dstIp: 0x0002, proto: 0x0004, flowLabel: 0x0008, srcPort: 0x0010, dstPort: 0x0020,
  innerSrcIp: 0x0040, innerDstIp: 0x0080, innerProto: 0x0100, innerFlowLabel: 0x0200, innerSrcPort: 0x0400,
  innerDstPort: 0x0800,
};

/** The failover knob's default and range (ms); see timersFor(). */
export const FAILOVER_MS_DEFAULT = 3000;
export const FAILOVER_MS_MIN = 3000;
export const FAILOVER_MS_MAX = 120000;

const fieldNames = Object.keys(HASH_FIELDS) as [string, ...string[]];

/** The netconf key `multipath`, validated by zod (messages name the field and the value). */
export const multipathSchema = z.optional(
  z.strictObject({
    hashPolicy: z.optional(z.union([z.enum(HASH_POLICIES), z.number().check(z.int(), z.minimum(0), z.maximum(3))])),
    hashFields: z.optional(z.array(z.enum(fieldNames)).check(z.minLength(1))),
    failover: z.optional(z.boolean()),
    failoverMs: z.optional(z.number().check(z.int(), z.minimum(FAILOVER_MS_MIN), z.maximum(FAILOVER_MS_MAX))),
    metric: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(0xffffffff))),
  }),
);

export interface MultipathConf {
  /** 0 l3, 1 l4, 2 l3-inner, 3 custom; undefined: the pod's value is left alone. */
  hashPolicy?: number;
  /** fib_multipath_hash_fields, with hashPolicy 3 only. */
  hashFields?: number;
  /** true: use_neigh=1, managed entries, timers; false: use_neigh=0 claimed; undefined: left alone. */
  failover?: boolean;
  failoverMs: number;
  /** The metric of this interface's routes that give none: keeps them out of other interfaces' routes. */
  metric?: number;
}

function invalid(msg: string): CniError {
  return new CniError(ErrCode.InvalidNetworkConfig, msg);
}

/** The parsed `multipath` object (already through multipathSchema) as a MultipathConf. */
export function multipathConf(raw: z.infer<typeof multipathSchema>): MultipathConf | undefined {
  if (!raw) return undefined;
  const policy = typeof raw.hashPolicy === "string" ? HASH_POLICIES.indexOf(raw.hashPolicy) : raw.hashPolicy;
  if (raw.hashFields && policy !== 3) {
    throw invalid(`failed to load netconf: multipath.hashFields: needs "hashPolicy": "custom" (got hashPolicy ${JSON.stringify(raw.hashPolicy ?? null)})`);
  }
  if (policy === 3 && !raw.hashFields) throw invalid(`failed to load netconf: multipath.hashFields: required with "hashPolicy": "custom"`);
  if (raw.failoverMs !== undefined && raw.failover !== true) {
    throw invalid(`failed to load netconf: multipath.failoverMs: needs "failover": true (got failover ${JSON.stringify(raw.failover ?? null)})`);
  }
  const fields = raw.hashFields?.reduce((m, f) => m | HASH_FIELDS[f], 0);
  return { hashPolicy: policy, hashFields: fields, failover: raw.failover, failoverMs: raw.failoverMs ?? FAILOVER_MS_DEFAULT, metric: raw.metric };
}

// ---- the neighbour timers -------------------------------------------------------------------

export interface NeighTimers {
  base_reachable_time_ms: number;
  delay_first_probe_time: number;
  retrans_time_ms: number;
  ucast_solicit: number;
  mcast_solicit: number;
}

/**
 * Per-interface neighbour timers for a failover target of `ms` (docs/multipath.md §3): a confirmed
 * entry goes stale after 0.5-1.5 x base_reachable_time, then waits delay_first_probe_time, then
 * sends ucast_solicit probes retrans_time apart before it is FAILED. With T/4, 1 s, 3 x T/12 the
 * worst case is 0.375 T + 1 s + 0.25 T <= T for T >= 3 s.
 */
export function timersFor(ms: number): NeighTimers {
  // Multiples of 20 ms: whole jiffies at HZ 100, 250 and 1000, so the kernel stores them as written.
  const tick = (v: number) => Math.round(v / 20) * 20;
  return {
    base_reachable_time_ms: tick(ms / 4),
    delay_first_probe_time: Math.max(1, Math.floor(ms / 3000)),
    retrans_time_ms: tick(ms / 12),
    ucast_solicit: 3,
    mcast_solicit: 3,
  };
}

const famDir = (family: number) => (family === AF_INET6 ? "ipv6" : "ipv4");

function timerKeys(family: number, ifname: string, ms: number): [string, string][] {
  return Object.entries(timersFor(ms)).map(([k, v]) => [`net/${famDir(family)}/neigh/${ifname}/${k}`, String(v)]);
}

// ---- pod-wide sysctls -----------------------------------------------------------------------

const POD_KEYS = {
  policy4: "net/ipv4/fib_multipath_hash_policy",
  policy6: "net/ipv6/fib_multipath_hash_policy",
  fields4: "net/ipv4/fib_multipath_hash_fields",
  fields6: "net/ipv6/fib_multipath_hash_fields",
  useNeigh: "net/ipv4/fib_multipath_use_neigh",
};

/** The config field a pod-wide key comes from, and how its value reads in a config. */
function fieldOf(key: string): { field: string; show: (v: string) => string } {
  if (key.endsWith("hash_policy")) return { field: "multipath.hashPolicy", show: (v) => JSON.stringify(HASH_POLICIES[Number(v)] ?? v) };
  if (key.endsWith("hash_fields")) {
    return {
      field: "multipath.hashFields",
      show: (v) => JSON.stringify(Object.keys(HASH_FIELDS).filter((f) => Number(v) & HASH_FIELDS[f])),
    };
  }
  return { field: "multipath.failover", show: (v) => (v === "1" ? "true" : "false") };
}

/** The pod-wide sysctl values `conf` asks for. */
export function podValues(conf: MultipathConf): Record<string, string> {
  const v: Record<string, string> = {};
  if (conf.hashPolicy !== undefined) {
    v[POD_KEYS.policy4] = String(conf.hashPolicy);
    v[POD_KEYS.policy6] = String(conf.hashPolicy);
  }
  if (conf.hashFields !== undefined) {
    v[POD_KEYS.fields4] = String(conf.hashFields);
    v[POD_KEYS.fields6] = String(conf.hashFields);
  }
  if (conf.failover !== undefined) v[POD_KEYS.useNeigh] = conf.failover ? "1" : "0";
  return v;
}

/** The attachment id a holder is known by: the container and the interface in it. */
export function holderId(containerId: string, ifname: string): string {
  return `${containerId}/${ifname}`;
}

/** Holders whose interface is gone from the pod lost their DEL: they hold nothing any more. */
function prune(state: PodState, sock: NetlinkSocket, except: string): void {
  state.holders = state.holders.filter((h) => h.id === except || linkByName(sock, h.id.slice(h.id.lastIndexOf("/") + 1)) !== undefined);
}

function sysctlIn(netns: string, fn: () => void): void {
  withNetns(netns, fn);
}

/**
 * Claims the pod-wide values of `conf` for `holder`: fails (code 7) when another attachment of
 * the pod holds a different value; otherwise writes what differs, remembering the pod's value
 * from before the first claim.
 */
export function claimPodValues(netns: string, sock: NetlinkSocket, holder: string, conf: MultipathConf, log: UndoLog): void {
  const want = podValues(conf);
  if (Object.keys(want).length === 0) return;
  const cookie = netnsCookie(netns);
  const before = readState(cookie);
  const state: PodState = before ? structuredClone(before) : newState(cookie);
  state.holders = state.holders.filter((h) => h.id !== holder);
  prune(state, sock, holder);
  for (const [key, value] of Object.entries(want)) {
    const other = state.holders.find((h) => h.values[key] !== undefined && h.values[key] !== value);
    if (other) {
      const { field, show } = fieldOf(key);
      throw invalid(`${field}: ${show(value)} conflicts with ${show(other.values[key])}, already in force in this pod (${key.replaceAll("/", ".")}=${other.values[key]}, set by attachment ${other.id})`);
    }
  }
  sysctlIn(netns, () => {
    for (const [key, value] of Object.entries(want)) {
      const current = step(`failed to read ${key.replaceAll("/", ".")}`, () => readSysctl(key));
      const held = state.holders.some((h) => h.values[key] !== undefined);
      if (!held && !(key in state.prev)) state.prev[key] = current;
      if (current === value) continue;
      step(`failed to set ${key.replaceAll("/", ".")}=${value}`, () => writeSysctl(key, value));
      log.push(`set ${key}=${value}`, () => withNetns(netns, () => writeSysctl(key, current)));
    }
  });
  state.holders.push({ id: holder, values: want });
  step("failed to record the pod's multipath state", () => writeState(cookie, state));
  log.push("record the pod's multipath state", () => writeState(cookie, before));
}

/**
 * Gives up `holder`'s claim (DEL): when no attachment of the pod holds a key any more, its value
 * from before the first claim is written back, unless something else changed it since. A missing
 * state file (or a second DEL) leaves the kernel as it is.
 */
export function releasePodValues(netns: string, sock: NetlinkSocket, holder: string): void {
  if (!anyState()) return;
  const cookie = netnsCookie(netns);
  const state = readState(cookie);
  if (!state) return;
  const mine = state.holders.find((h) => h.id === holder);
  if (!mine) return;
  state.holders = state.holders.filter((h) => h.id !== holder);
  prune(state, sock, "");
  sysctlIn(netns, () => {
    for (const key of Object.keys(state.prev)) {
      if (state.holders.some((h) => h.values[key] !== undefined)) continue;
      const ours = mine.values[key];
      const current = readSysctl(key);
      if (ours === undefined || current === ours) writeSysctl(key, state.prev[key]);
      delete state.prev[key];
    }
  });
  writeState(cookie, state);
}

// ---- failover: timers and managed neighbour entries -----------------------------------------

export interface Gateways {
  v4: IPAddr[];
  v6: IPAddr[];
}

/** The gateways of this interface's planned routes, per family, without duplicates. */
export function gatewaysOf(writes: readonly RouteWrite[], ifindex: number): Gateways {
  const gws: Gateways = { v4: [], v6: [] };
  for (const w of writes) {
    for (const nh of w.set.nexthops) {
      if (!nh.gateway || nh.ifindex !== ifindex) continue;
      const list = w.set.key.family === AF_INET6 ? gws.v6 : gws.v4;
      const gw = nh.gateway;
      if (!list.some((x) => ipEqual(x, gw))) list.push(gw);
    }
  }
  return gws;
}

function families(gws: Gateways): [number, IPAddr[]][] {
  return ([[AF_INET, gws.v4], [AF_INET6, gws.v6]] as [number, IPAddr[]][]).filter(([, l]) => l.length > 0);
}

/**
 * Failover for one interface: its neighbour timers and a managed entry per gateway (both
 * families). For the vrf plugin as well, after it moved the interface. Fails (and leaves the
 * undo to the log) when the kernel cannot keep managed entries (Linux < 5.16) or when IPv6
 * forwarding is on in the pod (the kernel then ignores neighbour state in IPv6 route lookups).
 */
export function applyFailover(netns: string, sock: NetlinkSocket, ifname: string, ifindex: number, gws: Gateways, ms: number, log: UndoLog): void {
  if (gws.v6.length > 0) {
    const fwd = withNetns(netns, () => readSysctl("net/ipv6/conf/all/forwarding"));
    if (fwd !== "0") {
      throw invalid(`multipath.failover: IPv6 failover needs net.ipv6.conf.all.forwarding=0 in the pod (it is ${fwd}): with forwarding on, the kernel does not consult neighbour state when it picks an IPv6 nexthop`);
    }
  }
  withNetns(netns, () => {
    for (const [family] of families(gws)) {
      for (const [key, value] of timerKeys(family, ifname, ms)) {
        const old = step(`failed to read ${key.replaceAll("/", ".")}`, () => readSysctl(key));
        if (old === value) continue;
        step(`failed to set ${key.replaceAll("/", ".")}=${value}`, () => writeSysctl(key, value));
        log.push(`set ${key}=${value}`, () => withNetns(netns, () => writeSysctl(key, old)));
      }
    }
  });
  for (const [family, list] of families(gws)) {
    const existing = listNeighbours(sock, family, ifindex);
    for (const gw of list) {
      const old = existing.find((n) => ipEqual(n.dst, gw));
      if (old && old.flagsExt & NTF_EXT_MANAGED) continue;
      step(`failed to add a managed neighbour entry for gateway ${formatIP(gw)} on "${ifname}"`, () => addManagedNeighbour(sock, family, ifindex, gw, old !== undefined));
      log.push(`add managed neighbour ${formatIP(gw)} dev ${ifname}`, () => undoNeighbour(sock, family, ifindex, gw, old));
    }
    // A kernel older than 5.16 ignores NDA_FLAGS_EXT: the entry exists, but is not managed.
    const made = listNeighbours(sock, family, ifindex);
    const unmanaged = list.find((gw) => !made.some((n) => ipEqual(n.dst, gw) && n.flagsExt & NTF_EXT_MANAGED));
    if (unmanaged) {
      throw new CniError(ErrCode.Internal, `multipath.failover: the kernel did not keep the neighbour entry for gateway ${formatIP(unmanaged)} on "${ifname}" managed (managed neighbour entries need Linux 5.16 or later)`);
    }
  }
}

function undoNeighbour(sock: NetlinkSocket, family: number, ifindex: number, gw: IPAddr, old: Neighbour | undefined): void {
  if (old) restoreNeighbour(sock, old);
  else ignoreMissing(() => deleteNeighbour(sock, family, ifindex, gw));
}

function ignoreMissing(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof NetlinkError && e.errno === ENOENT)) throw e;
  }
}

/** Removes the managed entries on `ifindex` (DEL, before the device goes; vrf when it moves it). */
export function removeManagedNeighbours(sock: NetlinkSocket, ifindex: number): void {
  for (const family of [AF_INET, AF_INET6]) {
    for (const n of listNeighbours(sock, family, ifindex)) {
      if (n.flagsExt & NTF_EXT_MANAGED) ignoreMissing(() => deleteNeighbour(sock, family, ifindex, n.dst));
    }
  }
}

/**
 * `metric`: routes of the interface's result that name no priority get this one, so they form
 * their own nexthop set instead of joining another interface's route with the same destination
 * (docs/multipath.md §6). Returns the routes to install (and report).
 */
export function withOwnMetric<T extends { priority?: number }>(routes: readonly T[] | undefined, conf: MultipathConf | undefined): T[] | undefined {
  if (!routes || conf?.metric === undefined) return routes as T[] | undefined;
  return routes.map((r) => (r.priority === undefined ? { ...r, priority: conf.metric } : r));
}

// ---- the plugin's three entry points --------------------------------------------------------

export interface MultipathTarget {
  netns: string;
  sock: NetlinkSocket;
  ifname: string;
  ifindex: number;
  /** holderId(containerId, ifname) */
  holder: string;
  writes: readonly RouteWrite[];
}

/** ADD: pod-wide values first (they can conflict), then the interface's failover. */
export function applyMultipath(conf: MultipathConf, t: MultipathTarget, log: UndoLog): void {
  claimPodValues(t.netns, t.sock, t.holder, conf, log);
  if (conf.failover) applyFailover(t.netns, t.sock, t.ifname, t.ifindex, gatewaysOf(t.writes, t.ifindex), conf.failoverMs, log);
}

/** CHECK: the pod-wide values, the interface's timers and its managed entries. */
export function checkMultipath(conf: MultipathConf, t: MultipathTarget): void {
  const gws = gatewaysOf(t.writes, t.ifindex);
  withNetns(t.netns, () => {
    for (const [key, value] of Object.entries(podValues(conf))) {
      const have = readSysctl(key);
      if (have !== value) {
        const { field, show } = fieldOf(key);
        throw new CniError(ErrCode.Internal, `${field}: expected ${show(value)} (${key.replaceAll("/", ".")}=${value}), the pod has ${key.replaceAll("/", ".")}=${have}`);
      }
    }
    if (!conf.failover) return;
    for (const [family] of families(gws)) {
      for (const [key, value] of timerKeys(family, t.ifname, conf.failoverMs)) {
        const have = readSysctl(key);
        // The kernel keeps times in jiffies: a value may read back rounded to one (<= 10 ms at HZ 100).
        if (Math.abs(Number(have) - Number(value)) > 10) throw new CniError(ErrCode.Internal, `multipath.failoverMs: expected ${key.replaceAll("/", ".")}=${value}, the pod has ${have}`);
      }
    }
  });
  if (!conf.failover) return;
  for (const [family, list] of families(gws)) {
    const have = listNeighbours(t.sock, family, t.ifindex);
    for (const gw of list) {
      if (!have.some((n) => ipEqual(n.dst, gw) && n.flagsExt & NTF_EXT_MANAGED)) {
        throw new CniError(ErrCode.Internal, `multipath.failover: no managed neighbour entry for gateway ${formatIP(gw)} on "${t.ifname}"`);
      }
    }
  }
}

/** DEL: this attachment's entries, then its claim on the pod-wide values. Never fails on "gone". */
export function releaseMultipath(netns: string, sock: NetlinkSocket, holder: string, ifindex?: number): void {
  if (ifindex !== undefined) step("failed to remove managed neighbour entries", () => removeManagedNeighbours(sock, ifindex));
  try {
    releasePodValues(netns, sock, holder);
  } catch (e) {
    throw new CniError(ErrCode.Internal, `failed to restore the pod's multipath sysctls: ${errorText(e)}`);
  }
}

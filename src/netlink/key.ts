// Route keys. nexthop groups routes by (family, table, dst, metric, tos, scope); the kernel tells
// same-prefix routes apart by less: IPv4 by (table, dst, tos, metric), whatever their scope or
// type, and IPv6 by (table, dst, metric), with every route reported at scope universe.
// Also the shapes of routes as the kernel reports them (route.ts reads and writes them).
// Addresses and prefixes are typed values (src/ip.ts): keys compare bytes, and text appears only
// where a key is printed (keyText).
// Pure: no kernel access.
import { formatCIDR, ipEqual, type CIDR, type IPAddr } from "../ip";
import { AF_INET6 } from "./constants";

export interface RouteKey {
  family: number;
  table: number;
  /** Network prefix, host bits cleared (0.0.0.0/0 for a default route). */
  dst: CIDR;
  /** The requested metric (IPv6 0 is stored as 1024: see `effectiveMetric`). */
  priority: number;
  tos: number;
  scope: number;
}

/** The metric the kernel stores for a requested one: IPv6 turns 0 into 1024. */
export function effectiveMetric(family: number, priority: number): number {
  return family === AF_INET6 && priority === 0 ? 1024 : priority;
}

/** The same nexthop set: every part of the key equal. */
export function sameKey(a: RouteKey, b: RouteKey): boolean {
  return sameSlot(a, b) && a.scope === b.scope;
}

/** The same route as far as the kernel is concerned (what REPLACE and EEXIST act on). */
export function sameSlot(a: RouteKey, b: RouteKey): boolean {
  return (
    a.family === b.family && a.table === b.table && sameDst(a.dst, b.dst) &&
    effectiveMetric(a.family, a.priority) === effectiveMetric(b.family, b.priority) &&
    (a.family === AF_INET6 || a.tos === b.tos)
  );
}

/** The same prefix: equal length and equal address bytes. */
export function sameDst(a: CIDR, b: CIDR): boolean {
  return a.prefix === b.prefix && ipEqual(a.ip, b.ip);
}

/** The same gateway, both absent or the same address bytes. */
export function sameGateway(a: IPAddr | undefined, b: IPAddr | undefined): boolean {
  return a === undefined ? b === undefined : b !== undefined && ipEqual(a, b);
}

export function keyText(k: RouteKey): string {
  return `${formatCIDR(k.dst)} table ${k.table} metric ${effectiveMetric(k.family, k.priority)} scope ${k.scope}${k.tos ? ` tos ${k.tos}` : ""}`;
}

export interface Nexthop {
  /** The gateway, absent for a device-only nexthop. */
  gateway?: IPAddr;
  ifindex: number;
  /** 1..256 (kernel rtnh_hops + 1). */
  weight: number;
  /** RTNH_F_* as the kernel reports them (onlink, dead, linkdown). */
  flags?: number;
}

/** Attributes of a route other than its key and nexthops; a rewrite must carry them over. */
export interface RouteAttrs {
  protocol?: number;
  prefsrc?: IPAddr;
  mtu?: number;
  advmss?: number;
  /** RTA_METRICS as the kernel sent it (every metric, not only mtu/advmss). */
  metricsRaw?: Uint8Array;
}

export interface KernelRoute extends RouteKey, RouteAttrs {
  type: number;
  nexthops: Nexthop[];
  /** The route has attributes nexthop cannot write back (nhid, encap, realms, ...). */
  foreign: boolean;
}

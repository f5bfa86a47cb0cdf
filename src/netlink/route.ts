// Routes as the kernel holds them: a key (family, table, dst, metric, tos, scope) and a set of
// nexthops. A single-path route is a set of one; a multipath route lists its nexthops in
// RTA_MULTIPATH and has no top-level RTA_OIF/RTA_GATEWAY (kernel-behaviour.md §2), so "which
// interfaces does this route use" is always answered by `nexthops[].ifindex`.
import { codec, type NexthopSpec, type RouteSpec } from "./codec";
import {
  AF_INET6, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST, RTM_DELROUTE,
  RTM_F_CLONED, RTM_GETROUTE, RTM_NEWROUTE, RTN_UNICAST, RTPROT_BOOT, RT_SCOPE_NOWHERE, AF_UNSPEC,
} from "./constants";
import { formatIp, ipBytes } from "./ip";
import type { NetlinkSocket } from "./socket";

export interface Nexthop {
  /** Canonical text of the gateway, absent for a device-only nexthop. */
  gateway?: string;
  ifindex: number;
  /** 1..256 (kernel rtnh_hops + 1). */
  weight: number;
  /** RTNH_F_* as reported by the kernel (dead, linkdown, onlink). */
  flags?: number;
}

export interface RouteKey {
  family: number;
  table: number;
  /** Network prefix, host bits cleared, e.g. "0.0.0.0/0". */
  dst: string;
  /** The kernel's metric (IPv6 0 is stored as 1024: use `effectiveMetric`). */
  priority: number;
  tos: number;
  scope: number;
}

export interface KernelRoute extends RouteKey {
  protocol: number;
  type: number;
  nexthops: Nexthop[];
  mtu?: number;
  advmss?: number;
}

/** The metric the kernel stores for a requested one: IPv6 turns 0 into 1024. */
export function effectiveMetric(family: number, priority: number): number {
  return family === AF_INET6 && priority === 0 ? 1024 : priority;
}

export function sameKey(a: RouteKey, b: RouteKey): boolean {
  return (
    a.family === b.family && a.table === b.table && a.dst === b.dst && a.tos === b.tos &&
    a.scope === b.scope && effectiveMetric(a.family, a.priority) === effectiveMetric(b.family, b.priority)
  );
}

export function keyText(k: RouteKey): string {
  return `${k.dst} table ${k.table} metric ${effectiveMetric(k.family, k.priority)} scope ${k.scope}${k.tos ? ` tos ${k.tos}` : ""}`;
}

/**
 * Dumps the unicast routes of `family` (AF_UNSPEC for both) in every table. Only rows accepted by
 * `want` (checked on the codec row, before anything is built) are materialised.
 */
export function listRoutes(sock: NetlinkSocket, family = AF_UNSPEC, want?: (row: number) => boolean): KernelRoute[] {
  sock.dump((seq) => codec.encodeDump(RTM_GETROUTE, seq, family));
  const rows = codec.routes;
  const out: KernelRoute[] = [];
  for (let i = 0; i < rows.count; i++) {
    if (rows.type(i) !== RTM_NEWROUTE || rows.routeType(i) !== RTN_UNICAST || rows.flags(i) & RTM_F_CLONED) continue;
    if (want && !want(i)) continue;
    out.push(routeFromRow(i));
  }
  return out;
}

function routeFromRow(i: number): KernelRoute {
  const r = codec.routes;
  const family = r.family(i);
  const nexthops: Nexthop[] = [];
  const n = r.nexthopCount(i);
  if (n > 0) {
    for (let k = 0; k < n; k++) {
      const gw = r.nhGateway(i, k);
      nexthops.push({ gateway: gw && formatIp(gw), ifindex: r.nhIfindex(i, k), weight: r.nhWeight(i, k), flags: r.nhFlags(i, k) });
    }
  } else {
    const gw = r.gateway(i);
    nexthops.push({ gateway: gw && formatIp(gw), ifindex: r.oif(i), weight: 1, flags: 0 });
  }
  const dstLen = r.dstLen(i);
  const route: KernelRoute = {
    family, table: r.table(i), dst: `${formatIp(r.dst(i).subarray(0, family === AF_INET6 ? 16 : 4))}/${dstLen}`,
    priority: r.priority(i), tos: r.tos(i), scope: r.scope(i), protocol: r.protocol(i), type: r.routeType(i), nexthops,
  };
  if (r.mtu(i)) route.mtu = r.mtu(i);
  if (r.advmss(i)) route.advmss = r.advmss(i);
  return route;
}

/** Finds the route holding `key`, if the kernel has one. */
export function findRoute(sock: NetlinkSocket, key: RouteKey): KernelRoute | undefined {
  return listRoutes(sock, key.family).find((r) => sameKey(r, key));
}

function specFor(key: RouteKey, nexthops: readonly Nexthop[], extra: { protocol?: number; mtu?: number; advmss?: number } = {}): RouteSpec {
  const [addr, len] = key.dst.split("/");
  const spec: RouteSpec = {
    family: key.family, dstLen: Number(len), tos: key.tos, table: key.table, scope: key.scope,
    protocol: extra.protocol ?? RTPROT_BOOT, type: RTN_UNICAST, priority: key.priority,
    mtu: extra.mtu, advmss: extra.advmss,
  };
  if (Number(len) > 0) spec.dst = ipBytes(addr);
  if (nexthops.length === 1 && nexthops[0].weight === 1) {
    spec.oif = nexthops[0].ifindex;
    if (nexthops[0].gateway) spec.gateway = ipBytes(nexthops[0].gateway);
  } else {
    spec.nexthops = nexthops.map((nh): NexthopSpec => ({
      ifindex: nh.ifindex, weight: nh.weight, gateway: nh.gateway ? ipBytes(nh.gateway) : undefined,
    }));
  }
  return spec;
}

export type WriteMode = "create" | "replace" | "append" | "prepend";

const modeFlags: Record<WriteMode, number> = {
  create: NLM_F_CREATE | NLM_F_EXCL,
  replace: NLM_F_CREATE | NLM_F_REPLACE,
  // IPv6 turns this into siblings of an existing route; IPv4 inserts a separate alias in front
  // (what `ip route prepend` and upstream's RouteAddEcmp send).
  prepend: NLM_F_CREATE,
  append: NLM_F_CREATE | 0x800,
};

/** Writes one route holding `nexthops` under `key`. */
export function writeRoute(
  sock: NetlinkSocket, mode: WriteMode, key: RouteKey, nexthops: readonly Nexthop[],
  extra?: { protocol?: number; mtu?: number; advmss?: number },
): void {
  const spec = specFor(key, nexthops, extra);
  sock.request((seq) => codec.encodeRoute(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | modeFlags[mode], seq, spec));
}

/**
 * Deletes the route under `key`; with `nexthops`, only an entry matching them (IPv6: one sibling
 * per request; IPv4: the alias with exactly these nexthops).
 */
export function deleteRoute(sock: NetlinkSocket, key: RouteKey, nexthops?: readonly Nexthop[]): void {
  const spec = specFor(key, nexthops ?? [], {});
  spec.scope = RT_SCOPE_NOWHERE;
  spec.protocol = 0;
  if (!nexthops?.length) {
    delete spec.oif;
    delete spec.nexthops;
  }
  sock.request((seq) => codec.encodeRoute(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, seq, spec));
}

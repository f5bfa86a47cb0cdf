// Routes as the kernel holds them: a key and a set of nexthops. A single-path route is a set of
// one; a multipath route lists its nexthops in RTA_MULTIPATH and has no top-level
// RTA_OIF/RTA_GATEWAY (docs/kernel.md §6), so "which interfaces does this route use" is
// always answered by `nexthops[].ifindex`.
import { codec, type NexthopSpec, type RouteDst, type RouteRows, type RouteSpec } from "./codec";
import {
  AF_INET6, AF_UNSPEC, ENOENT, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE,
  NLM_F_REQUEST, RTM_DELROUTE, RTM_F_CLONED, RTM_NEWROUTE, RTN_UNICAST, RTNH_F_ONLINK,
  RTPROT_BOOT, RT_SCOPE_NOWHERE,
} from "./constants";
import { fromBytes, type IPAddr } from "../ip";
import { effectiveMetric, type RouteKey, type KernelRoute, type Nexthop, type RouteAttrs } from "./key";
import { NetlinkError, type NetlinkSocket } from "./socket";

// The route types live in key.ts (pure: the planner uses them without this module).
export type { KernelRoute, Nexthop, RouteAttrs } from "./key";

/** What a route dump asks the kernel to filter on (docs/kernel.md, "Filtered route dumps"). */
export interface RouteFilter {
  /** One table (0 or absent: every table). */
  table?: number;
  /** Routes with a nexthop through this device (absent: any). */
  oif?: number;
}

/**
 * Sends one route dump of `family` that the kernel filters on `filter` and returns the codec's
 * rows (every row the kernel sent). A table the kernel never created reads as no rows.
 *
 * With `dsts`, the codec keeps only the routes of `family` (AF_INET or AF_INET6) in
 * `filter.table` (any when absent) whose destination is one of them (`codec.setRouteFilter`):
 * the other messages are dropped before their attributes are parsed, so a large table costs
 * no row and no materialisation beyond the prefixes asked for.
 */
export function dumpRoutes(sock: NetlinkSocket, family: number, filter: RouteFilter, dsts?: readonly RouteDst[]): RouteRows {
  if (dsts) codec.setRouteFilter(family, filter.table ?? 0, dsts);
  try {
    sock.dump((seq) => codec.encodeRouteDump(seq, family, filter));
  } catch (e) {
    // A table filter naming a table that was never created: ENOENT ("FIB table does not exist").
    if (!(filter.table && e instanceof NetlinkError && e.errno === ENOENT)) throw e;
    codec.reset();
  } finally {
    if (dsts) codec.clearRouteFilter();
  }
  return codec.routes;
}

/**
 * One route dump of `family` (AF_UNSPEC for both), filtered by the kernel on `filter`. The rows
 * are checked again here (a kernel that ignored the filter sends everything); rows that are not
 * routes (cloned entries) or that fail the filter are skipped. `visit` sees each kept row of
 * `codec.routes` in dump order. A table the kernel does not have is an empty dump.
 */
export function scanRoutes(sock: NetlinkSocket, family: number, filter: RouteFilter, visit: (rows: RouteRows, i: number) => void): void {
  const rows = dumpRoutes(sock, family, filter);
  const { table, oif } = filter;
  for (let i = 0; i < rows.count; i++) {
    if (rows.type(i) !== RTM_NEWROUTE || rows.flags(i) & RTM_F_CLONED) continue;
    if (table && rows.table(i) !== table) continue;
    if (oif && !rows.usesIfindex(i, oif)) continue;
    visit(rows, i);
  }
}

/**
 * Dumps the routes of `family` (AF_UNSPEC for both), in every table or those `filter` names:
 * unicast ones, or all types with `allTypes` (to see what the kernel would match a key against).
 * Only rows accepted by `want` (checked on the codec row) are materialised.
 */
export function listRoutes(
  sock: NetlinkSocket, family = AF_UNSPEC, opts: RouteFilter & { allTypes?: boolean; want?: (row: number) => boolean } = {},
): KernelRoute[] {
  const out: KernelRoute[] = [];
  scanRoutes(sock, family, opts, (rows, i) => {
    if (!opts.allTypes && rows.routeType(i) !== RTN_UNICAST) return;
    if (opts.want && !opts.want(i)) return;
    out.push(routeFromRow(rows, i));
  });
  return out;
}

/**
 * The unicast routes, in every table and both families, with a nexthop through `ifindex`: the
 * kernel filters the dump by device (RTA_OIF matches any nexthop of a multipath route), so only
 * those routes are sent and materialised.
 */
export function routesThrough(sock: NetlinkSocket, ifindex: number): KernelRoute[] {
  return listRoutes(sock, AF_UNSPEC, { oif: ifindex });
}

/** The id of every table that holds a route of any type, either family: one dump, no route materialised. */
export function tablesInUse(sock: NetlinkSocket): Set<number> {
  const tables = new Set<number>();
  scanRoutes(sock, AF_UNSPEC, {}, (rows, i) => tables.add(rows.table(i)));
  return tables;
}

/** The route in row `i` of `rows` (the codec's route table). */
export function routeFromRow(r: RouteRows, i: number): KernelRoute {
  const family = r.family(i);
  const nexthops: Nexthop[] = [];
  const n = r.nexthopCount(i);
  if (n > 0) {
    for (let k = 0; k < n; k++) {
      const gw = r.nhGateway(i, k);
      nexthops.push({ gateway: gw && fromBytes(gw), ifindex: r.nhIfindex(i, k), weight: r.nhWeight(i, k), flags: r.nhFlags(i, k) });
    }
  } else {
    // A single-path route reports its nexthop's flags in rtm_flags.
    const gw = r.gateway(i);
    nexthops.push({ gateway: gw && fromBytes(gw), ifindex: r.oif(i), weight: 1, flags: r.flags(i) & 0xff });
  }
  const prefsrc = r.prefsrc(i);
  const route: KernelRoute = {
    family, table: r.table(i), dst: { ip: fromBytes(r.dst(i).subarray(0, family === AF_INET6 ? 16 : 4)), prefix: r.dstLen(i) },
    priority: r.priority(i), tos: r.tos(i), scope: r.scope(i), protocol: r.protocol(i), type: r.routeType(i), nexthops,
    foreign: r.foreign(i),
  };
  if (prefsrc) route.prefsrc = fromBytes(prefsrc);
  if (r.mtu(i)) route.mtu = r.mtu(i);
  if (r.advmss(i)) route.advmss = r.advmss(i);
  const metrics = r.metricsRaw(i);
  if (metrics) route.metricsRaw = metrics;
  return route;
}

/** The bytes a request carries for an address (4 for IPv4, 16 for IPv6). */
const bytesOf = (ip: IPAddr | undefined): Uint8Array | undefined => ip?.bytes;

function specFor(key: RouteKey, nexthops: readonly Nexthop[], attrs: RouteAttrs = {}): RouteSpec {
  const spec: RouteSpec = {
    family: key.family, dstLen: key.dst.prefix, tos: key.tos, table: key.table, scope: key.scope,
    protocol: attrs.protocol ?? RTPROT_BOOT, type: RTN_UNICAST,
    // The stored metric: for IPv6 a metric of 0 in a delete would match any metric.
    priority: effectiveMetric(key.family, key.priority),
    mtu: attrs.mtu, advmss: attrs.advmss, metricsRaw: attrs.metricsRaw,
    prefsrc: bytesOf(attrs.prefsrc),
  };
  if (key.dst.prefix > 0) spec.dst = key.dst.ip.bytes;
  // Of the flags a dump reports, only onlink describes the nexthop; dead/linkdown are the
  // kernel's view of its state and are not written back.
  const onlink = (nh: Nexthop) => (nh.flags ?? 0) & RTNH_F_ONLINK;
  if (nexthops.length === 1 && nexthops[0].weight === 1) {
    spec.oif = nexthops[0].ifindex;
    spec.flags = onlink(nexthops[0]);
    if (nexthops[0].gateway) spec.gateway = nexthops[0].gateway.bytes;
  } else if (nexthops.length > 0) {
    spec.nexthops = nexthops.map((nh): NexthopSpec => ({
      ifindex: nh.ifindex, weight: nh.weight, flags: onlink(nh), gateway: bytesOf(nh.gateway),
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
  append: NLM_F_CREATE | NLM_F_APPEND,
};

/** Writes one route holding `nexthops` under `key`, with `attrs`. */
export function writeRoute(sock: NetlinkSocket, mode: WriteMode, key: RouteKey, nexthops: readonly Nexthop[], attrs?: RouteAttrs): void {
  const spec = specFor(key, nexthops, attrs);
  sock.request((seq) => codec.encodeRoute(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | modeFlags[mode], seq, spec));
}

/**
 * Deletes the route under `key`; with `nexthops`, only an entry matching them (IPv6: one sibling
 * per request; IPv4: the alias with exactly these nexthops).
 */
export function deleteRoute(sock: NetlinkSocket, key: RouteKey, nexthops: readonly Nexthop[] = []): void {
  const spec = specFor(key, nexthops);
  spec.scope = RT_SCOPE_NOWHERE;
  spec.protocol = 0;
  sock.request((seq) => codec.encodeRoute(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, seq, spec));
}

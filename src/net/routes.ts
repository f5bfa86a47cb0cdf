// Joining and leaving nexthop sets in the kernel, per family:
// - IPv4 never merges routes itself: a set is always written whole, as one RTA_MULTIPATH route
//   (REPLACE when the key exists), and one nexthop cannot be deleted alone, so leaving rewrites
//   the route with the nexthops that remain (docs/kernel.md §1, §4). REPLACE acts on the
//   first route with the same table, dst, tos and metric, whatever its scope or type, so that
//   route must be the one we mean; a rewrite carries every attribute of the route it replaces,
//   and a route with attributes nexthop cannot write back is left alone with an error.
// - IPv6 merges gateway routes with the same key into siblings: new nexthops are added with
//   NLM_F_CREATE (no EXCL/REPLACE) and leave with one RTM_DELROUTE per nexthop; other
//   siblings are never rewritten.
import { CniError, ErrCode } from "../cni/errors";
import { AF_INET, AF_INET6, ESRCH, RTN_UNICAST } from "../netlink/constants";
import { keyText, sameSlot, type RouteKey } from "../netlink/key";
import { deleteRoute, findRoute, listRoutes, writeRoute, type KernelRoute, type Nexthop, type RouteAttrs } from "../netlink/route";
import { NetlinkError, type NetlinkSocket } from "../netlink/socket";
import { difference, hasNexthop, union } from "./nexthops";
import type { UndoLog } from "./undo";

export interface NexthopSet {
  key: RouteKey;
  nexthops: Nexthop[];
  mtu?: number;
  advmss?: number;
  /** The rest of the route's attributes when the set is created (a move carries them all). */
  attrs?: RouteAttrs;
}

function describe(set: NexthopSet): string {
  const hops = set.nexthops.map((nh) => `${nh.gateway ?? "direct"} dev #${nh.ifindex} weight ${nh.weight}`).join(", ");
  return `route ${keyText(set.key)} nexthops [${hops}]`;
}

/** Every IPv4 route the kernel would match `key` against, in its order (first = REPLACE target). */
function ipv4Slot(sock: NetlinkSocket, key: RouteKey): KernelRoute[] {
  return listRoutes(sock, AF_INET, { allTypes: true }).filter((r) => sameSlot(r, key));
}

/** Why an existing IPv4 route cannot take part in a rewrite, or undefined when it can. */
function cannotRewrite(route: KernelRoute, key: RouteKey): string | undefined {
  if (route.type !== RTN_UNICAST || route.scope !== key.scope) {
    return `the kernel holds a route of type ${route.type}, scope ${route.scope} with the same table, destination, metric and tos (IPv4 tells routes apart by these only); use another priority for this route`;
  }
  if (route.foreign) return "the existing route has attributes nexthop cannot write back (nexthop object, encapsulation, realms or many metrics)";
  return undefined;
}

/** Adds the nexthops of `set` to the route under its key, creating the route if needed. */
export function joinNexthops(sock: NetlinkSocket, set: NexthopSet, log?: UndoLog): void {
  const { key } = set;
  const own: RouteAttrs = { ...set.attrs, mtu: set.mtu ?? set.attrs?.mtu, advmss: set.advmss ?? set.attrs?.advmss };
  let added: Nexthop[];
  if (key.family === AF_INET6) {
    const current = findRoute(sock, key);
    added = current ? set.nexthops.filter((nh) => !hasNexthop(current.nexthops, nh)) : set.nexthops;
    if (added.length === 0) return;
    writeRoute(sock, current ? "prepend" : "create", key, added, own);
  } else {
    const first = ipv4Slot(sock, key)[0];
    added = first ? set.nexthops.filter((nh) => !hasNexthop(first.nexthops, nh)) : set.nexthops;
    if (added.length === 0) return;
    if (!first) {
      writeRoute(sock, "create", key, added, own);
    } else {
      const why = cannotRewrite(first, key);
      if (why) throw new CniError(ErrCode.InvalidNetworkConfig, `cannot join route ${keyText(key)}: ${why}`);
      // The existing route's attributes (src, metrics, protocol) win over the new set's.
      writeRoute(sock, "replace", key, union(first.nexthops, added), first);
    }
  }
  log?.push(`add ${describe({ ...set, nexthops: added })}`, () => leaveNexthops(sock, key, added));
}

/**
 * Removes `remove` from the route under `key` (the whole route when nothing remains). Returns the
 * nexthops that were actually removed.
 */
export function leaveNexthops(sock: NetlinkSocket, key: RouteKey, remove: readonly Nexthop[], log?: UndoLog): Nexthop[] {
  let removed: Nexthop[];
  let attrs: { mtu?: number; advmss?: number; attrs?: RouteAttrs } = {};
  if (key.family === AF_INET6) {
    const route = findRoute(sock, key);
    removed = route?.nexthops.filter((nh) => hasNexthop(remove, nh)) ?? [];
    for (const nh of removed) deleteRoute(sock, key, [nh]);
    if (route) attrs = { mtu: route.mtu, advmss: route.advmss, attrs: attrsOf(route) };
  } else {
    const slot = ipv4Slot(sock, key);
    const route = slot.find((r) => r.type === RTN_UNICAST && r.nexthops.some((nh) => hasNexthop(remove, nh)));
    if (!route) return [];
    removed = route.nexthops.filter((nh) => hasNexthop(remove, nh));
    const remaining = difference(route.nexthops, removed);
    if (remaining.length === 0) {
      deleteRoute(sock, route, route.nexthops);
    } else {
      if (route.foreign) {
        throw new CniError(ErrCode.Internal, `cannot remove nexthops from route ${keyText(key)}: it has attributes nexthop cannot write back`);
      }
      rewriteIpv4(sock, route, slot[0] === route, remaining);
    }
    attrs = { mtu: route.mtu, advmss: route.advmss, attrs: attrsOf(route) };
  }
  if (removed.length) log?.push(`remove nexthops from route ${keyText(key)}`, () => joinNexthops(sock, { key, nexthops: removed, ...attrs }));
  return removed;
}

/** The attributes of a kernel route that a rewrite or a move writes back. */
export function attrsOf(r: KernelRoute): RouteAttrs {
  return { protocol: r.protocol, prefsrc: r.prefsrc, mtu: r.mtu, advmss: r.advmss, metricsRaw: r.metricsRaw };
}

function rewriteIpv4(sock: NetlinkSocket, route: KernelRoute, isFirst: boolean, nexthops: Nexthop[]): void {
  if (isFirst) {
    // REPLACE acts on the first route of the slot: atomic, no moment without a route.
    writeRoute(sock, "replace", route, nexthops, route);
    return;
  }
  // Another route of the slot comes first (upstream's prepend semantics made it); rewrite this
  // one exactly: delete it, then add it back after the others.
  deleteRoute(sock, route, route.nexthops);
  writeRoute(sock, "append", route, nexthops, route);
}

/**
 * Takes every nexthop through `ifindex` out of IPv4 routes it shares with other devices. Needed
 * before deleting a device: the kernel deletes a whole IPv4 multipath route when one of its
 * devices goes, including the nexthops through other devices (docs/kernel.md §5). Routes
 * that use only `ifindex` go with the device; IPv6 drops just the device's siblings by itself.
 */
export function detachSharedRoutes(sock: NetlinkSocket, ifindex: number): number {
  let detached = 0;
  const shared = listRoutes(sock, AF_INET).filter(
    (r) => r.nexthops.some((nh) => nh.ifindex === ifindex) && r.nexthops.some((nh) => nh.ifindex !== ifindex),
  );
  for (const r of shared) {
    try {
      detached += leaveNexthops(sock, r, r.nexthops.filter((nh) => nh.ifindex === ifindex)).length;
    } catch (e) {
      // Another DEL may have rewritten the route meanwhile; what is gone needs no removal.
      if (!(e instanceof NetlinkError && e.errno === ESRCH)) throw e;
    }
  }
  return detached;
}

// Joining and leaving nexthop sets in the kernel, per family:
// - IPv4 never merges routes itself: a set is always written whole, as one RTA_MULTIPATH route
//   (REPLACE when the key exists), and one nexthop cannot be deleted alone, so leaving rewrites
//   the route with the nexthops that remain (kernel-behaviour.md §2, §4).
// - IPv6 merges gateway routes with the same key into siblings: new nexthops are added with
//   NLM_F_CREATE (no EXCL/REPLACE) and leave with one RTM_DELROUTE per nexthop.
import { AF_INET6 } from "../netlink/constants";
import { NetlinkError, type NetlinkSocket } from "../netlink/socket";
import {
  deleteRoute, findRoute, keyText, listRoutes, sameKey, writeRoute,
  type KernelRoute, type Nexthop, type RouteKey,
} from "../netlink/route";
import { difference, hasNexthop, union } from "./nexthops";
import type { UndoLog } from "./undo";

export interface NexthopSet {
  key: RouteKey;
  nexthops: Nexthop[];
  mtu?: number;
  advmss?: number;
}

function describe(set: NexthopSet): string {
  const hops = set.nexthops.map((nh) => `${nh.gateway ?? "direct"} dev #${nh.ifindex} weight ${nh.weight}`).join(", ");
  return `route ${keyText(set.key)} nexthops [${hops}]`;
}

/** Adds the nexthops of `set` to the route under its key, creating the route if needed. */
export function joinNexthops(sock: NetlinkSocket, set: NexthopSet, log?: UndoLog): void {
  const current = findRoute(sock, set.key);
  const added = current ? set.nexthops.filter((nh) => !hasNexthop(current.nexthops, nh)) : set.nexthops;
  if (added.length === 0) return;
  const extra = { mtu: set.mtu, advmss: set.advmss };
  if (!current) {
    writeRoute(sock, "create", set.key, added, extra);
  } else if (set.key.family === AF_INET6) {
    writeRoute(sock, "prepend", set.key, added, extra);
  } else {
    writeRoute(sock, "replace", set.key, union(current.nexthops, added), {
      protocol: current.protocol, mtu: current.mtu, advmss: current.advmss,
    });
  }
  log?.push(`add ${describe({ ...set, nexthops: added })}`, () => leaveNexthops(sock, set.key, added));
}

/**
 * Removes `remove` from the route under `key` (the whole route when nothing remains). Returns the
 * nexthops that were actually removed.
 */
export function leaveNexthops(sock: NetlinkSocket, key: RouteKey, remove: readonly Nexthop[], log?: UndoLog): Nexthop[] {
  const aliases = listRoutes(sock, key.family).filter((r) => sameKey(r, key));
  const route = aliases.find((r) => r.nexthops.some((nh) => hasNexthop(remove, nh)));
  if (!route) return [];
  const removed = route.nexthops.filter((nh) => hasNexthop(remove, nh));
  const remaining = difference(route.nexthops, removed);
  if (key.family === AF_INET6) {
    for (const nh of removed) deleteRoute(sock, key, [nh]);
  } else if (remaining.length === 0) {
    deleteRoute(sock, key, route.nexthops);
  } else {
    rewriteIpv4(sock, route, aliases[0] === route, remaining);
  }
  log?.push(`remove nexthops from route ${keyText(key)}`, () =>
    joinNexthops(sock, { key, nexthops: removed, mtu: route.mtu, advmss: route.advmss }),
  );
  return removed;
}

function rewriteIpv4(sock: NetlinkSocket, route: KernelRoute, isFirstAlias: boolean, nexthops: Nexthop[]): void {
  const extra = { protocol: route.protocol, mtu: route.mtu, advmss: route.advmss };
  if (isFirstAlias) {
    // REPLACE acts on the first alias with this key: atomic, no moment without a route.
    writeRoute(sock, "replace", route, nexthops, extra);
    return;
  }
  // Another route with the same key comes first (upstream's prepend semantics made it); rewrite
  // this alias exactly: delete it, then add it back after the others.
  deleteRoute(sock, route, route.nexthops);
  writeRoute(sock, "append", route, nexthops, extra);
}

/**
 * Takes every nexthop through `ifindex` out of routes it shares with other devices. Routes that
 * use only `ifindex` are left alone: the kernel drops them with the device. Needed before
 * deleting a device: the kernel deletes a whole IPv4 multipath route when one of its devices
 * goes, including the nexthops through other devices (kernel-behaviour.md §4).
 */
export function detachSharedRoutes(sock: NetlinkSocket, ifindex: number): number {
  let detached = 0;
  for (const family of [2, AF_INET6]) {
    const shared = listRoutes(sock, family).filter(
      (r) => r.nexthops.some((nh) => nh.ifindex === ifindex) && r.nexthops.some((nh) => nh.ifindex !== ifindex),
    );
    for (const r of shared) {
      try {
        detached += leaveNexthops(sock, r, r.nexthops.filter((nh) => nh.ifindex === ifindex)).length;
      } catch (e) {
        // Another DEL may have rewritten the route meanwhile; what is gone needs no removal.
        if (!(e instanceof NetlinkError && e.errno === 3 /* ESRCH */)) throw e;
      }
    }
  }
  return detached;
}

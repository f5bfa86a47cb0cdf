// Moving one interface's nexthops from the routes that hold them into another table, both
// families: a route is a key with a set of nexthops, and only the nexthops through the moving
// interface go, with every attribute of the route (src, protocol, metrics, mtu/advmss; per nexthop
// gateway, weight, onlink). The other interfaces' nexthops stay where they were, exactly
// (docs/vrf.md). planMoves is pure; applyMoves writes through the shared join/leave operations of
// routes.ts, so every write is in the undo log.
import { CniError, ErrCode, step } from "../cni/errors";
import type { Route } from "../cni/types";
import { formatCIDR, formatIP, ipEqual, networkOf, parseCIDR, parseIP } from "../ip";
import { AF_INET, AF_INET6, RTPROT_KERNEL, RTPROT_RA, RT_TABLE_LOCAL, RT_TABLE_MAIN } from "../netlink/constants";
import { effectiveMetric, keyText, sameDst, type RouteKey } from "../netlink/key";
import type { KernelRoute, Nexthop } from "../netlink/route";
import type { NetlinkSocket } from "../netlink/socket";
import { attrsOf, joinNexthops, leaveNexthops, RouteTables } from "./routes";
import type { UndoLog } from "./undo";

export interface NexthopMove {
  /** The route as the kernel held it before anything changed. */
  from: KernelRoute;
  /** Where this interface's nexthops go (the same table: they stay, re-installed if flushed). */
  to: RouteKey;
  /** The nexthops through the interface, as they were (weights, gateways, onlink). */
  nexthops: Nexthop[];
  /** Take them out of `from` afterwards (a move); false keeps them there (a restore). */
  leave: boolean;
}

/**
 * Which routes hold nexthops through `ifindex`, and where they go: out of the main table into
 * `table`; routes in any other table (policy routing the IPAM or the operator set up) stay in
 * theirs. Connected and local routes (proto kernel), router-advertised ones (proto ra, the
 * kernel's to expire) and the local table are the kernel's, which recreates them in the VRF.
 */
export function planMoves(routes: readonly KernelRoute[], ifindex: number, table: number): NexthopMove[] {
  const moves: NexthopMove[] = [];
  for (const r of routes) {
    if (r.table === RT_TABLE_LOCAL || r.table === table || r.protocol === RTPROT_KERNEL || r.protocol === RTPROT_RA) continue;
    const mine = r.nexthops.filter((nh) => nh.ifindex === ifindex);
    if (mine.length === 0) continue;
    if (r.foreign) {
      throw new CniError(ErrCode.InvalidNetworkConfig, `cannot move route ${keyText(r)}: it has attributes nexthop cannot write back (nexthop object, encapsulation, realms)`);
    }
    const leave = r.table === RT_TABLE_MAIN;
    const to: RouteKey = { family: r.family, table: leave ? table : r.table, dst: r.dst, priority: r.priority, tos: r.tos, scope: r.scope };
    moves.push({ from: r, to, nexthops: mine.map((nh) => ({ ...nh })), leave });
  }
  // Device routes first: a gateway may be reachable only through one of them (the kernel checks
  // the gateway against the target table when the route is written).
  const direct = (m: NexthopMove) => m.nexthops.every((nh) => nh.gateway === undefined);
  return [...moves.filter(direct), ...moves.filter((m) => !direct(m))];
}

function text(key: RouteKey, nexthops: readonly Nexthop[]): string {
  const via = nexthops.map((nh) => `${nh.gateway ? formatIP(nh.gateway) : "direct"}${nh.weight !== 1 ? ` weight ${nh.weight}` : ""}`).join(", ");
  return `${formatCIDR(key.dst)} via [${via}] table ${key.table} metric ${effectiveMetric(key.family, key.priority)}`;
}

/** Installs every move's nexthops in its target, then takes them out of the source routes. */
export function applyMoves(sock: NetlinkSocket, moves: readonly NexthopMove[], log: UndoLog, before?: (step: string) => void): void {
  // Read after the enslave (which flushed routes): each table involved once, kept current by the moves.
  const tables = new RouteTables(sock).expect(moves.flatMap((m) => [m.to, m.from]));
  for (const m of moves) {
    const what = `failed to add route '${text(m.to, m.nexthops)}'`;
    before?.(what);
    step(what, () => joinNexthops(tables, { key: m.to, nexthops: m.nexthops, attrs: attrsOf(m.from) }, log));
  }
  for (const m of moves.filter((x) => x.leave)) {
    const what = `failed to remove '${text(m.from, m.nexthops)}'`;
    before?.(what);
    step(what, () => leaveNexthops(tables, m.from, m.nexthops, log));
  }
}

/** Puts the moves' nexthops back into their source routes where they are missing (an undo). */
export function restoreSources(sock: NetlinkSocket, moves: readonly NexthopMove[]): void {
  // A fresh read: this runs after the release cycled the device, which flushed routes.
  const tables = new RouteTables(sock).expect(moves.map((m) => m.from));
  for (const m of moves) joinNexthops(tables, { key: m.from, nexthops: m.nexthops, attrs: attrsOf(m.from) });
}

/**
 * The result's routes, with `table` set on those whose nexthops moved out of the main table, so
 * the result says where the routes are now.
 */
export function markMoved(routes: readonly Route[], moves: readonly NexthopMove[], table: number): Route[] {
  return routes.map((r) => {
    if ((r.table ?? RT_TABLE_MAIN) !== RT_TABLE_MAIN) return r;
    const dst = parseCIDR(r.dst);
    const gw = r.gw === undefined ? undefined : parseIP(r.gw);
    if (!dst) return r;
    const key = networkOf(dst);
    const family = dst.ip.family === 6 ? AF_INET6 : AF_INET;
    const moved = moves.some((m) =>
      m.leave && m.from.family === family && sameDst(m.from.dst, key) &&
      effectiveMetric(family, m.from.priority) === effectiveMetric(family, r.priority ?? 0) &&
      (!gw || m.nexthops.some((nh) => nh.gateway !== undefined && ipEqual(nh.gateway, gw))),
    );
    return moved ? { ...r, table } : r;
  });
}

// From a CNI result to the route writes for one interface: validate every route, default its
// gateway like upstream's ConfigureIface, and group routes that share a key into nexthop sets.
// Pure: the kernel is not consulted (joining existing routes happens in routes.ts).
import { CniError, ErrCode } from "../cni/errors";
import type { Result, Route } from "../cni/types";
import { AF_INET, AF_INET6, RT_TABLE_MAIN } from "../netlink/constants";
import { formatCIDR, formatIP, networkOf, parseCIDR, parseIP } from "../ip";
import { sameKey, type RouteKey } from "../netlink/key";
import type { NexthopSet } from "./routes";

/**
 * "merge" (default): routes sharing family, table, dst, metric, tos and scope become one
 * multipath route in both families. "upstream": each route is added as upstream does
 * (NLM_F_CREATE only: separate IPv4 routes, last one first; IPv6 merged by the kernel); routes
 * from an explicit `gws` list are multipath either way.
 */
export type Ecmp = "merge" | "upstream";

export interface RouteWrite {
  /**
   * "join": the set joins the route under its key (one multipath route); "upstream": the route is
   * added as upstream adds it (NLM_F_CREATE only, the kernel decides: `"ecmp": "upstream"`).
   */
  how: "join" | "upstream";
  set: NexthopSet;
  /** Indexes into result.routes that this write installs. */
  routes: number[];
}

const U32_MAX = 0xffffffff;

function invalid(msg: string): CniError {
  return new CniError(ErrCode.InvalidNetworkConfig, msg);
}

function checkInt(field: string, v: number | undefined, min: number, max: number): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < min || v > max) throw invalid(`${field}: ${v} is out of range [${min}, ${max}]`);
}

/** The first gateway per family among the result's addresses on `ifname`, as ConfigureIface picks. */
export function defaultGateways(result: Result, ifname: string): { v4?: string; v6?: string } {
  const gws: { v4?: string; v6?: string } = {};
  for (const ip of result.ips ?? []) {
    if (ip.interface === undefined || result.interfaces?.[ip.interface]?.name !== ifname || !ip.gateway) continue;
    const gw = parseIP(ip.gateway);
    if (gw?.family === 4) gws.v4 ??= formatIP(gw);
    else if (gw) gws.v6 ??= formatIP(gw);
  }
  return gws;
}

interface Planned {
  key: RouteKey;
  /** Where the gateway came from, for messages: "routes[1].gw" or "routes[1].gws[0]". */
  field: string;
  gateway?: string;
  weight: number;
  explicit: boolean;
  route: Route;
  index: number;
}

/** One planned nexthop per gateway of the route: `gw` merged into `gws` without duplicates. */
function planOne(route: Route, index: number, gws: { v4?: string; v6?: string }, origin: string): Planned[] {
  const at = route.field ?? `${origin}[${index}]`;
  const dst = parseCIDR(route.dst);
  if (!dst) throw invalid(`${at}.dst: invalid CIDR "${route.dst}"`);
  const v6 = dst.ip.family === 6;
  checkInt(`${at}.priority`, route.priority, 0, U32_MAX);
  checkInt(`${at}.table`, route.table, 0, U32_MAX);
  checkInt(`${at}.scope`, route.scope, 0, 255);
  checkInt(`${at}.mtu`, route.mtu, 0, U32_MAX);
  checkInt(`${at}.advmss`, route.advmss, 0, U32_MAX);
  checkInt(`${at}.weight`, route.weight, 1, 256);
  const key: RouteKey = {
    family: v6 ? AF_INET6 : AF_INET, table: route.table || RT_TABLE_MAIN, dst: formatCIDR(networkOf(dst)),
    // The kernel keeps no scope for IPv6 routes (it reports universe): neither does the key.
    priority: route.priority ?? 0, tos: 0, scope: v6 ? 0 : (route.scope ?? 0),
  };
  // A result read back from a runtime may carry `gws` (cni #1190); static's own results list one
  // entry per nexthop instead, with an internal weight.
  const listed: [string, string | undefined][] = route.gws?.length
    ? [...(route.gw ? [[`${at}.gw`, route.gw] as [string, string]] : []), ...route.gws.map((g, n): [string, string] => [`${at}.gws[${n}]`, g])]
    // A link- or host-scope IPv4 route without gw is a direct route: the address's gateway, which
    // upstream fills in (and the kernel then refuses), is not what such a route means.
    : [[`${at}.gw`, route.gw ?? (v6 ? gws.v6 : (route.scope ?? 0) >= RT_SCOPE_LINK ? undefined : gws.v4)]];
  const explicit = route.weight !== undefined || (route.gws?.length ?? 0) > 0;
  const planned = listed.map(([field, text]): Planned => {
    let gateway: string | undefined;
    if (text !== undefined) {
      const gw = parseIP(text);
      if (!gw) throw invalid(`${field}: invalid IP address "${text}"`);
      if ((gw.family === 6) !== v6) {
        throw invalid(`${field}: gateway "${text}" is IPv${gw.family} but dst "${route.dstText ?? route.dst}" is ${v6 ? "IPv6" : "IPv4"}`);
      }
      gateway = formatIP(gw);
    }
    return { key, gateway, weight: route.weight ?? 1, explicit, route, index, field };
  });
  // gw merged into gws: one address, however it is written, is one nexthop.
  return planned.filter((p, i) => planned.findIndex((q) => q.gateway === p.gateway) === i);
}

/** Link scope (RT_SCOPE_LINK): routes at this scope or narrower have no gateway. */
const RT_SCOPE_LINK = 253;

/**
 * Validates the result's routes and plans their writes for the interface `ifindex`. Throws a
 * CniError (code 7) naming the route field and value for anything the kernel would refuse or
 * that cannot form a nexthop set; `origin` is where the routes are in the config ("prevResult.routes"
 * when chained, "ipam.routes" for an IPAM result), so field paths start at its top.
 */
export function planRoutes(result: Result, ifname: string, ifindex: number, ecmp: Ecmp, origin = "routes"): RouteWrite[] {
  const gws = defaultGateways(result, ifname);
  const writes: RouteWrite[] = [];
  for (const p of (result.routes ?? []).flatMap((r, i) => planOne(r, i, gws, origin))) {
    const nexthop = { gateway: p.gateway, ifindex, weight: p.weight };
    // In upstream mode only explicit (gws) routes are joins, so they group only with each other.
    const grouped = ecmp === "merge" || p.explicit;
    const into = grouped ? writes.find((w) => w.how === "join" && sameKey(w.set.key, p.key)) : undefined;
    if (!into) {
      writes.push({ how: grouped ? "join" : "upstream", set: { key: p.key, nexthops: [nexthop], mtu: p.route.mtu, advmss: p.route.advmss }, routes: [p.index] });
      continue;
    }
    if (into.set.nexthops.some((nh) => (nh.gateway ?? "") === (p.gateway ?? ""))) {
      throw invalid(`${p.field}: duplicate gateway "${p.gateway ?? "(none)"}" for dst "${p.route.dstText ?? p.route.dst}"`);
    }
    if (p.key.family === AF_INET6 && (!p.gateway || into.set.nexthops.some((nh) => !nh.gateway))) {
      throw invalid(`${p.route.field ?? `${origin}[${p.index}]`}: an IPv6 multipath route needs a gateway on every nexthop (dst "${p.route.dstText ?? p.route.dst}")`);
    }
    into.set.nexthops.push(nexthop);
    if (!into.routes.includes(p.index)) into.routes.push(p.index);
  }
  return writes;
}

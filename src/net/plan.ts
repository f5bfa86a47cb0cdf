// The plan of an interface as a value: from a CNI result (and the kernel state it was read
// against) to the desired state of one interface: the link, its addresses, the sysctls written
// on the way, whether DAD must settle, and per route key the nexthop set before and after the ADD
// with the write that gets there (or why it cannot be made). planRoutes validates every route,
// defaults its gateway like upstream's ConfigureIface and groups routes that share a key into
// nexthop sets; planInterface adds the rest and predicts each write against the kernel state.
// Pure: the kernel state comes in as a value (KernelState); configure.ts applies the plan,
// attach.ts checks it, and `nexthop plan` prints it.
import { CniError, ErrCode } from "../cni/errors";
import { badWeight, duplicateGateway, gatewayFamilyMismatch, isWeight } from "../cni/route-rules";
import type { Result, Route } from "../cni/types";
import { AF_INET, AF_INET6, RT_SCOPE_LINK, RT_TABLE_MAIN, RTN_UNICAST, RTPROT_BOOT, RTPROT_KERNEL } from "../netlink/constants";
import { formatIP, networkOf, parseCIDR, parseIP, type CIDR, type IPAddr } from "../ip";
import { keyText, sameDst, sameGateway, sameKey, sameSlot, type KernelRoute, type Nexthop, type RouteKey } from "../netlink/key";
import { cannotRewrite, hasNexthop, union, type NexthopSet } from "./nexthops";
import type { KernelState } from "./state";

export type { KernelState } from "./state";

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
  gateway?: IPAddr;
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
  if (route.weight !== undefined && !isWeight(route.weight)) throw invalid(`${at}.weight: ${badWeight(String(route.weight))}`);
  const key: RouteKey = {
    family: v6 ? AF_INET6 : AF_INET, table: route.table || RT_TABLE_MAIN, dst: networkOf(dst),
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
    let gateway: IPAddr | undefined;
    if (text !== undefined) {
      const gw = parseIP(text);
      if (!gw) throw invalid(`${field}: invalid IP address "${text}"`);
      if ((gw.family === 6) !== v6) {
        throw invalid(`${field}: ${gatewayFamilyMismatch(text, gw.family, route.dstText ?? route.dst, v6 ? 6 : 4)}`);
      }
      gateway = gw;
    }
    return { key, gateway, weight: route.weight ?? 1, explicit, route, index, field };
  });
  // gw merged into gws: one address, however it is written, is one nexthop.
  return planned.filter((p, i) => planned.findIndex((q) => sameGateway(q.gateway, p.gateway)) === i);
}

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
    if (into.set.nexthops.some((nh) => sameGateway(nh.gateway, p.gateway))) {
      throw invalid(`${p.field}: ${duplicateGateway(p.gateway ? formatIP(p.gateway) : "(none)")}`);
    }
    if (p.key.family === AF_INET6 && (!p.gateway || into.set.nexthops.some((nh) => !nh.gateway))) {
      throw invalid(`${p.route.field ?? `${origin}[${p.index}]`}: an IPv6 multipath route needs a gateway on every nexthop (dst "${p.route.dstText ?? p.route.dst}")`);
    }
    into.set.nexthops.push(nexthop);
    if (!into.routes.includes(p.index)) into.routes.push(p.index);
  }
  return writes;
}

// ---- the whole interface ------------------------------------------------------------------------

export interface PlanInput {
  ifname: string;
  /** The device's index; 0 when it is not created yet (its nexthops then match nothing held). */
  ifindex: number;
  /** The result to configure: the IPAM result, or the prevResult when chained. */
  result: Result;
  ecmp: Ecmp;
  kernel: KernelState;
  /** Where result.routes are in the config ("ipam.routes", "prevResult.routes"), for messages. */
  routesAt?: string;
  /**
   * "add" (default): addresses are validated as ADD refuses them. "check": addresses of other
   * interfaces are skipped and an unparsable one is kept without `cidr` (CHECK reports it as a
   * mismatch, as upstream's CHECK does).
   */
  purpose?: "add" | "check";
}

export interface PlannedAddress {
  /** As the result writes it. */
  address: string;
  /** Parsed once; absent only for an unparsable address in a "check" plan. */
  cidr?: CIDR;
}

/** Why a sysctl is written: the messages and the failure handling depend on it. */
export type SysctlPurpose = "notify" | "enable-ipv6" | "keep-addr-on-down";

export interface PlannedSysctl {
  /** Under /proc/sys, e.g. "net/ipv6/conf/lo/disable_ipv6". */
  key: string;
  value: string;
  /** The device the key belongs to. */
  device: string;
  purpose: SysctlPurpose;
  /** A failed write fails the ADD; otherwise it is ignored (best effort). */
  fatal: boolean;
  /** Read first and written only when the value differs (an unreadable key is then skipped). */
  onlyIfDifferent: boolean;
  /** Written just before addresses[before] is added. */
  before: number;
}

/**
 * How a write reaches the kernel. "create": no route under the key, one is created
 * (NLM_F_CREATE|NLM_F_EXCL). "join": IPv6, the nexthops become siblings of the route under the
 * key (NLM_F_CREATE). "replace": IPv4, the first route of the slot is rewritten whole with its
 * nexthops and the new ones (NLM_F_REPLACE). "upstream": `"ecmp": "upstream"`, added as
 * upstream adds it (NLM_F_CREATE only; the kernel decides). "none": every nexthop is already
 * there, nothing is written.
 */
export type RouteOp = "create" | "join" | "replace" | "upstream" | "none";

export interface PlannedWrite extends RouteWrite {
  op: RouteOp;
  /** The nexthops this write adds under the key ([] for "none"). */
  adds: Nexthop[];
  /** Why the kernel's route under the key cannot take the set: the ADD fails at this write. */
  refused?: string;
}

export interface RoutePlan {
  key: RouteKey;
  /** The nexthops the kernel holds under the key before the ADD (every route with the key). */
  before: Nexthop[];
  /** The nexthops under the key once the ADD is done, the kernel's prefix routes included. */
  after: Nexthop[];
  /** The writes of this key, in order. */
  writes: PlannedWrite[];
}

export interface InterfacePlan {
  link: { ifname: string; ifindex: number; up: true };
  addresses: PlannedAddress[];
  sysctls: PlannedSysctl[];
  /** Wait for IPv6 DAD before the routes are written. */
  settle: boolean;
  /** Every route write, in the order it is made. */
  writes: PlannedWrite[];
  /** Per route key, in the order keys are first written. */
  routes: RoutePlan[];
}

/** The addresses of `ifname` in the result, validated as ADD (or read as CHECK) reads them. */
export function planAddresses(result: Result, ifname: string, purpose: "add" | "check" = "add"): PlannedAddress[] {
  const out: PlannedAddress[] = [];
  for (const ip of result.ips ?? []) {
    if (ip.interface === undefined) continue;
    if (result.interfaces?.[ip.interface]?.name !== ifname) {
      if (purpose === "check") continue;
      throw new CniError(ErrCode.Internal, `failed to add IP addr ${ip.address} to "${ifname}": invalid interface index`);
    }
    const cidr = parseCIDR(ip.address);
    if (!cidr && purpose === "add") throw invalid(`ips: invalid CIDR "${ip.address}"`);
    out.push(cidr ? { address: ip.address, cidr } : { address: ip.address });
  }
  return out;
}

/** The sysctls ADD writes for these addresses, as upstream's ConfigureIface and macvlan write them. */
function planSysctls(result: Result, ifname: string, addresses: readonly PlannedAddress[]): PlannedSysctl[] {
  const out: PlannedSysctl[] = [];
  // Gratuitous ARP / unsolicited NA on up and on address changes: best effort.
  if (result.ips?.length) {
    out.push({ key: `net/ipv4/conf/${ifname}/arp_notify`, value: "1", device: ifname, purpose: "notify", fatal: false, onlyIfDifferent: false, before: 0 });
    out.push({ key: `net/ipv6/conf/${ifname}/ndisc_notify`, value: "1", device: ifname, purpose: "notify", fatal: false, onlyIfDifferent: false, before: 0 });
  }
  // Before the first IPv6 address: IPv6 on (lo and the device), and addresses kept across a down.
  const first6 = addresses.findIndex((a) => a.cidr?.ip.family === 6);
  if (first6 >= 0) {
    for (const dev of ["lo", ifname]) {
      out.push({ key: `net/ipv6/conf/${dev}/disable_ipv6`, value: "0", device: dev, purpose: "enable-ipv6", fatal: true, onlyIfDifferent: true, before: first6 });
    }
    out.push({ key: `net/ipv6/conf/${ifname}/keep_addr_on_down`, value: "1", device: ifname, purpose: "keep-addr-on-down", fatal: true, onlyIfDifferent: false, before: first6 });
  }
  return out;
}

/**
 * The routes the kernel adds by itself for the addresses (a primary IPv4 address's link-scope
 * prefix route, added at link up; an IPv6 address's metric-256 prefix route): they exist when the
 * routes are written (after link up), so a write is predicted against them too. IPv6's fe80::/64 and the local table are
 * not modelled.
 */
function prefixRoutes(addresses: readonly PlannedAddress[], ifindex: number): KernelRoute[] {
  const out: KernelRoute[] = [];
  for (const a of addresses) {
    if (!a.cidr) continue;
    const v6 = a.cidr.ip.family === 6;
    // IPv4 adds none for a /32; IPv6 adds one for a /128 too (docs/kernel.md §15).
    if (!v6 && a.cidr.prefix >= 32) continue;
    const dst = networkOf(a.cidr);
    const route: KernelRoute = {
      family: v6 ? AF_INET6 : AF_INET, table: RT_TABLE_MAIN, dst, priority: v6 ? 256 : 0, tos: 0, scope: v6 ? 0 : RT_SCOPE_LINK,
      protocol: RTPROT_KERNEL, type: RTN_UNICAST, nexthops: [{ ifindex, weight: 1 }], foreign: false,
    };
    if (!v6) route.prefsrc = a.cidr.ip;
    // A second address of the same subnet is secondary: no second prefix route.
    if (!out.some((r) => sameKey(r, route))) out.push(route);
  }
  return out;
}

/**
 * The routes of one prefix in one (family, table), every type, in the kernel's order. A kernel
 * state that answers per prefix as well (`at`, as RouteTables in routes.ts does) is asked that
 * way, so only those routes are materialised; any other is filtered.
 */
export function routesAt(kernel: KernelState, family: number, table: number, dst: CIDR): readonly KernelRoute[] {
  const k = kernel as KernelState & { at?: (family: number, table: number, dst: CIDR) => readonly KernelRoute[] };
  return k.at ? k.at(family, table, dst) : kernel.routes(family, table).filter((r) => sameDst(r.dst, dst));
}

/**
 * Tells a kernel state that reads lazily which keys will be looked at (`expect`, as RouteTables
 * in routes.ts has), so one read of each table serves them all; any other state ignores it.
 */
export function expectKeys(kernel: KernelState, keys: readonly RouteKey[]): void {
  (kernel as KernelState & { expect?: (keys: Iterable<RouteKey>) => unknown }).expect?.(keys);
}

/** A kernel state with no routes: what a plan says before any route is read (CHECK needs no more). */
export const NO_ROUTES: KernelState = { routes: () => [] };

/** The kernel's routes as the plan changes them, one prefix at a time, read on first use. */
class Model {
  private prefixes = new Map<string, KernelRoute[]>();
  constructor(private readonly kernel: KernelState, private readonly added: readonly KernelRoute[]) {}

  /** The routes with the key's family, table and dst (so every route of its slot), in order. */
  prefix(key: RouteKey): KernelRoute[] {
    const id = `${key.family}/${key.table}/${key.dst.prefix}/${key.dst.ip.bytes.join(".")}`;
    let t = this.prefixes.get(id);
    if (!t) {
      t = [...routesAt(this.kernel, key.family, key.table, key.dst)];
      for (const r of this.added) {
        if (r.family !== key.family || r.table !== key.table || !sameDst(r.dst, key.dst)) continue;
        // Appended, as the kernel adds them; one that is already there is not added twice.
        if (!t.some((x) => x.type === RTN_UNICAST && sameKey(x, r) && x.nexthops.every((nh) => hasNexthop(r.nexthops, nh)))) t.push(r);
      }
      this.prefixes.set(id, t);
    }
    return t;
  }

  /** Every nexthop of the unicast routes with `key`, as the plan leaves them. */
  held(key: RouteKey): Nexthop[] {
    return heldIn(this.prefix(key), key);
  }
}

/** Every nexthop of the unicast routes with `key` among `routes`. */
function heldIn(routes: readonly KernelRoute[], key: RouteKey): Nexthop[] {
  return routes.filter((r) => r.type === RTN_UNICAST && sameKey(r, key)).flatMap((r) => r.nexthops);
}

function newRoute(set: NexthopSet, nexthops: Nexthop[]): KernelRoute {
  const r: KernelRoute = { ...set.key, protocol: RTPROT_BOOT, type: RTN_UNICAST, nexthops, foreign: false };
  if (set.mtu) r.mtu = set.mtu;
  if (set.advmss) r.advmss = set.advmss;
  return r;
}

/** Predicts one write against the model and applies it there (a refused write changes nothing). */
function predict(model: Model, w: RouteWrite): PlannedWrite {
  const { key } = w.set;
  const table = model.prefix(key);
  if (key.family === AF_INET6) {
    const at = table.findIndex((r) => r.type === RTN_UNICAST && sameKey(r, key));
    const current = table[at];
    const adds = w.how === "upstream" || !current ? w.set.nexthops : w.set.nexthops.filter((nh) => !hasNexthop(current.nexthops, nh));
    const op: RouteOp = w.how === "upstream" ? "upstream" : adds.length === 0 ? "none" : current ? "join" : "create";
    if (current) table[at] = { ...current, nexthops: union(current.nexthops, adds) };
    else table.push(newRoute(w.set, adds));
    return { ...w, op, adds };
  }
  const at = table.findIndex((r) => sameSlot(r, key));
  if (w.how === "upstream") {
    // NLM_F_CREATE alone puts the new route in front of the slot's routes.
    table.splice(at < 0 ? table.length : at, 0, newRoute(w.set, w.set.nexthops));
    return { ...w, op: "upstream", adds: w.set.nexthops };
  }
  const first = table[at];
  const adds = first ? w.set.nexthops.filter((nh) => !hasNexthop(first.nexthops, nh)) : w.set.nexthops;
  if (adds.length === 0) return { ...w, op: "none", adds };
  if (!first) {
    table.push(newRoute(w.set, adds));
    return { ...w, op: "create", adds };
  }
  const why = cannotRewrite(first, key);
  if (why) return { ...w, op: "replace", adds, refused: `cannot join route ${keyText(key)}: ${why}` };
  table[at] = { ...first, nexthops: union(first.nexthops, adds) };
  return { ...w, op: "replace", adds };
}

/**
 * The desired state of one interface after ADD, and how to get there from `input.kernel`.
 * Throws what ADD throws for a result it refuses (route fields first, then addresses, as ADD
 * validates them); a write the kernel's routes do not allow is not thrown but `refused`.
 */
export function planInterface(input: PlanInput): InterfacePlan {
  const { ifname, ifindex, result, ecmp } = input;
  const purpose = input.purpose ?? "add";
  if (purpose === "add" && !result.interfaces?.length) throw new CniError(ErrCode.Internal, "no interfaces to configure");
  const planned = planRoutes(result, ifname, ifindex, ecmp, input.routesAt);
  const addresses = planAddresses(result, ifname, purpose);
  // Routes wait for DAD whenever IPv6 routes go through the interface, not only with a gateway on
  // an address: a route that exists while the address is tentative sends flows out of this
  // interface with another interface's source address (docs/multipath.md §6).
  const settle = defaultGateways(result, ifname).v6 !== undefined || planned.some((w) => w.set.key.family === AF_INET6);
  expectKeys(input.kernel, planned.map((w) => w.set.key));
  const model = new Model(input.kernel, prefixRoutes(addresses, ifindex));
  const routes: RoutePlan[] = [];
  for (const w of planned) {
    const key = w.set.key;
    if (!routes.some((r) => sameKey(r.key, key))) routes.push({ key, before: heldIn(routesAt(input.kernel, key.family, key.table, key.dst), key), after: [], writes: [] });
  }
  const writes = planned.map((w) => predict(model, w));
  for (const w of writes) routes.find((r) => sameKey(r.key, w.set.key))!.writes.push(w);
  for (const r of routes) r.after = model.held(r.key);
  return { link: { ifname, ifindex, up: true }, addresses, sysctls: planSysctls(result, ifname, addresses), settle, writes, routes };
}

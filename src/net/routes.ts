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
import { codec, type RouteDst } from "../netlink/codec";
import { dstKey } from "../netlink/codec/route";
import { AF_INET, AF_INET6, ESRCH, RTN_UNICAST, RTNH_F_ONLINK, RTPROT_BOOT, RTPROT_RA } from "../netlink/constants";
import { formatIP, type CIDR } from "../ip";
import { effectiveMetric, keyText, sameGateway, sameKey, sameSlot, type RouteKey } from "../netlink/key";
import {
  deleteRoute, dumpRoutes, listRoutes, routeFromRow, writeRoute, type KernelRoute, type Nexthop, type RouteAttrs, type WriteMode,
} from "../netlink/route";
import { NetlinkError, type NetlinkSocket } from "../netlink/socket";
import { cannotRewrite, difference, hasNexthop, sameNexthop, union, type NexthopSet } from "./nexthops";
import type { KernelState } from "./state";
import type { UndoLog } from "./undo";

export type { NexthopSet } from "./nexthops";

function describe(set: NexthopSet): string {
  const hops = set.nexthops.map((nh) => `${nh.gateway ? formatIP(nh.gateway) : "direct"} dev #${nh.ifindex} weight ${nh.weight}`).join(", ");
  return `route ${keyText(set.key)} nexthops [${hops}]`;
}

// ---- RouteTables: one filtered read per (family, table), kept current with our own writes ----

/** A prefix as an index key (codec `dstKey`): IPv4 as one number, IPv6 as text. */
type DstKey = number | string;

function dstKeyOf(family: number, dst: CIDR): DstKey {
  const b = dst.ip.bytes;
  return dstKey(family, new DataView(b.buffer, b.byteOffset, b.byteLength), 0, dst.prefix);
}

/** A prefix as the codec's route filter takes it. */
const routeDst = (dst: CIDR): RouteDst => ({ dst: dst.ip.bytes, dstLen: dst.prefix });

/** The routes of one prefix as read (or as written since). */
interface Bucket {
  routes: KernelRoute[];
  /** A write went through that the model cannot follow exactly: the next look re-reads the table. */
  stale?: boolean;
}

/** One read of a (family, table): the routes of the prefixes it was asked for, or of all. */
interface Table {
  /** Every prefix of the table was materialised (KernelState.routes). */
  complete: boolean;
  /** The prefixes the read materialised (a prefix in it without a bucket has no route). */
  read: ReadonlySet<DstKey>;
  buckets: Map<DstKey, Bucket>;
}

const tableId = (family: number, table: number) => `${family}/${table}`;

/** RTAX_MTU and RTAX_ADVMSS out of an RTA_METRICS payload. */
function metricOf(raw: Uint8Array, type: number): number | undefined {
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let a = 0; a + 4 <= raw.length; ) {
    const len = dv.getUint16(a, true);
    if (len < 4) break;
    if ((dv.getUint16(a + 2, true) & 0x3fff) === type && len === 8) return dv.getUint32(a + 4, true) || undefined;
    a += (len + 3) & ~3;
  }
  return undefined;
}

/**
 * The route a successful write of `nexthops` under `key` leaves, as a dump would report it:
 * IPv6 at scope universe with tos 0 and its effective metric, a single path
 * at weight 1 (a dump does not report the weight of a route with one nexthop), nexthop flags as
 * written (onlink).
 */
function modelRoute(key: RouteKey, nexthops: readonly Nexthop[], attrs: RouteAttrs = {}): KernelRoute {
  const v6 = key.family === AF_INET6;
  const hops = nexthops.map((nh) => ({
    gateway: nh.gateway, ifindex: nh.ifindex,
    weight: nexthops.length === 1 ? 1 : nh.weight, flags: (nh.flags ?? 0) & RTNH_F_ONLINK,
  }));
  const route: KernelRoute = {
    family: key.family, table: key.table, dst: key.dst, priority: effectiveMetric(key.family, key.priority),
    tos: v6 ? 0 : key.tos, scope: v6 ? 0 : key.scope, protocol: attrs.protocol ?? RTPROT_BOOT, type: RTN_UNICAST,
    nexthops: hops, foreign: false,
  };
  if (attrs.prefsrc) route.prefsrc = attrs.prefsrc;
  const raw = attrs.metricsRaw?.length ? attrs.metricsRaw : undefined;
  const mtu = raw ? metricOf(raw, 2 /* RTAX_MTU */) : attrs.mtu || undefined;
  const advmss = raw ? metricOf(raw, 8 /* RTAX_ADVMSS */) : attrs.advmss || undefined;
  if (mtu) route.mtu = mtu;
  if (advmss) route.advmss = advmss;
  if (raw) route.metricsRaw = raw;
  return route;
}

/**
 * Puts a new slot's route where the kernel keeps it among the prefix's others: IPv4 orders them
 * by tos (highest first), then metric; IPv6 by metric, a new route after those of equal metric.
 */
function insertSlot(list: KernelRoute[], r: KernelRoute): void {
  const at = r.family === AF_INET6
    ? list.findIndex((x) => x.priority > r.priority)
    : list.findIndex((x) => x.tos < r.tos || (x.tos === r.tos && x.priority >= r.priority));
  if (at < 0) list.push(r);
  else list.splice(at, 0, r);
}

/** IPv6 merges a gateway nexthop into a route as a sibling only when the route qualifies for ECMP. */
function ecmpCapable(r: KernelRoute): boolean {
  return r.type === RTN_UNICAST && r.protocol !== RTPROT_RA && !r.foreign && r.nexthops.every((nh) => nh.gateway !== undefined);
}

/**
 * The pod's routes for one command: each (family, table) is read at most once, with one dump the
 * kernel filters by family and table (every route type: the IPv4 slot needs them); of its rows,
 * only the prefixes declared with `expect` (or looked at) become routes. Writes made through
 * `write`/`remove` update the read, so later keys of the same command see earlier writes; a
 * write whose outcome the model cannot follow exactly (or that failed) marks its prefix stale,
 * and the next look at it reads the table again. Valid while nobody else changes these tables:
 * make a new one after steps that do (an enslave, an undo run after other undos).
 */
export class RouteTables implements KernelState {
  private readonly tables = new Map<string, Table>();
  /** Per table, the prefixes declared with `expect` or looked at: what a read materialises. */
  private readonly wanted = new Map<string, Map<DstKey, RouteDst>>();
  private undoStep = -2;

  constructor(readonly sock: NetlinkSocket) {}

  /**
   * Declares the keys the command will look at, before the first look: the one read of each
   * table then materialises the routes of all of them (and only those). A prefix looked at
   * without being declared costs a second read of its table.
   */
  expect(keys: Iterable<RouteKey>): this {
    for (const k of keys) this.want(tableId(k.family, k.table)).set(dstKeyOf(k.family, k.dst), routeDst(k.dst));
    return this;
  }

  /** Every route of `family` in `table`, every type; same-prefix routes in the kernel's order. */
  routes(family: number, table: number): readonly KernelRoute[] {
    const id = tableId(family, table);
    let t = this.tables.get(id);
    if (!t || !t.complete || [...t.buckets.values()].some((b) => b.stale)) {
      t = this.read(family, table, true);
      this.tables.set(id, t);
    }
    return [...t.buckets.values()].flatMap((b) => b.routes);
  }

  /** The routes (every type) with destination `dst` in (family, table), in the kernel's order. */
  at(family: number, table: number, dst: CIDR): readonly KernelRoute[] {
    const id = tableId(family, table);
    const k = dstKeyOf(family, dst);
    let t = this.tables.get(id);
    if (t && (t.buckets.get(k)?.stale || !(t.complete || t.read.has(k)))) t = undefined;
    if (!t) {
      this.want(id).set(k, routeDst(dst));
      t = this.read(family, table, false);
      this.tables.set(id, t);
    }
    return t.buckets.get(k)?.routes ?? [];
  }

  /** Every IPv4 route the kernel would match `key` against, in its order (first = REPLACE target). */
  slot(key: RouteKey): KernelRoute[] {
    return this.at(key.family, key.table, key.dst).filter((r) => sameSlot(r, key));
  }

  /** The unicast route holding `key`, if the kernel has one. */
  find(key: RouteKey): KernelRoute | undefined {
    return this.at(key.family, key.table, key.dst).find((r) => r.type === RTN_UNICAST && sameKey(r, key));
  }

  /** Forgets what was read: the next look at a table reads it again. */
  invalidate(): void {
    this.tables.clear();
  }

  /**
   * Called by an undo before it looks: the routes may have changed since the forward steps, or
   * since this set's previous undo if other undos ran in between, so the read is dropped then.
   */
  beforeUndo(log: UndoLog): void {
    if (log.undoing !== this.undoStep + 1) this.invalidate();
    this.undoStep = log.undoing;
  }

  /** Writes one route (writeRoute) and records what the kernel now holds. */
  write(mode: WriteMode, key: RouteKey, nexthops: readonly Nexthop[], attrs?: RouteAttrs): void {
    this.guard(key, () => writeRoute(this.sock, mode, key, nexthops, attrs));
    const list = this.cached(key);
    if (!list) return;
    const model = modelRoute(key, nexthops, attrs);
    const inSlot = list.flatMap((r, i) => (sameSlot(r, key) ? [i] : []));
    if (key.family !== AF_INET6) {
      if (mode === "create" && inSlot.length) return this.stale(key);
      if (mode === "replace" && inSlot.length) list[inSlot[0]] = model;
      else if (mode === "prepend" && inSlot.length) list.splice(inSlot[0], 0, model);
      else if (mode === "append" && inSlot.length) list.splice(inSlot[inSlot.length - 1] + 1, 0, model);
      else insertSlot(list, model);
      return;
    }
    const gateways = nexthops.every((nh) => nh.gateway !== undefined);
    if (mode !== "create" && mode !== "prepend") return this.stale(key);
    if (inSlot.length === 0) {
      // A new route: one nexthop, or siblings of one multipath route (gateway nexthops only).
      if (nexthops.length === 1 || gateways) insertSlot(list, model);
      else this.stale(key);
      return;
    }
    // The kernel adds gateway nexthops as siblings of the first same-metric route that can have them.
    const at = inSlot.find((i) => ecmpCapable(list[i])) ?? -1;
    const head = list[at];
    if (mode === "create" || !gateways || !head || head !== this.find(key)) return this.stale(key);
    const siblings = model.nexthops.map((nh) => ({ ...nh, weight: nexthops.find((x) => sameNexthop(x, nh))!.weight }));
    list[at] = { ...head, nexthops: [...head.nexthops, ...siblings] };
    // The head's own weight is reported only now that it has siblings: it may not be 1.
    if (head.nexthops.length === 1) this.stale(key);
  }

  /** Deletes one route (deleteRoute) and records it; the entry is the one the kernel picks. */
  remove(key: RouteKey, nexthops: readonly Nexthop[] = []): void {
    this.guard(key, () => deleteRoute(this.sock, key, nexthops));
    const list = this.cached(key);
    if (!list) return;
    if (key.family !== AF_INET6) {
      // The first unicast alias of the slot whose nexthops the request's start with (the
      // kernel's match); an entry that is not exactly the one meant leaves the model unsure.
      const single = nexthops.length === 1 && nexthops[0].weight === 1;
      const i = list.findIndex((r) => r.type === RTN_UNICAST && sameSlot(r, key) &&
        (nexthops.length === 0 ||
          (single ? sameNexthop(r.nexthops[0], nexthops[0]) : r.nexthops.length <= nexthops.length && r.nexthops.every((nh, k) => sameNexthop(nh, nexthops[k])))));
      if (i < 0) return this.stale(key);
      const exact = list[i].nexthops.length === nexthops.length && list[i].nexthops.every((nh, k) => sameNexthop(nh, nexthops[k]));
      list.splice(i, 1);
      if (nexthops.length && !exact) this.stale(key);
      return;
    }
    // IPv6: one request per nexthop; the first same-metric entry through its device (and gateway).
    for (const nh of nexthops) {
      const metric = effectiveMetric(key.family, key.priority);
      const i = list.findIndex((r) => r.priority === metric && r.nexthops.some((x) => x.ifindex === nh.ifindex && (nh.gateway === undefined || sameGateway(x.gateway, nh.gateway))));
      if (i < 0 || nexthops.length !== 1) return this.stale(key);
      const r = list[i];
      const k = r.nexthops.findIndex((x) => x.ifindex === nh.ifindex && (nh.gateway === undefined || sameGateway(x.gateway, nh.gateway)));
      if (nh.gateway === undefined || r.nexthops.length === 1) {
        list.splice(i, 1);
      } else {
        list[i] = { ...r, nexthops: r.nexthops.filter((_, j) => j !== k) };
        // The first sibling held the route's reported attributes; the next one's are unknown here.
        if (k === 0) this.stale(key);
      }
    }
    if (nexthops.length === 0) this.stale(key);
  }

  private guard(key: RouteKey, write: () => void): void {
    try {
      write();
    } catch (e) {
      this.stale(key);
      throw e;
    }
  }

  private stale(key: RouteKey): void {
    const t = this.tables.get(tableId(key.family, key.table));
    if (!t) return;
    const k = dstKeyOf(key.family, key.dst);
    const b = t.buckets.get(k);
    if (b) b.stale = true;
    else t.buckets.set(k, { routes: [], stale: true });
  }

  /** The routes of key's prefix when its table's read holds them, for a write to update. */
  private cached(key: RouteKey): KernelRoute[] | undefined {
    const t = this.tables.get(tableId(key.family, key.table));
    const k = dstKeyOf(key.family, key.dst);
    if (!t || !(t.complete || t.read.has(k))) return undefined;
    let b = t.buckets.get(k);
    if (!b) t.buckets.set(k, (b = { routes: [] }));
    return b.stale ? undefined : b.routes;
  }

  private want(id: string): Map<DstKey, RouteDst> {
    let s = this.wanted.get(id);
    if (!s) this.wanted.set(id, (s = new Map()));
    return s;
  }

  /**
   * One dump of (family, table), filtered by the kernel; the wanted prefixes (or all)
   * materialised. For the wanted prefixes the codec's route filter drops every other route
   * before it is parsed (dumpRoutes), so the rows are those prefixes' only.
   */
  private read(family: number, table: number, complete: boolean): Table {
    const wanted = complete ? undefined : this.want(tableId(family, table));
    const want = wanted && new Set(wanted.keys());
    const rows = dumpRoutes(this.sock, family, { table }, wanted && [...wanted.values()]);
    const buckets = new Map<DstKey, Bucket>();
    for (const [k, list] of rows.rowsByDst(family, table, want)) buckets.set(k, { routes: list.map((i) => routeFromRow(rows, i)) });
    return { complete, read: want ?? new Set(), buckets };
  }
}

/** Adds the nexthops of `set` to the route under its key, creating the route if needed. */
export function joinNexthops(tables: RouteTables, set: NexthopSet, log?: UndoLog): void {
  const { key } = set;
  const own: RouteAttrs = { ...set.attrs, mtu: set.mtu ?? set.attrs?.mtu, advmss: set.advmss ?? set.attrs?.advmss };
  let added: Nexthop[];
  if (key.family === AF_INET6) {
    const current = tables.find(key);
    added = current ? set.nexthops.filter((nh) => !hasNexthop(current.nexthops, nh)) : set.nexthops;
    if (added.length === 0) return;
    tables.write(current ? "prepend" : "create", key, added, own);
  } else {
    const first = tables.slot(key)[0];
    added = first ? set.nexthops.filter((nh) => !hasNexthop(first.nexthops, nh)) : set.nexthops;
    if (added.length === 0) return;
    if (!first) {
      tables.write("create", key, added, own);
    } else {
      const why = cannotRewrite(first, key);
      if (why) throw new CniError(ErrCode.InvalidNetworkConfig, `cannot join route ${keyText(key)}: ${why}`);
      // The existing route's attributes (src, metrics, protocol) win over the new set's.
      tables.write("replace", key, union(first.nexthops, added), first);
    }
  }
  if (log) {
    log.push(`add ${describe({ ...set, nexthops: added })}`, () => {
      tables.beforeUndo(log);
      leaveNexthops(tables, key, added);
    });
  }
}

/**
 * Removes `remove` from the route under `key` (the whole route when nothing remains). Returns the
 * nexthops that were actually removed.
 */
export function leaveNexthops(tables: RouteTables, key: RouteKey, remove: readonly Nexthop[], log?: UndoLog): Nexthop[] {
  let removed: Nexthop[];
  let attrs: { mtu?: number; advmss?: number; attrs?: RouteAttrs } = {};
  if (key.family === AF_INET6) {
    const route = tables.find(key);
    removed = route?.nexthops.filter((nh) => hasNexthop(remove, nh)) ?? [];
    if (route) attrs = { mtu: route.mtu, advmss: route.advmss, attrs: attrsOf(route) };
    for (const nh of removed) tables.remove(key, [nh]);
  } else {
    const slot = tables.slot(key);
    const route = slot.find((r) => r.type === RTN_UNICAST && r.nexthops.some((nh) => hasNexthop(remove, nh)));
    if (!route) return [];
    removed = route.nexthops.filter((nh) => hasNexthop(remove, nh));
    const remaining = difference(route.nexthops, removed);
    attrs = { mtu: route.mtu, advmss: route.advmss, attrs: attrsOf(route) };
    if (remaining.length === 0) {
      tables.remove(route, route.nexthops);
    } else {
      if (route.foreign) {
        throw new CniError(ErrCode.Internal, `cannot remove nexthops from route ${keyText(key)}: it has attributes nexthop cannot write back`);
      }
      rewriteIpv4(tables, route, slot[0] === route, remaining);
    }
  }
  if (removed.length && log) {
    log.push(`remove nexthops from route ${keyText(key)}`, () => {
      tables.beforeUndo(log);
      joinNexthops(tables, { key, nexthops: removed, ...attrs });
    });
  }
  return removed;
}

/** The attributes of a kernel route that a rewrite or a move writes back. */
export function attrsOf(r: KernelRoute): RouteAttrs {
  return { protocol: r.protocol, prefsrc: r.prefsrc, mtu: r.mtu, advmss: r.advmss, metricsRaw: r.metricsRaw };
}

function rewriteIpv4(tables: RouteTables, route: KernelRoute, isFirst: boolean, nexthops: Nexthop[]): void {
  // `route` is the read's own object, which the writes below replace: keep what it said.
  const was: KernelRoute = { ...route, nexthops: [...route.nexthops] };
  if (isFirst) {
    // REPLACE acts on the first route of the slot: atomic, no moment without a route.
    tables.write("replace", was, nexthops, was);
    return;
  }
  // Another route of the slot comes first (upstream's prepend semantics made it); rewrite this
  // one exactly: delete it, then add it back after the others.
  tables.remove(was, was.nexthops);
  tables.write("append", was, nexthops, was);
}

/**
 * Takes every nexthop through `ifindex` out of IPv4 routes it shares with other devices. Needed
 * before deleting a device: the kernel deletes a whole IPv4 multipath route when one of its
 * devices goes, including the nexthops through other devices (docs/kernel.md §5). Routes
 * that use only `ifindex` go with the device; IPv6 drops just the device's siblings by itself.
 * One dump filtered by the device finds them (every table); only the tables holding one are read
 * whole, once each, for the slot their rewrite needs.
 */
export function detachSharedRoutes(sock: NetlinkSocket, ifindex: number): number {
  let detached = 0;
  // Only multipath rows can be shared: the others are not materialised.
  const shared = listRoutes(sock, AF_INET, { oif: ifindex, want: (i) => codec.routes.nexthopCount(i) > 1 }).filter(
    (r) => r.nexthops.some((nh) => nh.ifindex === ifindex) && r.nexthops.some((nh) => nh.ifindex !== ifindex),
  );
  const tables = new RouteTables(sock).expect(shared);
  for (const r of shared) {
    try {
      detached += leaveNexthops(tables, r, r.nexthops.filter((nh) => nh.ifindex === ifindex)).length;
    } catch (e) {
      // Another DEL may have rewritten the route meanwhile; what is gone needs no removal.
      if (!(e instanceof NetlinkError && e.errno === ESRCH)) throw e;
    }
  }
  return detached;
}

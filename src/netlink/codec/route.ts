// Route messages (struct rtmsg + attributes, codec/route.ts): the request spec, its encoder and
// the row reader. The plain attributes (a number or an address, described in ROUTE_ATTRS of
// codec/layout.ts) are one line each in PLAIN, which gives their RouteSpec member, their encoding
// and their RouteRows reader; the other fields are described once in ROUTE and NEXTHOP.
import * as L from "../../../codec/layout.ts";
import {
  AF_INET, AF_INET6, RTM_DELROUTE, RTM_GETROUTE, RTM_NEWROUTE, RTN_ANYCAST, RTN_BROADCAST, RTN_LOCAL,
  RTN_MULTICAST, RTN_NAT, RTN_UNICAST, RTPROT_BOOT, RTM_F_CLONED,
  RTPROT_UNSPEC, RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_NOWHERE, RT_SCOPE_UNIVERSE, RT_TABLE_UNSPEC,
} from "../constants";
import {
  address, addrLen, attrField, type CodecBase, field, num, PlainAttrs, type PlainReaders, type PlainSpec, readField, Rows,
  uint, writeField,
} from "./base";

/** The plain attributes, by attribute type in L.ROUTE_ATTRS: RouteSpec members and RouteRows readers. */
const PLAIN = {
  /** RTA_PRIORITY, 0 if absent. */
  priority: num(6),
  /** RTA_OIF, 0 if absent (multipath routes have none: see nhIfindex). */
  oif: num(4),
  /** RTA_PREF (ICMPV6_ROUTER_PREF_*), 0 if absent. */
  pref: num(20),
  /** RTA_PREFSRC, undefined if absent. */
  prefsrc: address(7),
} as const;

const plain = new PlainAttrs(L.ROUTE_ATTRS, PLAIN, "route", field(L.RT_FAMILY, 0, "u8"));

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Most nexthops one encodeRoute() takes (RTA_MULTIPATH is limited to 64 KiB anyway). */
export const MAX_NEXTHOPS = L.SCRATCH_NH_CAP;

export interface NexthopSpec {
  ifindex: number;
  /** 1..256, default 1 (rtnh_hops = weight - 1). */
  weight?: number;
  /** RTNH_F_* */
  flags?: number;
  /** 4 or 16 bytes. */
  gateway?: Uint8Array;
  /** Set: the gateway is sent as RTA_VIA of this family instead of RTA_GATEWAY. */
  viaFamily?: number;
}

export interface RouteSpec extends PlainSpec<typeof PLAIN> {
  family: number;
  dstLen: number;
  tos?: number;
  /** Any table id; ids > 255 go in RTA_TABLE with rtm_table = RT_TABLE_UNSPEC. */
  table: number;
  /** Default RTPROT_BOOT for RTM_NEWROUTE, RTPROT_UNSPEC otherwise (as iproute2). */
  protocol?: number;
  /** Default as iproute2: UNIVERSE for IPv6; else HOST for local/nat, LINK for
   * broadcast/multicast/anycast; for unicast NOWHERE in RTM_DELROUTE, LINK in RTM_NEWROUTE
   * without gateway or nexthops; UNIVERSE otherwise. */
  scope?: number;
  /** Default RTN_UNICAST. */
  type?: number;
  /** rtm_flags */
  flags?: number;
  dst?: Uint8Array;
  gateway?: Uint8Array;
  viaFamily?: number;
  /** RTAX_MTU in RTA_METRICS (0 = unset). */
  mtu?: number;
  /** RTAX_ADVMSS in RTA_METRICS (0 = unset). */
  advmss?: number;
  /** RTA_METRICS payload to send verbatim (as a dump gave it); replaces mtu/advmss. */
  metricsRaw?: Uint8Array;
  /** Sent as RTA_MULTIPATH. */
  nexthops?: NexthopSpec[];
}

/** The route row's fixed-width fields: struct rtmsg, then the attributes kept as numbers. */
const ROUTE = {
  family: field(L.RT_FAMILY, 0, "u8"),
  dstLen: field(L.RT_DST_LEN, 0, "u8"),
  srcLen: field(L.RT_SRC_LEN, 0, "u8"),
  tos: field(L.RT_TOS, 0, "u8"),
  tableHdr: field(L.RT_TABLE_HDR, 0, "u8"),
  protocol: field(L.RT_PROTOCOL, 0, "u8"),
  scope: field(L.RT_SCOPE, 0, "u8"),
  type: field(L.RT_TYPE, 0, "u8"),
  flags: field(L.RT_FLAGS, 0, "u32"),
  present: field(L.RT_PRESENT, 0, "u32"),
  ...plain.fields,
  table: attrField(L.ROUTE_ATTRS, 15), // RTA_TABLE
  viaFamily: field(L.RT_VIA_FAMILY, L.RT_HAS_VIA, "u8"),
  mtu: field(L.RT_MTU, L.RT_HAS_METRICS, "u32"),
  advmss: field(L.RT_ADVMSS, L.RT_HAS_METRICS, "u32"),
  metricsLen: field(L.RT_METRICS_LEN, L.RT_HAS_METRICS, "u16"),
  nhStart: field(L.RT_NH_START, L.RT_HAS_MULTIPATH, "u32"),
  nhCount: field(L.RT_NH_COUNT, L.RT_HAS_MULTIPATH, "u32"),
} as const;

/** A nexthop row of RTA_MULTIPATH (struct rtnexthop + its gateway). */
const NEXTHOP = {
  flags: field(L.NH_FLAGS, 0, "u8"),
  hops: field(L.NH_HOPS, 0, "u8"),
  ifindex: field(L.NH_IFINDEX, 0, "i32"),
  gwFamily: field(L.NH_GW_FAMILY, 0, "u8"),
  isVia: field(L.NH_IS_VIA, 0, "u8"),
} as const;

function viaFamilyOf(v: number | undefined, what: string): number {
  const vf = uint(v, 8, `${what} viaFamily`);
  if (vf !== AF_INET && vf !== AF_INET6) throw new RangeError(`${what} viaFamily: ${vf} is not AF_INET or AF_INET6`);
  return vf;
}

/** iproute2's default scope (iproute_modify). */
function defaultScope(type: number, family: number, rtype: number, spec: RouteSpec): number {
  // Universe for IPv6, for RTM_GETROUTE and otherwise unless the type or a missing gateway says
  // host, link or nowhere.
  if (family === AF_INET6 || type === RTM_GETROUTE) return RT_SCOPE_UNIVERSE;
  if (rtype === RTN_LOCAL || rtype === RTN_NAT) return RT_SCOPE_HOST;
  if (rtype === RTN_BROADCAST || rtype === RTN_MULTICAST || rtype === RTN_ANYCAST) return RT_SCOPE_LINK;
  if (rtype === RTN_UNICAST || rtype === 0) {
    if (type === RTM_DELROUTE) return RT_SCOPE_NOWHERE;
    if (!spec.gateway && !spec.nexthops) return RT_SCOPE_LINK;
  }
  return RT_SCOPE_UNIVERSE;
}

function encodeNexthops(c: CodecBase, family: number, nhs: NexthopSpec[]): void {
  if (nhs.length === 0 || nhs.length > L.SCRATCH_NH_CAP) throw new RangeError(`route nexthops: 1..${L.SCRATCH_NH_CAP} expected, got ${nhs.length}`);
  const dv = c.dv;
  const base = c.stateWord(L.ST_SCRATCH_NH);
  c.u8.fill(0, base, base + nhs.length * L.NEXTHOP_ROW);
  nhs.forEach((nh, k) => {
    const p = base + k * L.NEXTHOP_ROW;
    const w = nh.weight ?? 1;
    if (!Number.isInteger(w) || w < 1 || w > 256) throw new RangeError(`nexthop ${k}: weight ${w} is not 1..256`);
    writeField(dv, p, NEXTHOP.flags, nh.flags, `nexthop ${k} flags`);
    writeField(dv, p, NEXTHOP.hops, w - 1, `nexthop ${k} hops`);
    writeField(dv, p, NEXTHOP.ifindex, nh.ifindex, `nexthop ${k} ifindex`);
    if (nh.gateway === undefined) return;
    if (nh.viaFamily !== undefined) {
      const vf = viaFamilyOf(nh.viaFamily, `nexthop ${k}`);
      c.putAddr(p + L.NH_GATEWAY, nh.gateway, addrLen(vf), `nexthop ${k} gateway (via)`);
      writeField(dv, p, NEXTHOP.gwFamily, vf, `nexthop ${k} viaFamily`);
      writeField(dv, p, NEXTHOP.isVia, 1, `nexthop ${k} via`);
    } else {
      c.putAddr(p + L.NH_GATEWAY, nh.gateway, addrLen(family), `nexthop ${k} gateway`);
      writeField(dv, p, NEXTHOP.gwFamily, family, `nexthop ${k} family`);
    }
  });
}

/** Encodes an RTM_*ROUTE request into the request region; returns its length. */
export function encodeRoute(c: CodecBase, type: number, nlFlags: number, seq: number, spec: RouteSpec): number {
  const s = c.scratch(type, nlFlags, seq);
  const dv = c.dv;
  const family = uint(spec.family, 8, "route family");
  const alen = addrLen(family);
  const rtype = spec.type ?? RTN_UNICAST;
  const table = uint(spec.table, 32, "route table");
  writeField(dv, s, ROUTE.family, family, "route family");
  writeField(dv, s, ROUTE.dstLen, spec.dstLen, "route dstLen");
  writeField(dv, s, ROUTE.tos, spec.tos, "route tos");
  writeField(dv, s, ROUTE.tableHdr, table > 255 ? RT_TABLE_UNSPEC : table, "route table");
  writeField(dv, s, ROUTE.protocol, spec.protocol ?? (type === RTM_NEWROUTE ? RTPROT_BOOT : RTPROT_UNSPEC), "route protocol");
  writeField(dv, s, ROUTE.scope, spec.scope ?? defaultScope(type, family, rtype, spec), "route scope");
  writeField(dv, s, ROUTE.type, rtype, "route type");
  writeField(dv, s, ROUTE.flags, spec.flags, "route flags");
  let present = 0;
  if (table > 255) present |= writeField(dv, s, ROUTE.table, table, "route table");
  if (spec.dst !== undefined) {
    c.putAddr(s + L.RT_DST, spec.dst, alen, "route dst");
    present |= L.RT_HAS_DST;
  }
  present |= plain.encode(c, s, spec, family);
  if (spec.gateway !== undefined) {
    if (spec.viaFamily !== undefined) {
      const vf = viaFamilyOf(spec.viaFamily, "route");
      c.putAddr(s + L.RT_GATEWAY, spec.gateway, addrLen(vf), "route gateway (via)");
      present |= writeField(dv, s, ROUTE.viaFamily, vf, "route viaFamily");
    } else {
      c.putAddr(s + L.RT_GATEWAY, spec.gateway, alen, "route gateway");
      present |= L.RT_HAS_GATEWAY;
    }
  }
  if (spec.mtu || spec.advmss) {
    present |= writeField(dv, s, ROUTE.mtu, spec.mtu, "route mtu");
    present |= writeField(dv, s, ROUTE.advmss, spec.advmss, "route advmss");
  }
  if (spec.metricsRaw?.length) {
    if (spec.metricsRaw.length > L.RT_METRICS_CAP) throw new RangeError(`route metricsRaw: ${spec.metricsRaw.length} bytes, at most ${L.RT_METRICS_CAP}`);
    c.u8.set(spec.metricsRaw, s + L.RT_METRICS_RAW);
    present |= writeField(dv, s, ROUTE.metricsLen, spec.metricsRaw.length, "route metricsRaw");
  }
  if (spec.nexthops !== undefined) {
    encodeNexthops(c, family, spec.nexthops);
    writeField(dv, s, ROUTE.nhStart, 0, "route nexthops");
    present |= writeField(dv, s, ROUTE.nhCount, spec.nexthops.length, "route nexthops");
  }
  return c.emit(s, ROUTE.present, present, "encodeRoute");
}

/** The readers of PLAIN, defined on the prototype by plain.install() below. */
export interface RouteRows extends PlainReaders<typeof PLAIN> {}

/**
 * A destination prefix as a map key: IPv4 as one number (the address bytes read as a u32 in
 * this machine's byte order, as `rowsByDst` reads them, × 64, + length), IPv6 as text of its four
 * words and length. `at` is where the address bytes start in `dv`.
 */
export function dstKey(family: number, dv: DataView, at: number, len: number): number | string {
  if (family !== AF_INET6) return dv.getUint32(at, LITTLE_ENDIAN) * 64 + len;
  const w = (k: number) => dv.getUint32(at + 4 * k, false).toString(16);
  return `${w(0)}:${w(1)}:${w(2)}:${w(3)}/${len}`;
}

/** A destination prefix the route filter keeps: its address bytes (4 or 16) and length. */
export interface RouteDst {
  dst: Uint8Array;
  dstLen: number;
}

/**
 * Sets the codec's route filter (codec/route.ts): until clearRouteFilter, a route message
 * becomes a row only if it is of `family` (AF_INET or AF_INET6), in `table` (0: any) and its
 * destination is one of `dsts`; the others are dropped before their attributes are parsed.
 * reset() keeps the filter. On an error (a bad destination) no filter is set.
 */
export function setRouteFilter(c: CodecBase, family: number, table: number, dsts: readonly RouteDst[]): void {
  if (family !== AF_INET && family !== AF_INET6) throw new RangeError(`route filter family: ${family} is not AF_INET or AF_INET6`);
  uint(table, 32, "route filter table");
  const alen = addrLen(family);
  const x = c.wasm();
  const keys = x.routeFilterKeys(dsts.length);
  if (keys === 0) throw new RangeError(`route filter: ${dsts.length} destinations do not fit (at most ${L.RF_MAX_KEYS})`);
  c.view(); // routeFilterKeys may have grown the memory: fresh views
  const u8 = c.u8;
  u8.fill(0, keys, keys + dsts.length * L.RF_KEY);
  dsts.forEach((d, k) => {
    const p = keys + k * L.RF_KEY;
    c.putAddr(p + L.RF_KEY_DST, d.dst, alen, `route filter destination ${k}`);
    if (!Number.isInteger(d.dstLen) || d.dstLen < 0 || d.dstLen > alen * 8) throw new RangeError(`route filter destination ${k}: length ${d.dstLen} is not 0..${alen * 8}`);
    u8[p + L.RF_KEY_LEN] = d.dstLen;
  });
  if (x.setRouteFilter(family, table, dsts.length) !== 1) throw new Error("route filter: the codec refused the keys");
}

/** Route rows (struct rtmsg + attributes); nexthops of RTA_MULTIPATH by (row, k). */
export class RouteRows extends Rows<typeof ROUTE> {
  constructor(c: CodecBase) {
    super(c, "route", ROUTE);
  }

  private nh(i: number, k: number): number {
    const n = this.get(i, "nhCount");
    if (!(k >= 0 && k < n) || !Number.isInteger(k)) throw new RangeError(`route ${i}: nexthop ${k} out of range (count ${n})`);
    return this.c.nhBase + (this.get(i, "nhStart") + k) * L.NEXTHOP_ROW;
  }

  private addr(p: number, family: number): Uint8Array {
    return this.c.u8.slice(p, p + addrLen(family));
  }

  family(i: number): number { return this.get(i, "family"); }
  dstLen(i: number): number { return this.get(i, "dstLen"); }
  srcLen(i: number): number { return this.get(i, "srcLen"); }
  tos(i: number): number { return this.get(i, "tos"); }
  /** RTA_TABLE if present, else rtm_table. */
  table(i: number): number { return this.has(i, "table") ? this.get(i, "table") : this.get(i, "tableHdr"); }
  protocol(i: number): number { return this.get(i, "protocol"); }
  scope(i: number): number { return this.get(i, "scope"); }
  /** rtm_type (RTN_*). */
  routeType(i: number): number { return this.get(i, "type"); }
  /** rtm_flags */
  flags(i: number): number { return this.get(i, "flags"); }
  /** RTA_DST; zero bytes (4 or 16) if absent. */
  dst(i: number): Uint8Array { return this.addr(this.row(i) + L.RT_DST, this.family(i)); }
  /** RTA_GATEWAY, or the address of RTA_VIA (see viaFamily). */
  gateway(i: number): Uint8Array | undefined {
    const p = this.present(i);
    if (p & L.RT_HAS_VIA) return this.addr(this.row(i) + L.RT_GATEWAY, this.viaFamily(i));
    if (p & L.RT_HAS_GATEWAY) return this.addr(this.row(i) + L.RT_GATEWAY, this.family(i));
    return undefined;
  }
  /** Family of RTA_VIA, 0 when the gateway came as RTA_GATEWAY or there is none. */
  viaFamily(i: number): number { return this.get(i, "viaFamily"); }
  /** RTAX_MTU, 0 if unset. */
  mtu(i: number): number { return this.get(i, "mtu"); }
  /** RTAX_ADVMSS, 0 if unset. */
  advmss(i: number): number { return this.get(i, "advmss"); }
  /** The RTA_METRICS payload as received, if it was kept (see RT_METRICS_CAP). */
  metricsRaw(i: number): Uint8Array | undefined {
    const n = this.get(i, "metricsLen");
    const r = this.row(i);
    return n ? this.c.u8.slice(r + L.RT_METRICS_RAW, r + L.RT_METRICS_RAW + n) : undefined;
  }
  /** The message had attributes the row cannot hold: re-emitting it would lose them. */
  foreign(i: number): boolean { return (this.present(i) & L.RT_HAS_FOREIGN) !== 0; }
  /** Number of RTA_MULTIPATH nexthops (0 for a single-path route). */
  nexthopCount(i: number): number { return this.get(i, "nhCount"); }
  nhIfindex(i: number, k: number): number { return readField(this.c.dv, this.nh(i, k), NEXTHOP.ifindex); }
  /** rtnh_hops + 1 */
  nhWeight(i: number, k: number): number { return readField(this.c.dv, this.nh(i, k), NEXTHOP.hops) + 1; }
  /** RTNH_F_* */
  nhFlags(i: number, k: number): number { return readField(this.c.dv, this.nh(i, k), NEXTHOP.flags); }
  nhGateway(i: number, k: number): Uint8Array | undefined {
    const p = this.nh(i, k);
    const f = readField(this.c.dv, p, NEXTHOP.gwFamily);
    return f ? this.addr(p + L.NH_GATEWAY, f) : undefined;
  }
  /** True when the route sends through `ifindex`: its RTA_OIF or any RTA_MULTIPATH nexthop. */
  usesIfindex(i: number, ifindex: number): boolean {
    // One row lookup, then the nexthops by address: vrf scans every row of a dump with this.
    const r = this.row(i);
    const dv = this.c.dv;
    const n = readField(dv, r, ROUTE.nhCount);
    if (n === 0) return readField(dv, r, ROUTE.oif) === ifindex;
    let p = this.c.nhBase + readField(dv, r, ROUTE.nhStart) * L.NEXTHOP_ROW;
    for (let k = 0; k < n; k++, p += L.NEXTHOP_ROW) if (readField(dv, p, NEXTHOP.ifindex) === ifindex) return true;
    return false;
  }
  /** Route messages the route filter dropped since the last reset(). */
  get dropped(): number {
    return this.c.stateWord(L.ST_RF_DROPPED);
  }

  /**
   * The rows that are routes (RTM_NEWROUTE, not cloned) of `family` in `table` (0: any) with a
   * destination whose key (`dstKey`) is in `want` (every destination when `want` is undefined),
   * grouped by that key in dump order. One pass over the row bytes, no object per row.
   */
  rowsByDst(family: number, table: number, want?: ReadonlySet<number | string>): Map<number | string, number[]> {
    const n = this.count;
    const out = new Map<number | string, number[]>();
    if (want?.size === 0 || n === 0) return out;
    // Word and byte views over the rows (rows are 4-byte aligned): cheaper than DataView calls
    // while the loop is still cold, which a CLI command's single pass always is.
    const base = this.c.bases.route;
    const w = new Uint32Array(this.c.u8.buffer, base, (n * L.ROUTE_ROW) / 4);
    const b = new Uint8Array(this.c.u8.buffer, base, n * L.ROUTE_ROW);
    const stride = L.ROUTE_ROW / 4;
    const v6 = family === AF_INET6;
    const dv = v6 ? new DataView(this.c.u8.buffer, base, n * L.ROUTE_ROW) : undefined;
    for (let i = 0, r = 0, q = 0; i < n; i++, r += stride, q += L.ROUTE_ROW) {
      if ((w[r + L.ROW_NLMSG_TYPE / 4] & 0xffff) !== RTM_NEWROUTE) continue;
      if (w[r + L.RT_FLAGS / 4] & RTM_F_CLONED) continue;
      if (b[q + L.RT_FAMILY] !== family) continue;
      if (table && (w[r + L.RT_PRESENT / 4] & L.RT_HAS_TABLE ? w[r + L.RT_TABLE / 4] : b[q + L.RT_TABLE_HDR]) !== table) continue;
      const key = v6 ? dstKey(family, dv!, q + L.RT_DST, b[q + L.RT_DST_LEN]) : w[r + L.RT_DST / 4] * 64 + b[q + L.RT_DST_LEN];
      if (want && !want.has(key)) continue;
      const rows = out.get(key);
      if (rows) rows.push(i);
      else out.set(key, [i]);
    }
    return out;
  }

  /** Family of the nexthop's RTA_VIA, 0 when its gateway came as RTA_GATEWAY or there is none. */
  nhViaFamily(i: number, k: number): number {
    const p = this.nh(i, k);
    return readField(this.c.dv, p, NEXTHOP.isVia) ? readField(this.c.dv, p, NEXTHOP.gwFamily) : 0;
  }
}

plain.install(RouteRows);

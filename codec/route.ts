// RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE: struct rtmsg + RTA_* <-> route row (+ nexthop rows).
//
//   struct rtmsg { u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags; }
//   RTA_MULTIPATH = sequence of struct rtnexthop { u16 len; u8 flags; u8 hops; i32 ifindex; }
//                   each followed by its own attributes (RTA_GATEWAY or RTA_VIA), len covering them
//
// The attributes are described in ROUTE_ATTRS (layout.ts), in the kernel's dump order so that
// parse -> emit of a dumped message is byte-exact: IPv4 fib_dump_info (TABLE DST PRIORITY METRICS
// PREFSRC {GATEWAY|VIA OIF | MULTIPATH}), IPv6 rt6_fill_node (TABLE DST PREFSRC METRICS PRIORITY
// {MULTIPATH | GATEWAY OIF} CACHEINFO PREF). Attributes the kernel never dumps for a family (PREF,
// CACHEINFO for IPv4) go last. The generic walk (walk.ts) does the plain ones; this file the
// AK_SPECIAL ones: RTA_VIA (struct rtvia), RTA_METRICS (a nest kept verbatim) and RTA_MULTIPATH.
import {
  ROUTE_ROW, NEXTHOP_ROW, RT_FAMILY, RT_FLAGS, RT_PRESENT, RT_GATEWAY, RT_VIA_FAMILY, RT_MTU,
  RT_ADVMSS, RT_NH_START, RT_NH_COUNT, RT_HAS_VIA, RT_HAS_MULTIPATH, RT_HAS_METRICS, NH_FLAGS,
  NH_HOPS, NH_GW_FAMILY, NH_IS_VIA, NH_IFINDEX, NH_GATEWAY, ST_ROUTE_BASE, ST_NH_BASE, ST_NH_COUNT,
  STATUS_MALFORMED, STATUS_NO_MEMORY, RT_METRICS_LEN, RT_METRICS_RAW, RT_METRICS_CAP, RT_HAS_FOREIGN,
  ROUTE_ATTRS, ST_RF_KEYS, ST_RF_CAP, ST_RF_DROPPED, RF_KEY, RF_KEY_DST, RF_KEY_LEN, RF_CAP_INIT, RF_MAX_KEYS,
} from "./layout";
import {
  NLMSG_HDRLEN, RTMSG_LEN, AF_INET, AF_INET6, RTA_GATEWAY, RTA_METRICS, RTA_MULTIPATH, RTA_VIA, RTAX_MTU,
  RTAX_ADVMSS, RTNH_LEN, RTA_DST, RTA_TABLE,
} from "./kernel";
import {
  align4, attrLen, attrType, putAddrSlot, wp, wfail, putZero, msgBegin, msgEnd, attrU32, attrBytes, attrVia,
  nestBegin, nestEnd, emitFail,
} from "./attr";
import { bump, commitRow, ensureRows, rowAt, openRow, stateWord, setStateWord } from "./tables";
import { buildIndex, emitAttrs, HOOK_FOREIGN, indexOf, ROUTE_INDEX, parseAttrs } from "./walk";

@inline function addrLen(family: u32): usize {
  return family == AF_INET6 ? 16 : 4;
}

@inline function setPresent(row: usize, bit: u32): void {
  store<u32>(row + RT_PRESENT, load<u32>(row + RT_PRESENT) | bit);
}

// struct rtvia payload -> (family, address) slot; false unless it is an IPv4 or IPv6 address of
// the right size.
function readVia(d: usize, dl: usize, famSlot: usize, addrSlot: usize): bool {
  if (dl < 2) return false;
  const fam = load<u16>(d);
  const n = dl - 2;
  if (!((fam == AF_INET && n == 4) || (fam == AF_INET6 && n == 16))) return false;
  store<u8>(famSlot, <u8>fam);
  memory.fill(addrSlot, 0, 16);
  memory.copy(addrSlot, d + 2, n);
  return true;
}

// Parses RTA_MULTIPATH into nexthop rows after the committed ones; returns how many, or -1.
let nhError: i32 = 0;
// Set by parseMultipath when a nexthop carried an attribute a nexthop row cannot hold.
let nhForeign = false;
function parseMultipath(d: usize, dl: usize, family: u32): i32 {
  const end = d + dl;
  const alen = addrLen(family);
  let q = d;
  let k: usize = 0;
  while (q < end) {
    if (end - q < RTNH_LEN) return -1;
    const n = <usize>load<u16>(q);
    if (n < RTNH_LEN || n > end - q) return -1;
    if (!ensureRows(ST_NH_BASE, NEXTHOP_ROW, k + 1)) {
      nhError = STATUS_NO_MEMORY;
      return -1;
    }
    const nh = rowAt(ST_NH_BASE, NEXTHOP_ROW, <usize>stateWord(ST_NH_COUNT) + k);
    store<u64>(nh, 0); // NEXTHOP_ROW = 24 bytes
    store<u64>(nh, 0, 8);
    store<u64>(nh, 0, 16);
    store<u8>(nh + NH_FLAGS, load<u8>(q, 2));
    store<u8>(nh + NH_HOPS, load<u8>(q, 3));
    store<i32>(nh + NH_IFINDEX, load<i32>(q, 4));
    const aend = q + n;
    let a = q + RTNH_LEN;
    while (a < aend) {
      const an = attrLen(a, aend);
      if (an == 0) return -1;
      const t = attrType(a);
      const ad = a + 4;
      const adl = an - 4;
      if (t == RTA_GATEWAY) {
        if (adl != alen) return -1;
        store<u8>(nh + NH_GW_FAMILY, <u8>family);
        store<u8>(nh + NH_IS_VIA, 0);
        putAddrSlot(nh + NH_GATEWAY, ad, adl);
      } else if (t == RTA_VIA) {
        if (!readVia(ad, adl, nh + NH_GW_FAMILY, nh + NH_GATEWAY)) return -1;
        store<u8>(nh + NH_IS_VIA, 1);
      } else {
        nhForeign = true;
      }
      a += align4(an);
    }
    k++;
    q += align4(n);
  }
  return <i32>k;
}

// RTA_METRICS: nested RTAX_* u32 values. MTU and ADVMSS are read into their fields; the whole
// payload is kept as received (when it fits) so that a rewrite of the route keeps every metric.
function parseMetrics(row: usize, d: usize, dl: usize): bool {
  if (dl <= <usize>RT_METRICS_CAP) {
    memory.copy(row + RT_METRICS_RAW, d, dl);
    store<u16>(row + RT_METRICS_LEN, <u16>dl);
  } else {
    setPresent(row, RT_HAS_FOREIGN);
  }
  const end = d + dl;
  let a = d;
  while (a < end) {
    const n = attrLen(a, end);
    if (n == 0) return false;
    const t = attrType(a);
    if (t == RTAX_MTU || t == RTAX_ADVMSS) {
      if (n != 8) return false;
      store<u32>(row + (t == RTAX_MTU ? RT_MTU : RT_ADVMSS), load<u32>(a, 4));
    }
    a += align4(n);
  }
  return true;
}

// RTA_VIA, RTA_METRICS and RTA_MULTIPATH (the AK_SPECIAL lines of ROUTE_ATTRS).
let nhUsed: i32 = 0;
export function parseRouteSpecial(row: usize, t: u32, d: usize, dl: usize, family: u32): i32 {
  const inet = family == AF_INET || family == AF_INET6;
  if (t == RTA_METRICS) {
    if (!parseMetrics(row, d, dl)) return STATUS_MALFORMED;
    setPresent(row, RT_HAS_METRICS);
  } else if (!inet) {
    return HOOK_FOREIGN;
  } else if (t == RTA_VIA) {
    if (!readVia(d, dl, row + RT_VIA_FAMILY, row + RT_GATEWAY)) return STATUS_MALFORMED;
    setPresent(row, RT_HAS_VIA);
  } else {
    // RTA_MULTIPATH: a repeated one replaces the earlier one (last attribute wins, as in nla_parse)
    nhError = STATUS_MALFORMED;
    nhForeign = false;
    nhUsed = parseMultipath(d, dl, family);
    if (nhUsed < 0) return nhError;
    setPresent(row, RT_HAS_MULTIPATH);
    if (nhForeign) setPresent(row, RT_HAS_FOREIGN);
  }
  return 0;
}

export function initRouteIndex(): void {
  buildIndex(ROUTE_ATTRS, indexOf(ROUTE_INDEX));
}

// ---- the route filter: which route messages become rows ----
//
// While set (setRouteFilter), a route message becomes a row only when its family is the
// filter's, its table (RTA_TABLE, else rtm_table) is the filter's (any when that is 0) and its
// destination (RTA_DST zero-padded to 16 bytes, zero when absent; and rtm_dst_len) is one of the
// filter's keys. The test runs before the attributes are parsed: rtm_dst_len against a bitmap of
// the keys' lengths (most messages of a large table stop there), then one walk of the attribute
// chain for RTA_TABLE and RTA_DST (the last of each wins, as in the parse), then a lookup in an
// open-addressing hash of the keys. A dropped message adds no row and no nexthop row, and is
// checked only as far as that walk reads it: its framing, and the sizes of RTA_TABLE and RTA_DST.
// reset() keeps the filter (a dump the kernel interrupted is repeated with it); the host clears it.
let rfOn = false;
let rfFamily: u32 = 0;
let rfTable: u32 = 0;
let rfKeys: usize = 0;
let rfSlots: usize = 0; // u32 per slot: key index + 1, 0 when free
let rfSlotMask: u32 = 0;
const rfLens = memory.data(20, 4); // bit n: some key has dst_len n (0..128)
const rfKey = memory.data(16, 8); // the destination of the message being tested

@inline function keyHash(p: usize, len: u32): u32 {
  let h: u32 = (len + 1) * 0x9e3779b1;
  h = (h ^ load<u32>(p)) * 0x85ebca77;
  h = (h ^ (h >>> 15) ^ load<u32>(p, 4)) * 0xc2b2ae3d;
  h = (h ^ (h >>> 13) ^ load<u32>(p, 8)) * 0x27d4eb2f;
  h = (h ^ (h >>> 16) ^ load<u32>(p, 12)) * 0x165667b1;
  return h ^ (h >>> 15);
}

@inline function sameKey(k: usize, p: usize, len: u32): bool {
  return (
    <u32>load<u8>(k + RF_KEY_LEN) == len &&
    load<u64>(k + RF_KEY_DST) == load<u64>(p) &&
    load<u64>(k + RF_KEY_DST, 8) == load<u64>(p, 8)
  );
}

// The key area, with room for `n` keys (and their hash slots); 0 when `n` is too large or memory
// is exhausted. Clears the filter: the host writes the keys there, then calls setRouteFilter.
export function routeFilterKeys(n: u32): usize {
  rfOn = false;
  if (n > <u32>RF_MAX_KEYS) return 0;
  let cap = stateWord(ST_RF_CAP);
  if (stateWord(ST_RF_KEYS) == 0 || cap < n) {
    let ncap: u32 = cap < <u32>RF_CAP_INIT ? <u32>RF_CAP_INIT : cap;
    while (ncap < n) ncap <<= 1;
    // the keys, then 2 * ncap u32 hash slots (load factor at most 1/2)
    const base = bump(<usize>ncap * <usize>RF_KEY + <usize>ncap * 8);
    if (base == 0) return 0;
    setStateWord(ST_RF_KEYS, <u32>base);
    setStateWord(ST_RF_CAP, ncap);
  }
  return <usize>stateWord(ST_RF_KEYS);
}

// Keeps only the route messages of `family` (AF_INET or AF_INET6) in `table` (0: any) whose
// destination is one of the first `n` keys of the key area. Returns 1, or 0 (and no filter)
// when the family is neither, `n` exceeds the area or a key's length exceeds the family's.
export function setRouteFilter(family: u32, table: u32, n: u32): u32 {
  rfOn = false;
  const keys = <usize>stateWord(ST_RF_KEYS);
  const cap = stateWord(ST_RF_CAP);
  if ((family != AF_INET && family != AF_INET6) || keys == 0 || n > cap) return 0;
  const maxLen: u32 = family == AF_INET6 ? 128 : 32;
  const slots = keys + <usize>cap * <usize>RF_KEY;
  const mask = cap * 2 - 1;
  memory.fill(rfLens, 0, 20);
  memory.fill(slots, 0, <usize>cap * 8);
  for (let i: u32 = 0; i < n; i++) {
    const k = keys + <usize>i * <usize>RF_KEY;
    const len = <u32>load<u8>(k + RF_KEY_LEN);
    if (len > maxLen) return 0;
    if (family == AF_INET) {
      store<u32>(k + RF_KEY_DST, 0, 4);
      store<u64>(k + RF_KEY_DST, 0, 8);
    }
    const lw = rfLens + ((<usize>len >> 5) << 2);
    store<u32>(lw, load<u32>(lw) | (<u32>1 << (len & 31)));
    let h = keyHash(k + RF_KEY_DST, len) & mask;
    for (;;) {
      const s = load<u32>(slots + (<usize>h << 2));
      if (s == 0) {
        store<u32>(slots + (<usize>h << 2), i + 1);
        break;
      }
      if (sameKey(keys + <usize>(s - 1) * <usize>RF_KEY, k + RF_KEY_DST, len)) break; // a repeated key
      h = (h + 1) & mask;
    }
  }
  rfFamily = family;
  rfTable = table;
  rfKeys = keys;
  rfSlots = slots;
  rfSlotMask = mask;
  rfOn = true;
  return 1;
}

// Every route message becomes a row again.
export function clearRouteFilter(): void {
  rfOn = false;
}

// 1 when the filter keeps the route message at `msg` (header length checked), 0 when it drops
// it, STATUS_MALFORMED when the attributes it reads are malformed.
function routeWanted(msg: usize, mlen: usize): i32 {
  const h = msg + NLMSG_HDRLEN;
  const family = <u32>load<u8>(h);
  if (family != rfFamily) return 0;
  const len = <u32>load<u8>(h, 1);
  if (len > 128 || (load<u32>(rfLens + ((<usize>len >> 5) << 2)) & (<u32>1 << (len & 31))) == 0) return 0;
  const alen = addrLen(family);
  let table = <u32>load<u8>(h, 4);
  let dst: usize = 0;
  const end = msg + mlen;
  let a = h + RTMSG_LEN;
  while (a < end) {
    const n = attrLen(a, end);
    if (n == 0) return STATUS_MALFORMED;
    const t = attrType(a);
    if (t == RTA_TABLE) {
      if (n != 8) return STATUS_MALFORMED;
      table = load<u32>(a, 4);
    } else if (t == RTA_DST) {
      if (n - 4 != alen) return STATUS_MALFORMED;
      dst = a + 4;
    }
    a += align4(n);
  }
  if (rfTable != 0 && table != rfTable) return 0;
  if (dst != 0) {
    putAddrSlot(rfKey, dst, alen);
  } else {
    store<u64>(rfKey, 0);
    store<u64>(rfKey, 0, 8);
  }
  let s = keyHash(rfKey, len) & rfSlotMask;
  let k = load<u32>(rfSlots + (<usize>s << 2));
  while (k != 0) {
    if (sameKey(rfKeys + <usize>(k - 1) * <usize>RF_KEY, rfKey, len)) return 1;
    s = (s + 1) & rfSlotMask;
    k = load<u32>(rfSlots + (<usize>s << 2));
  }
  return 0;
}

// Appends one route row for the message at `msg` (`mlen` bytes, already bounds-checked), unless
// the route filter drops it. Returns 0, STATUS_MALFORMED or STATUS_NO_MEMORY; on failure
// nothing is committed.
export function parseRoute(msg: usize, mlen: usize): i32 {
  if (mlen < NLMSG_HDRLEN + RTMSG_LEN) return STATUS_MALFORMED;
  if (rfOn) {
    const w = routeWanted(msg, mlen);
    if (w < 0) return w;
    if (w == 0) {
      setStateWord(ST_RF_DROPPED, stateWord(ST_RF_DROPPED) + 1);
      return 0;
    }
  }
  const row = openRow(ST_ROUTE_BASE, ROUTE_ROW, msg);
  if (row == 0) return STATUS_NO_MEMORY;
  memory.copy(row + RT_FAMILY, msg + NLMSG_HDRLEN, 8); // family .. type
  store<u32>(row + RT_FLAGS, load<u32>(msg + NLMSG_HDRLEN, 8));
  const family = <u32>load<u8>(msg + NLMSG_HDRLEN);
  const nhStart = stateWord(ST_NH_COUNT);
  store<u32>(row + RT_NH_START, nhStart);
  nhUsed = 0;
  const r = parseAttrs(row, msg + NLMSG_HDRLEN + RTMSG_LEN, msg + mlen, family, ROUTE_INDEX, RT_PRESENT, RT_HAS_FOREIGN);
  if (r != 0) return r;
  store<u32>(row + RT_NH_COUNT, <u32>nhUsed);
  setStateWord(ST_NH_COUNT, nhStart + <u32>nhUsed);
  commitRow(ST_ROUTE_BASE);
  return 0;
}

function emitMetrics(row: usize): void {
  const raw = <usize>load<u16>(row + RT_METRICS_LEN);
  if (raw != 0) {
    attrBytes(RTA_METRICS, row + RT_METRICS_RAW, raw);
    return;
  }
  const at = nestBegin(RTA_METRICS);
  const mtu = load<u32>(row + RT_MTU);
  const advmss = load<u32>(row + RT_ADVMSS);
  if (mtu != 0) attrU32(RTAX_MTU, mtu);
  if (advmss != 0) attrU32(RTAX_ADVMSS, advmss);
  nestEnd(at);
}

function emitMultipath(row: usize, nhTable: usize): void {
  const mp = nestBegin(RTA_MULTIPATH);
  const start = <usize>load<u32>(row + RT_NH_START);
  const count = <usize>load<u32>(row + RT_NH_COUNT);
  for (let k: usize = 0; k < count && !wfail; k++) {
    const nh = nhTable + (start + k) * NEXTHOP_ROW;
    const rtnh = putZero(RTNH_LEN);
    if (wfail) return;
    store<u8>(rtnh, load<u8>(nh + NH_FLAGS), 2);
    store<u8>(rtnh, load<u8>(nh + NH_HOPS), 3);
    store<i32>(rtnh, load<i32>(nh + NH_IFINDEX), 4);
    const gf = <u32>load<u8>(nh + NH_GW_FAMILY);
    if (gf != 0) {
      if (load<u8>(nh + NH_IS_VIA)) attrVia(RTA_VIA, <u16>gf, nh + NH_GATEWAY, addrLen(gf));
      else attrBytes(RTA_GATEWAY, nh + NH_GATEWAY, addrLen(gf));
    }
    if (wfail) return;
    const n = wp - rtnh;
    if (n > 0xffff) {
      emitFail();
      return;
    }
    store<u16>(rtnh, <u16>n);
  }
  nestEnd(mp);
}

export function emitRouteSpecial(row: usize, t: u32, family: u32, present: u32): void {
  if (t == RTA_METRICS) emitMetrics(row);
  else if (t == RTA_VIA) {
    const vf = <u32>load<u8>(row + RT_VIA_FAMILY);
    attrVia(RTA_VIA, <u16>vf, row + RT_GATEWAY, addrLen(vf));
  } else emitMultipath(row, emitNhTable);
}

let emitNhTable: usize = 0;

// Emits the route in `row` (its nexthops in the table at `nhTable`) at the current write
// position. The caller checks `wfail`.
export function emitRoute(row: usize, nhTable: usize): void {
  const m = msgBegin(row);
  const h = putZero(RTMSG_LEN);
  if (wfail) return;
  memory.copy(h, row + RT_FAMILY, 8);
  store<u32>(h, load<u32>(row + RT_FLAGS), 8);
  emitNhTable = nhTable;
  emitAttrs(row, <u32>load<u8>(row + RT_FAMILY), load<u32>(row + RT_PRESENT), ROUTE_ATTRS, ROUTE_INDEX);
  msgEnd(m);
}

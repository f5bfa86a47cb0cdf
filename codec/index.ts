// nexthop rtnetlink codec: the WebAssembly module's exports.
//
// No imports, no managed objects: the host calls init() once, receives datagrams straight into
// the receive region, calls parse(len), and reads the row tables through the state block
// (layout.ts). Encoders write one message into the request region and return its length
// (0 when it did not fit).
import {
  ROUTE_ROW, LINK_ROW, ADDR_ROW, RT_NH_COUNT, ST_STATUS, ST_ERROR_CODE, ST_ERROR_SEQ, ST_DUMP_INTR,
  ST_EXTACK_LEN, ST_EXTACK_OFFS, ST_HAS_OFFS, ST_MALFORMED_AT, ST_ROUTE_BASE, ST_ROUTE_COUNT,
  ST_NH_BASE, ST_NH_COUNT, ST_LINK_BASE, ST_LINK_COUNT, ST_ADDR_BASE, ST_ADDR_COUNT, ST_RECV,
  ST_REQUEST, ST_SCRATCH, ST_SCRATCH_NH, RECV_SIZE, REQUEST_SIZE, SCRATCH_NH_CAP, STATUS_MORE,
  STATUS_DONE, STATUS_ERROR, STATUS_ACK, STATUS_MALFORMED, STATUS_NO_MEMORY,
  NEIGH_ROW, ST_NEIGH_BASE, ST_NEIGH_COUNT, ST_RF_DROPPED,
} from "./layout";
import {
  NLMSG_HDRLEN, NLMSG_ERROR, NLMSG_DONE, NLM_F_REQUEST, NLM_F_DUMP, NLM_F_DUMP_INTR, RTM_NEWLINK,
  RTM_GETLINK, RTM_NEWADDR, RTM_GETADDR, RTM_NEWROUTE, RTM_GETROUTE, RTMSG_LEN, IFINFOMSG_LEN,
  IFADDRMSG_LEN, RTM_NEWNEIGH, RTM_GETNEIGH, NDMSG_LEN, RTA_TABLE, RTA_OIF,
} from "./kernel";
import { align4, attrU32, emitStart, wp, wfail, putZero } from "./attr";
import { state, stateWord, setStateWord, initRegions, rowAt } from "./tables";
import { parseRoute, emitRoute, initRouteIndex } from "./route";
export { routeFilterKeys, setRouteFilter, clearRouteFilter } from "./route";
import { parseLink, emitLink, initLinkIndex } from "./link";
import { parseAddr, emitAddr, initAddrIndex } from "./addr";
import { parseNeigh, emitNeigh, initNeighIndex } from "./neigh";
import { beginParse, parseError, parseDone } from "./error";

// Allocates every region and the initial tables (once); returns the state block's address,
// 0 when memory could not be grown.
export function init(): usize {
  if (!initRegions()) return 0;
  initRouteIndex();
  initLinkIndex();
  initAddrIndex();
  initNeighIndex();
  return state;
}

// Empties all tables and clears status, error, extack and dump-interrupted state (and the route
// filter's count of dropped messages; the filter itself stays).
export function reset(): void {
  setStateWord(ST_RF_DROPPED, 0);
  setStateWord(ST_ROUTE_COUNT, 0);
  setStateWord(ST_NH_COUNT, 0);
  setStateWord(ST_LINK_COUNT, 0);
  setStateWord(ST_ADDR_COUNT, 0);
  setStateWord(ST_NEIGH_COUNT, 0);
  setStateWord(ST_STATUS, <u32>STATUS_MORE);
  setStateWord(ST_ERROR_CODE, 0);
  setStateWord(ST_ERROR_SEQ, 0);
  setStateWord(ST_DUMP_INTR, 0);
  setStateWord(ST_EXTACK_LEN, 0);
  setStateWord(ST_EXTACK_OFFS, 0);
  setStateWord(ST_HAS_OFFS, 0);
  setStateWord(ST_MALFORMED_AT, 0);
}

// Walks every message in the first `len` bytes of the receive region and appends a row per
// route / link / address message. Returns (and stores) the status: MORE, DONE, ACK, ERROR, or
// MALFORMED / NO_MEMORY (rows of the messages before the bad one are kept).
export function parse(len: u32): i32 {
  beginParse();
  const base = <usize>stateWord(ST_RECV);
  let status = STATUS_MORE;
  if (<usize>len > <usize>RECV_SIZE) {
    setStateWord(ST_MALFORMED_AT, 0);
    setStateWord(ST_STATUS, <u32>STATUS_MALFORMED);
    return STATUS_MALFORMED;
  }
  const end = base + <usize>len;
  let p = base;
  while (p < end) {
    const left = end - p;
    let r: i32 = 0;
    let mlen: usize = 0;
    if (left < NLMSG_HDRLEN) {
      r = STATUS_MALFORMED;
    } else {
      mlen = <usize>load<u32>(p);
      if (mlen < NLMSG_HDRLEN || mlen > left) r = STATUS_MALFORMED;
    }
    if (r == 0) {
      const type = load<u16>(p, 4);
      if (load<u16>(p, 6) & NLM_F_DUMP_INTR) setStateWord(ST_DUMP_INTR, 1);
      if (type == NLMSG_ERROR) {
        r = parseError(p, mlen);
      } else if (type == NLMSG_DONE) {
        r = parseDone(p, mlen);
      } else if (type >= RTM_NEWROUTE && type <= RTM_GETROUTE) {
        r = parseRoute(p, mlen);
      } else if (type >= RTM_NEWLINK && type <= RTM_GETLINK) {
        r = parseLink(p, mlen);
      } else if (type >= RTM_NEWADDR && type <= RTM_GETADDR) {
        r = parseAddr(p, mlen);
      } else if (type >= RTM_NEWNEIGH && type <= RTM_GETNEIGH) {
        r = parseNeigh(p, mlen);
      }
    }
    if (r == STATUS_MALFORMED || r == STATUS_NO_MEMORY) {
      setStateWord(ST_MALFORMED_AT, <u32>(p - base));
      status = r;
      break;
    }
    if (r == STATUS_ERROR) status = STATUS_ERROR;
    else if ((r == STATUS_ACK || r == STATUS_DONE) && status != STATUS_ERROR) status = r;
    p += align4(mlen);
  }
  setStateWord(ST_STATUS, <u32>status);
  return status;
}

function finish(): u32 {
  return wfail ? 0 : <u32>(wp - <usize>stateWord(ST_REQUEST));
}

function startRequest(): void {
  const req = <usize>stateWord(ST_REQUEST);
  emitStart(req, req + REQUEST_SIZE);
}

// ---- encoders from the scratch row (filled by the host, common header included) ----

export function encodeRoute(): u32 {
  if (load<u32>(<usize>stateWord(ST_SCRATCH) + RT_NH_COUNT) > <u32>SCRATCH_NH_CAP) return 0;
  startRequest();
  emitRoute(<usize>stateWord(ST_SCRATCH), <usize>stateWord(ST_SCRATCH_NH));
  return finish();
}

export function encodeLink(): u32 {
  startRequest();
  emitLink(<usize>stateWord(ST_SCRATCH));
  return finish();
}

export function encodeAddr(): u32 {
  startRequest();
  emitAddr(<usize>stateWord(ST_SCRATCH));
  return finish();
}

export function encodeNeigh(): u32 {
  startRequest();
  emitNeigh(<usize>stateWord(ST_SCRATCH));
  return finish();
}

// ---- re-emit a parsed row (0 when `i` is not a row) ----

export function reencodeRoute(i: u32): u32 {
  if (i >= stateWord(ST_ROUTE_COUNT)) return 0;
  startRequest();
  emitRoute(rowAt(ST_ROUTE_BASE, ROUTE_ROW, <usize>i), <usize>stateWord(ST_NH_BASE));
  return finish();
}

export function reencodeLink(i: u32): u32 {
  if (i >= stateWord(ST_LINK_COUNT)) return 0;
  startRequest();
  emitLink(rowAt(ST_LINK_BASE, LINK_ROW, <usize>i));
  return finish();
}

export function reencodeAddr(i: u32): u32 {
  if (i >= stateWord(ST_ADDR_COUNT)) return 0;
  startRequest();
  emitAddr(rowAt(ST_ADDR_BASE, ADDR_ROW, <usize>i));
  return finish();
}

export function reencodeNeigh(i: u32): u32 {
  if (i >= stateWord(ST_NEIGH_COUNT)) return 0;
  startRequest();
  emitNeigh(rowAt(ST_NEIGH_BASE, NEIGH_ROW, <usize>i));
  return finish();
}

// RTM_GETROUTE / RTM_GETLINK / RTM_GETADDR / RTM_GETNEIGH dump request: NLM_F_REQUEST|NLM_F_DUMP and the
// family's struct zeroed except its family byte. 0 for any other type.
export function encodeDump(type: u32, seq: u32, family: u32): u32 {
  let hdr: usize = 0;
  if (type == RTM_GETROUTE) hdr = RTMSG_LEN;
  else if (type == RTM_GETLINK) hdr = IFINFOMSG_LEN;
  else if (type == RTM_GETADDR) hdr = IFADDRMSG_LEN;
  else if (type == RTM_GETNEIGH) hdr = NDMSG_LEN;
  else return 0;
  startRequest();
  const m = putZero(NLMSG_HDRLEN + hdr);
  if (wfail) return 0;
  store<u32>(m, <u32>(NLMSG_HDRLEN + hdr));
  store<u16>(m, <u16>type, 4);
  store<u16>(m, NLM_F_REQUEST | NLM_F_DUMP, 6);
  store<u32>(m, seq, 8);
  store<u8>(m, <u8>family, NLMSG_HDRLEN);
  return finish();
}

// RTM_GETROUTE dump request that asks the kernel to filter: struct rtmsg with `family` (and
// rtm_table when the id fits in it), then RTA_TABLE when `table` is not 0 and RTA_OIF when
// `oif` is not 0. The kernel applies the filters only on a socket with NETLINK_GET_STRICT_CHK.
export function encodeRouteDump(seq: u32, family: u32, table: u32, oif: u32): u32 {
  startRequest();
  const m = putZero(NLMSG_HDRLEN + RTMSG_LEN);
  if (wfail) return 0;
  store<u16>(m, RTM_GETROUTE, 4);
  store<u16>(m, NLM_F_REQUEST | NLM_F_DUMP, 6);
  store<u32>(m, seq, 8);
  store<u8>(m, <u8>family, NLMSG_HDRLEN);
  if (table < 256) store<u8>(m, <u8>table, NLMSG_HDRLEN + 4);
  if (table != 0) attrU32(RTA_TABLE, table);
  if (oif != 0) attrU32(RTA_OIF, oif);
  if (wfail) return 0;
  store<u32>(m, <u32>(wp - m));
  return finish();
}

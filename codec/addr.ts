// RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR: struct ifaddrmsg + IFA_* <-> address row.
//
//   struct ifaddrmsg { u8 family; u8 prefixlen; u8 flags; u8 scope; u32 index; }
//
// ADDR_ATTRS (layout.ts) describes every attribute kept, in the kernel's dump order per family:
//   IPv4 inet_fill_ifaddr:  ADDRESS LOCAL BROADCAST LABEL PROTO FLAGS CACHEINFO
//   IPv6 inet6_fill_ifaddr: LOCAL ADDRESS (LOCAL only with a peer) CACHEINFO FLAGS PROTO
import { ADDR_ROW, AD_FAMILY, AD_PRESENT, ST_ADDR_BASE, STATUS_MALFORMED, STATUS_NO_MEMORY, ADDR_ATTRS } from "./layout";
import { NLMSG_HDRLEN, IFADDRMSG_LEN } from "./kernel";
import { wfail, putZero, msgBegin, msgEnd } from "./attr";
import { commitRow, openRow } from "./tables";
import { buildIndex, emitAttrs, indexOf, ADDR_INDEX, parseAttrs } from "./walk";


export function initAddrIndex(): void {
  buildIndex(ADDR_ATTRS, indexOf(ADDR_INDEX));
}

// Appends one address row; returns 0, STATUS_MALFORMED or STATUS_NO_MEMORY (nothing committed then).
export function parseAddr(msg: usize, mlen: usize): i32 {
  if (mlen < NLMSG_HDRLEN + IFADDRMSG_LEN) return STATUS_MALFORMED;
  const row = openRow(ST_ADDR_BASE, ADDR_ROW, msg);
  if (row == 0) return STATUS_NO_MEMORY;
  memory.copy(row + AD_FAMILY, msg + NLMSG_HDRLEN, IFADDRMSG_LEN); // family prefixlen flags scope index
  const family = <u32>load<u8>(msg + NLMSG_HDRLEN);
  const r = parseAttrs(row, msg + NLMSG_HDRLEN + IFADDRMSG_LEN, msg + mlen, family, ADDR_INDEX, AD_PRESENT, 0);
  if (r != 0) return r;
  commitRow(ST_ADDR_BASE);
  return 0;
}

export function emitAddr(row: usize): void {
  const m = msgBegin(row);
  const h = putZero(IFADDRMSG_LEN);
  if (wfail) return;
  memory.copy(h, row + AD_FAMILY, IFADDRMSG_LEN);
  emitAttrs(row, <u32>load<u8>(row + AD_FAMILY), load<u32>(row + AD_PRESENT), ADDR_ATTRS, ADDR_INDEX);
  msgEnd(m);
}

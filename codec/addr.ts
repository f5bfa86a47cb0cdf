// RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR: struct ifaddrmsg + IFA_* <-> address row.
//
//   struct ifaddrmsg { u8 family; u8 prefixlen; u8 flags; u8 scope; u32 index; }
//
// Emission follows the kernel's dump order per family:
//   IPv4 inet_fill_ifaddr:  ADDRESS LOCAL BROADCAST LABEL PROTO FLAGS CACHEINFO
//   IPv6 inet6_fill_ifaddr: LOCAL ADDRESS (LOCAL only with a peer) CACHEINFO FLAGS PROTO
import {
  ADDR_ROW, AD_FAMILY, AD_PRESENT, AD_FLAGS, AD_ADDRESS, AD_LOCAL, AD_BROADCAST, AD_LABEL,
  AD_CACHEINFO, AD_PROTO, AD_HAS_ADDRESS, AD_HAS_LOCAL, AD_HAS_BROADCAST, AD_HAS_LABEL,
  AD_HAS_FLAGS, AD_HAS_CACHEINFO, AD_HAS_PROTO, ST_ADDR_BASE, STATUS_MALFORMED,
  STATUS_NO_MEMORY,
} from "./layout";
import {
  NLMSG_HDRLEN, IFADDRMSG_LEN, AF_INET, AF_INET6, IFA_ADDRESS, IFA_LOCAL, IFA_LABEL,
  IFA_BROADCAST, IFA_CACHEINFO, IFA_FLAGS, IFA_PROTO, IFA_CACHEINFO_LEN,
} from "./kernel";
import {
  align4, attrLen, attrType, copyStr, wfail, putZero, msgBegin, msgEnd, attrU8, attrU32, attrBytes,
  attrStr,
} from "./attr";
import { commitRow, openRow } from "./tables";

@inline function setPresent(row: usize, bit: u32): void {
  store<u32>(row + AD_PRESENT, load<u32>(row + AD_PRESENT) | bit);
}

// Appends one address row; returns 0, STATUS_MALFORMED or STATUS_NO_MEMORY (nothing committed then).
export function parseAddr(msg: usize, mlen: usize): i32 {
  if (mlen < NLMSG_HDRLEN + IFADDRMSG_LEN) return STATUS_MALFORMED;
  const row = openRow(ST_ADDR_BASE, ADDR_ROW, msg);
  if (row == 0) return STATUS_NO_MEMORY;
  memory.copy(row + AD_FAMILY, msg + NLMSG_HDRLEN, IFADDRMSG_LEN); // family prefixlen flags scope index
  const family = <u32>load<u8>(msg + NLMSG_HDRLEN);
  const inet = family == AF_INET || family == AF_INET6;
  const alen: usize = family == AF_INET6 ? 16 : 4;

  const end = msg + mlen;
  let a = msg + NLMSG_HDRLEN + IFADDRMSG_LEN;
  while (a < end) {
    const n = attrLen(a, end);
    if (n == 0) return STATUS_MALFORMED;
    const t = attrType(a);
    const d = a + 4;
    const dl = n - 4;
    if (inet && (t == IFA_ADDRESS || t == IFA_LOCAL || t == IFA_BROADCAST)) {
      if (dl != alen) return STATUS_MALFORMED;
      const slot = t == IFA_ADDRESS ? AD_ADDRESS : t == IFA_LOCAL ? AD_LOCAL : AD_BROADCAST;
      memory.fill(row + slot, 0, 16);
      memory.copy(row + slot, d, dl);
      setPresent(row, t == IFA_ADDRESS ? AD_HAS_ADDRESS : t == IFA_LOCAL ? AD_HAS_LOCAL : AD_HAS_BROADCAST);
    } else if (t == IFA_LABEL) {
      if (!copyStr(row + AD_LABEL, d, dl, 15)) return STATUS_MALFORMED;
      setPresent(row, AD_HAS_LABEL);
    } else if (t == IFA_FLAGS) {
      if (dl != 4) return STATUS_MALFORMED;
      store<u32>(row + AD_FLAGS, load<u32>(d));
      setPresent(row, AD_HAS_FLAGS);
    } else if (t == IFA_CACHEINFO) {
      if (dl != IFA_CACHEINFO_LEN) return STATUS_MALFORMED;
      memory.copy(row + AD_CACHEINFO, d, IFA_CACHEINFO_LEN);
      setPresent(row, AD_HAS_CACHEINFO);
    } else if (t == IFA_PROTO) {
      if (dl != 1) return STATUS_MALFORMED;
      store<u8>(row + AD_PROTO, load<u8>(d));
      setPresent(row, AD_HAS_PROTO);
    }
    a += align4(n);
  }
  commitRow(ST_ADDR_BASE);
  return 0;
}

export function emitAddr(row: usize): void {
  const m = msgBegin(row);
  const h = putZero(IFADDRMSG_LEN);
  if (wfail) return;
  memory.copy(h, row + AD_FAMILY, IFADDRMSG_LEN);
  const p = load<u32>(row + AD_PRESENT);
  const family = <u32>load<u8>(row + AD_FAMILY);
  const alen: usize = family == AF_INET6 ? 16 : 4;
  if (family == AF_INET6) {
    if (p & AD_HAS_LOCAL) attrBytes(IFA_LOCAL, row + AD_LOCAL, alen);
    if (p & AD_HAS_ADDRESS) attrBytes(IFA_ADDRESS, row + AD_ADDRESS, alen);
    if (p & AD_HAS_BROADCAST) attrBytes(IFA_BROADCAST, row + AD_BROADCAST, alen);
    if (p & AD_HAS_LABEL) attrStr(IFA_LABEL, row + AD_LABEL);
    if (p & AD_HAS_CACHEINFO) attrBytes(IFA_CACHEINFO, row + AD_CACHEINFO, IFA_CACHEINFO_LEN);
    if (p & AD_HAS_FLAGS) attrU32(IFA_FLAGS, load<u32>(row + AD_FLAGS));
    if (p & AD_HAS_PROTO) attrU8(IFA_PROTO, load<u8>(row + AD_PROTO));
  } else {
    if (p & AD_HAS_ADDRESS) attrBytes(IFA_ADDRESS, row + AD_ADDRESS, alen);
    if (p & AD_HAS_LOCAL) attrBytes(IFA_LOCAL, row + AD_LOCAL, alen);
    if (p & AD_HAS_BROADCAST) attrBytes(IFA_BROADCAST, row + AD_BROADCAST, alen);
    if (p & AD_HAS_LABEL) attrStr(IFA_LABEL, row + AD_LABEL);
    if (p & AD_HAS_PROTO) attrU8(IFA_PROTO, load<u8>(row + AD_PROTO));
    if (p & AD_HAS_FLAGS) attrU32(IFA_FLAGS, load<u32>(row + AD_FLAGS));
    if (p & AD_HAS_CACHEINFO) attrBytes(IFA_CACHEINFO, row + AD_CACHEINFO, IFA_CACHEINFO_LEN);
  }
  msgEnd(m);
}

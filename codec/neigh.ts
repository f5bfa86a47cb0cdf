// RTM_NEWNEIGH / RTM_DELNEIGH / RTM_GETNEIGH: struct ndmsg + NDA_* <-> neighbour row.
//
//   struct ndmsg { u8 family; u8 pad1; u16 pad2; i32 ifindex; u16 state; u8 flags; u8 type; }
//
// ndm_flags holds the NTF_* bits that fit 8 bits (NTF_EXT_LEARNED = 0x10, NTF_ROUTER = 0x80, ...);
// newer ones travel as NDA_FLAGS_EXT (u32, NTF_EXT_MANAGED = 1, kernel >= 5.16).
// Emission follows the kernel's neigh_fill_info order (as dumped by 6.18):
//   DST LLADDR PROBES CACHEINFO PROTOCOL FLAGS_EXT
// Requests use the same order (iproute2 sends DST, LLADDR, then FLAGS_EXT).
import {
  NEIGH_ROW, ND_FAMILY, ND_PRESENT, ND_DST, ND_LLADDR_LEN, ND_PROTOCOL, ND_LLADDR, ND_PROBES,
  ND_CACHEINFO, ND_FLAGS_EXT, ND_HAS_DST, ND_HAS_LLADDR, ND_HAS_PROBES, ND_HAS_CACHEINFO,
  ND_HAS_PROTOCOL, ND_HAS_FLAGS_EXT, ST_NEIGH_BASE, STATUS_MALFORMED, STATUS_NO_MEMORY,
} from "./layout";
import {
  NLMSG_HDRLEN, NDMSG_LEN, AF_INET, AF_INET6, NDA_DST, NDA_LLADDR, NDA_CACHEINFO, NDA_PROBES,
  NDA_PROTOCOL, NDA_FLAGS_EXT, NDA_CACHEINFO_LEN, MAX_ADDR_LEN,
} from "./kernel";
import { align4, attrLen, attrType, wfail, putZero, msgBegin, msgEnd, attrU8, attrU32, attrBytes } from "./attr";
import { commitRow, openRow } from "./tables";

@inline function setPresent(row: usize, bit: u32): void {
  store<u32>(row + ND_PRESENT, load<u32>(row + ND_PRESENT) | bit);
}

// Appends one neighbour row; returns 0, STATUS_MALFORMED or STATUS_NO_MEMORY (nothing committed then).
export function parseNeigh(msg: usize, mlen: usize): i32 {
  if (mlen < NLMSG_HDRLEN + NDMSG_LEN) return STATUS_MALFORMED;
  const row = openRow(ST_NEIGH_BASE, NEIGH_ROW, msg);
  if (row == 0) return STATUS_NO_MEMORY;
  memory.copy(row + ND_FAMILY, msg + NLMSG_HDRLEN, NDMSG_LEN); // family pad1 pad2 ifindex state flags type
  const family = <u32>load<u8>(msg + NLMSG_HDRLEN);
  const inet = family == AF_INET || family == AF_INET6;
  const alen: usize = family == AF_INET6 ? 16 : 4;

  const end = msg + mlen;
  let a = msg + NLMSG_HDRLEN + NDMSG_LEN;
  while (a < end) {
    const n = attrLen(a, end);
    if (n == 0) return STATUS_MALFORMED;
    const t = attrType(a);
    const d = a + 4;
    const dl = n - 4;
    if (inet && t == NDA_DST) {
      if (dl != alen) return STATUS_MALFORMED;
      memory.copy(row + ND_DST, d, dl);
      setPresent(row, ND_HAS_DST);
    } else if (t == NDA_LLADDR) {
      if (dl > MAX_ADDR_LEN) return STATUS_MALFORMED;
      memory.copy(row + ND_LLADDR, d, dl);
      store<u8>(row + ND_LLADDR_LEN, <u8>dl);
      setPresent(row, ND_HAS_LLADDR);
    } else if (t == NDA_PROBES) {
      if (dl != 4) return STATUS_MALFORMED;
      store<u32>(row + ND_PROBES, load<u32>(d));
      setPresent(row, ND_HAS_PROBES);
    } else if (t == NDA_CACHEINFO) {
      if (dl != NDA_CACHEINFO_LEN) return STATUS_MALFORMED;
      memory.copy(row + ND_CACHEINFO, d, NDA_CACHEINFO_LEN);
      setPresent(row, ND_HAS_CACHEINFO);
    } else if (t == NDA_PROTOCOL) {
      if (dl != 1) return STATUS_MALFORMED;
      store<u8>(row + ND_PROTOCOL, load<u8>(d));
      setPresent(row, ND_HAS_PROTOCOL);
    } else if (t == NDA_FLAGS_EXT) {
      if (dl != 4) return STATUS_MALFORMED;
      store<u32>(row + ND_FLAGS_EXT, load<u32>(d));
      setPresent(row, ND_HAS_FLAGS_EXT);
    }
    a += align4(n);
  }
  commitRow(ST_NEIGH_BASE);
  return 0;
}

export function emitNeigh(row: usize): void {
  const m = msgBegin(row);
  const h = putZero(NDMSG_LEN);
  if (wfail) return;
  memory.copy(h, row + ND_FAMILY, NDMSG_LEN);
  const p = load<u32>(row + ND_PRESENT);
  const family = <u32>load<u8>(row + ND_FAMILY);
  const alen: usize = family == AF_INET6 ? 16 : 4;
  if (p & ND_HAS_DST) attrBytes(NDA_DST, row + ND_DST, alen);
  if (p & ND_HAS_LLADDR) attrBytes(NDA_LLADDR, row + ND_LLADDR, <usize>load<u8>(row + ND_LLADDR_LEN));
  if (p & ND_HAS_PROBES) attrU32(NDA_PROBES, load<u32>(row + ND_PROBES));
  if (p & ND_HAS_CACHEINFO) attrBytes(NDA_CACHEINFO, row + ND_CACHEINFO, NDA_CACHEINFO_LEN);
  if (p & ND_HAS_PROTOCOL) attrU8(NDA_PROTOCOL, load<u8>(row + ND_PROTOCOL));
  if (p & ND_HAS_FLAGS_EXT) attrU32(NDA_FLAGS_EXT, load<u32>(row + ND_FLAGS_EXT));
  msgEnd(m);
}

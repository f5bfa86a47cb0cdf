// RTM_NEWNEIGH / RTM_DELNEIGH / RTM_GETNEIGH: struct ndmsg + NDA_* <-> neighbour row.
//
//   struct ndmsg { u8 family; u8 pad1; u16 pad2; i32 ifindex; u16 state; u8 flags; u8 type; }
//
// ndm_flags holds the NTF_* bits that fit 8 bits (NTF_EXT_LEARNED = 0x10, NTF_ROUTER = 0x80, ...);
// newer ones travel as NDA_FLAGS_EXT (u32, NTF_EXT_MANAGED = 1, kernel >= 5.16).
// NEIGH_ATTRS (layout.ts) describes every attribute kept, in neigh_fill_info's order (as dumped by 6.18):
//   DST LLADDR PROBES CACHEINFO PROTOCOL FLAGS_EXT
// Requests use the same order (iproute2 sends DST, LLADDR, then FLAGS_EXT).
import { NEIGH_ROW, ND_FAMILY, ND_PRESENT, ST_NEIGH_BASE, STATUS_MALFORMED, STATUS_NO_MEMORY, NEIGH_ATTRS } from "./layout";
import { NLMSG_HDRLEN, NDMSG_LEN } from "./kernel";
import { wfail, putZero, msgBegin, msgEnd } from "./attr";
import { commitRow, openRow } from "./tables";
import { buildIndex, emitAttrs, indexOf, NEIGH_INDEX, parseAttrs } from "./walk";


export function initNeighIndex(): void {
  buildIndex(NEIGH_ATTRS, indexOf(NEIGH_INDEX));
}

// Appends one neighbour row; returns 0, STATUS_MALFORMED or STATUS_NO_MEMORY (nothing committed then).
export function parseNeigh(msg: usize, mlen: usize): i32 {
  if (mlen < NLMSG_HDRLEN + NDMSG_LEN) return STATUS_MALFORMED;
  const row = openRow(ST_NEIGH_BASE, NEIGH_ROW, msg);
  if (row == 0) return STATUS_NO_MEMORY;
  memory.copy(row + ND_FAMILY, msg + NLMSG_HDRLEN, NDMSG_LEN); // family pad1 pad2 ifindex state flags type
  const family = <u32>load<u8>(msg + NLMSG_HDRLEN);
  const r = parseAttrs(row, msg + NLMSG_HDRLEN + NDMSG_LEN, msg + mlen, family, NEIGH_INDEX, ND_PRESENT, 0);
  if (r != 0) return r;
  commitRow(ST_NEIGH_BASE);
  return 0;
}

export function emitNeigh(row: usize): void {
  const m = msgBegin(row);
  const h = putZero(NDMSG_LEN);
  if (wfail) return;
  memory.copy(h, row + ND_FAMILY, NDMSG_LEN);
  emitAttrs(row, <u32>load<u8>(row + ND_FAMILY), load<u32>(row + ND_PRESENT), NEIGH_ATTRS, NEIGH_INDEX);
  msgEnd(m);
}

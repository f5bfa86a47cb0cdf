// Neighbour entries (ARP / NDP cache): dump, add, delete, through the codec's neighbour family
// (codec/neigh.ts, read through src/netlink/codec/neigh.ts). Managed entries (NTF_EXT_MANAGED, kernel >= 5.16) are the ones the kernel
// keeps resolving by itself, traffic or not (docs/multipath.md §3).
import { codec } from "./codec";
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST } from "./constants";
import { fromBytes, type IPAddr } from "../ip";
import type { NetlinkSocket } from "./socket";

export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;

export const NUD_INCOMPLETE = 0x01;
export const NUD_REACHABLE = 0x02;
export const NUD_STALE = 0x04;
export const NUD_DELAY = 0x08;
export const NUD_PROBE = 0x10;
export const NUD_FAILED = 0x20;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;
export const NUD_NONE = 0x00;

export const NTF_EXT_LEARNED = 0x10;
export const NTF_ROUTER = 0x80;
/** In NDA_FLAGS_EXT. */
export const NTF_EXT_MANAGED = 0x01;

export interface Neighbour {
  family: number;
  ifindex: number;
  dst: IPAddr;
  state: number;
  flags: number;
  flagsExt: number;
  /** The link-layer address as the kernel reported it (absent: none). */
  lladdr?: Uint8Array;
  protocol: number;
}

/** The neighbour entries of `family`, optionally only those on `ifindex`. */
export function listNeighbours(sock: NetlinkSocket, family: number, ifindex?: number): Neighbour[] {
  sock.dump((seq) => codec.encodeDump(RTM_GETNEIGH, seq, family));
  const out: Neighbour[] = [];
  const rows = codec.neighs;
  for (let i = 0; i < rows.count; i++) {
    if (rows.type(i) !== RTM_NEWNEIGH) continue;
    if (ifindex !== undefined && rows.ifindex(i) !== ifindex) continue;
    const dst = rows.dst(i);
    if (!dst) continue;
    out.push({
      family: rows.family(i), ifindex: rows.ifindex(i), dst: fromBytes(dst), state: rows.state(i), flags: rows.flags(i),
      flagsExt: rows.flagsExt(i), lladdr: rows.lladdr(i), protocol: rows.protocol(i),
    });
  }
  return out;
}

/**
 * Adds a managed entry for `gateway` on `ifindex`, as `ip neigh add GW dev IF managed
 * extern_learn` does: no link-layer address, state NONE, NTF_EXT_LEARNED (kept out of garbage
 * collection) and NTF_EXT_MANAGED (the kernel resolves it and keeps it resolved). Fails with
 * EEXIST when an entry exists, unless `replace`.
 */
export function addManagedNeighbour(sock: NetlinkSocket, family: number, ifindex: number, gateway: IPAddr, replace = false): void {
  const flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL);
  sock.request((seq) =>
    codec.encodeNeigh(RTM_NEWNEIGH, flags, seq, { family, ifindex, state: NUD_NONE, flags: NTF_EXT_LEARNED, dst: gateway.bytes, flagsExt: NTF_EXT_MANAGED }),
  );
}

/** Deletes the entry for `dst` on `ifindex` (ENOENT when there is none). */
export function deleteNeighbour(sock: NetlinkSocket, family: number, ifindex: number, dst: IPAddr): void {
  sock.request((seq) => codec.encodeNeigh(RTM_DELNEIGH, NLM_F_REQUEST | NLM_F_ACK, seq, { family, ifindex, dst: dst.bytes }));
}

/** Re-adds an entry as a dump reported it (for undo): state, flags, link-layer address. */
export function restoreNeighbour(sock: NetlinkSocket, n: Neighbour): void {
  sock.request((seq) =>
    codec.encodeNeigh(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq, {
      family: n.family, ifindex: n.ifindex, state: n.state, flags: n.flags, dst: n.dst.bytes, lladdr: n.lladdr?.length ? n.lladdr : undefined,
      flagsExt: n.flagsExt || undefined, protocol: n.protocol || undefined,
    }),
  );
}

// Neighbour entries (ARP / NDP cache): dump, add, delete, through the codec's neighbour family
// (codec/neigh.ts). Managed entries (NTF_EXT_MANAGED, kernel >= 5.16) are the ones the kernel
// keeps resolving by itself, traffic or not (docs/multipath.md §3).
import * as L from "../../codec/layout.ts";
import { codec } from "./codec";
import { AF_INET6, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST } from "./constants";
import { addressBytes, addressText } from "./ip";
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

export interface NeighSpec {
  family: number;
  ifindex: number;
  state?: number;
  flags?: number;
  type?: number;
  /** 4 or 16 bytes. */
  dst?: Uint8Array;
  lladdr?: Uint8Array;
  protocol?: number;
  flagsExt?: number;
}

export interface Neighbour {
  family: number;
  ifindex: number;
  /** Canonical text. */
  dst: string;
  state: number;
  flags: number;
  flagsExt: number;
  /** Colon-separated lowercase hex, "" when the kernel reported none. */
  lladdr: string;
  protocol: number;
}

function u(v: number | undefined, max: number, what: string): number {
  const x = v ?? 0;
  if (!Number.isInteger(x) || x < 0 || x > max) throw new RangeError(`${what}: ${v} out of range`);
  return x;
}

/** Encodes an RTM_*NEIGH request from `spec`; returns its length in the request region. */
export function encodeNeigh(type: number, nlFlags: number, seq: number, spec: NeighSpec): number {
  const x = codec.wasm();
  const dv = codec.view();
  const s = codec.stateWord(L.ST_SCRATCH);
  const u8 = new Uint8Array(dv.buffer);
  u8.fill(0, s, s + L.SCRATCH_ROW_SIZE);
  dv.setUint16(s + L.ROW_NLMSG_TYPE, u(type, 0xffff, "nlmsg_type"), true);
  dv.setUint16(s + L.ROW_NLMSG_FLAGS, u(nlFlags, 0xffff, "nlmsg_flags"), true);
  dv.setUint32(s + L.ROW_NLMSG_SEQ, u(seq, 0xffffffff, "nlmsg_seq"), true);
  u8[s + L.ND_FAMILY] = u(spec.family, 0xff, "ndm_family");
  dv.setInt32(s + L.ND_INDEX, u(spec.ifindex, 0x7fffffff, "ndm_ifindex"), true);
  dv.setUint16(s + L.ND_STATE, u(spec.state, 0xffff, "ndm_state"), true);
  u8[s + L.ND_FLAGS] = u(spec.flags, 0xff, "ndm_flags");
  u8[s + L.ND_TYPE] = u(spec.type, 0xff, "ndm_type");
  let present = 0;
  if (spec.dst) {
    const want = spec.family === AF_INET6 ? 16 : 4;
    if (spec.dst.length !== want) throw new RangeError(`NDA_DST: expected ${want} bytes, got ${spec.dst.length}`);
    u8.set(spec.dst, s + L.ND_DST);
    present |= L.ND_HAS_DST;
  }
  if (spec.lladdr) {
    if (spec.lladdr.length > 32) throw new RangeError(`NDA_LLADDR: ${spec.lladdr.length} bytes`);
    u8.set(spec.lladdr, s + L.ND_LLADDR);
    u8[s + L.ND_LLADDR_LEN] = spec.lladdr.length;
    present |= L.ND_HAS_LLADDR;
  }
  if (spec.protocol !== undefined) {
    u8[s + L.ND_PROTOCOL] = u(spec.protocol, 0xff, "NDA_PROTOCOL");
    present |= L.ND_HAS_PROTOCOL;
  }
  if (spec.flagsExt !== undefined) {
    dv.setUint32(s + L.ND_FLAGS_EXT, u(spec.flagsExt, 0xffffffff, "NDA_FLAGS_EXT"), true);
    present |= L.ND_HAS_FLAGS_EXT;
  }
  dv.setUint32(s + L.ND_PRESENT, present, true);
  const n = x.encodeNeigh();
  if (n === 0) throw new RangeError("neighbour request does not fit the request region");
  return n;
}

/** Neighbour rows of the last parse, read by index. */
export class NeighRows {
  get count(): number {
    return codec.stateWord(L.ST_NEIGH_COUNT);
  }

  /** @internal address of row i */
  row(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new RangeError(`neighbour row ${i} out of range (count ${this.count})`);
    return codec.stateWord(L.ST_NEIGH_BASE) + i * L.NEIGH_ROW;
  }

  private get dv(): DataView {
    return codec.view();
  }

  type(i: number): number { return this.dv.getUint16(this.row(i) + L.ROW_NLMSG_TYPE, true); }
  seq(i: number): number { return this.dv.getUint32(this.row(i) + L.ROW_NLMSG_SEQ, true); }
  family(i: number): number { return this.dv.getUint8(this.row(i) + L.ND_FAMILY); }
  ifindex(i: number): number { return this.dv.getInt32(this.row(i) + L.ND_INDEX, true); }
  state(i: number): number { return this.dv.getUint16(this.row(i) + L.ND_STATE, true); }
  flags(i: number): number { return this.dv.getUint8(this.row(i) + L.ND_FLAGS); }
  ndmType(i: number): number { return this.dv.getUint8(this.row(i) + L.ND_TYPE); }
  present(i: number): number { return this.dv.getUint32(this.row(i) + L.ND_PRESENT, true); }
  dst(i: number): Uint8Array | undefined {
    const r = this.row(i);
    if (!(this.present(i) & L.ND_HAS_DST)) return undefined;
    const n = this.family(i) === AF_INET6 ? 16 : 4;
    return new Uint8Array(this.dv.buffer.slice(r + L.ND_DST, r + L.ND_DST + n));
  }
  lladdr(i: number): Uint8Array | undefined {
    const r = this.row(i);
    if (!(this.present(i) & L.ND_HAS_LLADDR)) return undefined;
    const n = this.dv.getUint8(r + L.ND_LLADDR_LEN);
    return new Uint8Array(this.dv.buffer.slice(r + L.ND_LLADDR, r + L.ND_LLADDR + n));
  }
  probes(i: number): number { return this.dv.getUint32(this.row(i) + L.ND_PROBES, true); }
  protocol(i: number): number { return this.dv.getUint8(this.row(i) + L.ND_PROTOCOL); }
  /** NDA_FLAGS_EXT, 0 when absent. */
  flagsExt(i: number): number { return this.dv.getUint32(this.row(i) + L.ND_FLAGS_EXT, true); }
  /** Re-emits row i into the request region; returns its length. */
  reencode(i: number): number {
    this.row(i);
    return codec.wasm().reencodeNeigh(i);
  }
}

export const neighRows = new NeighRows();

function macText(b: Uint8Array | undefined): string {
  return b ? Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":") : "";
}

/** The neighbour entries of `family`, optionally only those on `ifindex`. */
export function listNeighbours(sock: NetlinkSocket, family: number, ifindex?: number): Neighbour[] {
  sock.dump((seq) => codec.encodeDump(RTM_GETNEIGH, seq, family));
  const out: Neighbour[] = [];
  const rows = neighRows;
  for (let i = 0; i < rows.count; i++) {
    if (rows.type(i) !== RTM_NEWNEIGH) continue;
    if (ifindex !== undefined && rows.ifindex(i) !== ifindex) continue;
    const dst = rows.dst(i);
    if (!dst) continue;
    out.push({
      family: rows.family(i), ifindex: rows.ifindex(i), dst: addressText(dst), state: rows.state(i), flags: rows.flags(i),
      flagsExt: rows.flagsExt(i), lladdr: macText(rows.lladdr(i)), protocol: rows.protocol(i),
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
export function addManagedNeighbour(sock: NetlinkSocket, family: number, ifindex: number, gateway: string, replace = false): void {
  const flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL);
  sock.request((seq) =>
    encodeNeigh(RTM_NEWNEIGH, flags, seq, { family, ifindex, state: NUD_NONE, flags: NTF_EXT_LEARNED, dst: addressBytes(gateway), flagsExt: NTF_EXT_MANAGED }),
  );
}

/** Deletes the entry for `dst` on `ifindex` (ENOENT when there is none). */
export function deleteNeighbour(sock: NetlinkSocket, family: number, ifindex: number, dst: string): void {
  sock.request((seq) => encodeNeigh(RTM_DELNEIGH, NLM_F_REQUEST | NLM_F_ACK, seq, { family, ifindex, dst: addressBytes(dst) }));
}

/** Re-adds an entry as a dump reported it (for undo): state, flags, link-layer address. */
export function restoreNeighbour(sock: NetlinkSocket, n: Neighbour): void {
  const lladdr = n.lladdr ? Uint8Array.from(n.lladdr.split(":"), (h) => parseInt(h, 16)) : undefined;
  sock.request((seq) =>
    encodeNeigh(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq, {
      family: n.family, ifindex: n.ifindex, state: n.state, flags: n.flags, dst: addressBytes(n.dst), lladdr,
      flagsExt: n.flagsExt || undefined, protocol: n.protocol || undefined,
    }),
  );
}

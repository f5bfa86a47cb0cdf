// Neighbour messages (struct ndmsg + attributes, codec/neigh.ts): the request spec, its encoder
// and the row reader. The fixed-width fields are described once in NEIGH.
import * as L from "../../../codec/layout.ts";
import { addrLen, type CodecBase, field, Rows, writeField } from "./base";

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

const NEIGH = {
  family: field(L.ND_FAMILY, 0, "u8"),
  ifindex: field(L.ND_INDEX, 0, "i32"),
  state: field(L.ND_STATE, 0, "u16"),
  flags: field(L.ND_FLAGS, 0, "u8"),
  type: field(L.ND_TYPE, 0, "u8"),
  present: field(L.ND_PRESENT, 0, "u32"),
  dst: field(L.ND_DST, L.ND_HAS_DST, "u8"),
  lladdrLen: field(L.ND_LLADDR_LEN, L.ND_HAS_LLADDR, "u8"),
  probes: field(L.ND_PROBES, L.ND_HAS_PROBES, "u32"),
  protocol: field(L.ND_PROTOCOL, L.ND_HAS_PROTOCOL, "u8"),
  flagsExt: field(L.ND_FLAGS_EXT, L.ND_HAS_FLAGS_EXT, "u32"),
} as const;

/** Encodes an RTM_*NEIGH request into the request region; returns its length. */
export function encodeNeigh(c: CodecBase, type: number, nlFlags: number, seq: number, spec: NeighSpec): number {
  const s = c.scratch(type, nlFlags, seq);
  const dv = c.dv;
  writeField(dv, s, NEIGH.family, spec.family, "ndm_family");
  writeField(dv, s, NEIGH.ifindex, spec.ifindex, "ndm_ifindex");
  writeField(dv, s, NEIGH.state, spec.state, "ndm_state");
  writeField(dv, s, NEIGH.flags, spec.flags, "ndm_flags");
  writeField(dv, s, NEIGH.type, spec.type, "ndm_type");
  let present = 0;
  if (spec.dst) {
    c.putAddr(s + L.ND_DST, spec.dst, addrLen(spec.family), "NDA_DST");
    present |= NEIGH.dst.bit;
  }
  if (spec.lladdr) {
    if (spec.lladdr.length > 32) throw new RangeError(`NDA_LLADDR: ${spec.lladdr.length} bytes`);
    c.u8.set(spec.lladdr, s + L.ND_LLADDR);
    present |= writeField(dv, s, NEIGH.lladdrLen, spec.lladdr.length, "NDA_LLADDR");
  }
  if (spec.protocol !== undefined) present |= writeField(dv, s, NEIGH.protocol, spec.protocol, "NDA_PROTOCOL");
  if (spec.flagsExt !== undefined) present |= writeField(dv, s, NEIGH.flagsExt, spec.flagsExt, "NDA_FLAGS_EXT");
  return c.emit(s, NEIGH.present, present, "encodeNeigh");
}

/** Neighbour rows (struct ndmsg + attributes). */
export class NeighRows extends Rows<typeof NEIGH> {
  constructor(c: CodecBase) {
    super(c, "neigh", NEIGH);
  }

  family(i: number): number { return this.get(i, "family"); }
  ifindex(i: number): number { return this.get(i, "ifindex"); }
  state(i: number): number { return this.get(i, "state"); }
  flags(i: number): number { return this.get(i, "flags"); }
  ndmType(i: number): number { return this.get(i, "type"); }
  dst(i: number): Uint8Array | undefined {
    if (!this.has(i, "dst")) return undefined;
    const r = this.row(i);
    return this.c.u8.slice(r + L.ND_DST, r + L.ND_DST + addrLen(this.family(i)));
  }
  lladdr(i: number): Uint8Array | undefined {
    if (!this.has(i, "lladdrLen")) return undefined;
    const r = this.row(i);
    return this.c.u8.slice(r + L.ND_LLADDR, r + L.ND_LLADDR + this.get(i, "lladdrLen"));
  }
  probes(i: number): number { return this.get(i, "probes"); }
  protocol(i: number): number { return this.get(i, "protocol"); }
  /** NDA_FLAGS_EXT, 0 when absent. */
  flagsExt(i: number): number { return this.get(i, "flagsExt"); }
}

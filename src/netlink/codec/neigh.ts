// Neighbour messages (struct ndmsg + attributes, codec/neigh.ts): the request spec, its encoder
// and the row reader. The plain attributes (in NEIGH_ATTRS of codec/layout.ts) are one line each
// in PLAIN, which gives their NeighSpec member, their encoding and their NeighRows reader; the
// other fields are described once in NEIGH.
import * as L from "../../../codec/layout.ts";
import { address, type CodecBase, field, num, PlainAttrs, type PlainReaders, type PlainSpec, Rows, writeField } from "./base";

/** The plain attributes, by attribute type in L.NEIGH_ATTRS: NeighSpec members and NeighRows readers. */
const PLAIN = {
  /** NDA_DST (4 or 16 bytes), undefined if absent. */
  dst: address(1),
  /** NDA_PROBES, 0 if absent. */
  probes: num(4),
  /** NDA_PROTOCOL, 0 if absent. */
  protocol: num(12),
  /** NDA_FLAGS_EXT (NTF_EXT_*), 0 if absent. */
  flagsExt: num(15),
} as const;

const plain = new PlainAttrs(L.NEIGH_ATTRS, PLAIN, "neigh", field(L.ND_FAMILY, 0, "u8"));

export interface NeighSpec extends PlainSpec<typeof PLAIN> {
  family: number;
  ifindex: number;
  state?: number;
  flags?: number;
  type?: number;
  lladdr?: Uint8Array;
}

const NEIGH = {
  family: field(L.ND_FAMILY, 0, "u8"),
  ifindex: field(L.ND_INDEX, 0, "i32"),
  state: field(L.ND_STATE, 0, "u16"),
  flags: field(L.ND_FLAGS, 0, "u8"),
  type: field(L.ND_TYPE, 0, "u8"),
  present: field(L.ND_PRESENT, 0, "u32"),
  ...plain.fields,
  lladdrLen: field(L.ND_LLADDR_LEN, L.ND_HAS_LLADDR, "u8"),
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
  let present = plain.encode(c, s, spec, spec.family);
  if (spec.lladdr) {
    if (spec.lladdr.length > 32) throw new RangeError(`NDA_LLADDR: ${spec.lladdr.length} bytes`);
    c.u8.set(spec.lladdr, s + L.ND_LLADDR);
    present |= writeField(dv, s, NEIGH.lladdrLen, spec.lladdr.length, "NDA_LLADDR");
  }
  return c.emit(s, NEIGH.present, present, "encodeNeigh");
}

/** The readers of PLAIN, defined on the prototype by plain.install() below. */
export interface NeighRows extends PlainReaders<typeof PLAIN> {}

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
  lladdr(i: number): Uint8Array | undefined {
    if (!this.has(i, "lladdrLen")) return undefined;
    const r = this.row(i);
    return this.c.u8.slice(r + L.ND_LLADDR, r + L.ND_LLADDR + this.get(i, "lladdrLen"));
  }
}

plain.install(NeighRows);

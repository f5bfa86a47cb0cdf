// Address messages (struct ifaddrmsg + attributes, codec/addr.ts): the request spec, its encoder
// and the row reader. The fixed-width fields are described once in ADDR.
import * as L from "../../../codec/layout.ts";
import { addrLen, type CodecBase, cstr, field, Rows, writeField } from "./base";

export interface AddrSpec {
  family: number;
  prefixlen: number;
  /** ifa_flags, the 8-bit header field. */
  ifaFlags?: number;
  scope?: number;
  index: number;
  address?: Uint8Array;
  local?: Uint8Array;
  broadcast?: Uint8Array;
  label?: string;
  /** IFA_FLAGS (u32). */
  flags?: number;
}

const ADDR = {
  family: field(L.AD_FAMILY, 0, "u8"),
  prefixlen: field(L.AD_PREFIXLEN, 0, "u8"),
  ifaFlags: field(L.AD_IFA_FLAGS, 0, "u8"),
  scope: field(L.AD_SCOPE, 0, "u8"),
  index: field(L.AD_INDEX, 0, "u32"),
  present: field(L.AD_PRESENT, 0, "u32"),
  flags: field(L.AD_FLAGS, L.AD_HAS_FLAGS, "u32"),
  proto: field(L.AD_PROTO, 0, "u8"),
  preferred: field(L.AD_CACHEINFO, L.AD_HAS_CACHEINFO, "u32"),
  valid: field(L.AD_CACHEINFO + 4, L.AD_HAS_CACHEINFO, "u32"),
} as const;

/** The address attributes: where the row keeps them and their presence bits. */
const ADDRESSES = {
  address: { off: L.AD_ADDRESS, bit: L.AD_HAS_ADDRESS },
  local: { off: L.AD_LOCAL, bit: L.AD_HAS_LOCAL },
  broadcast: { off: L.AD_BROADCAST, bit: L.AD_HAS_BROADCAST },
} as const;

/** Encodes an RTM_*ADDR request into the request region; returns its length. */
export function encodeAddr(c: CodecBase, type: number, nlFlags: number, seq: number, spec: AddrSpec): number {
  const s = c.scratch(type, nlFlags, seq);
  const dv = c.dv;
  writeField(dv, s, ADDR.family, spec.family, "addr family");
  const alen = addrLen(spec.family);
  writeField(dv, s, ADDR.prefixlen, spec.prefixlen, "addr prefixlen");
  writeField(dv, s, ADDR.ifaFlags, spec.ifaFlags, "addr ifaFlags");
  writeField(dv, s, ADDR.scope, spec.scope, "addr scope");
  writeField(dv, s, ADDR.index, spec.index, "addr index");
  let present = 0;
  for (const [name, a] of Object.entries(ADDRESSES) as [keyof typeof ADDRESSES, (typeof ADDRESSES)[keyof typeof ADDRESSES]][]) {
    const bytes = spec[name];
    if (bytes === undefined) continue;
    c.putAddr(s + a.off, bytes, alen, `addr ${name}`);
    present |= a.bit;
  }
  if (spec.label !== undefined) {
    c.putStr(s + L.AD_LABEL, spec.label, "addr label");
    present |= L.AD_HAS_LABEL;
  }
  if (spec.flags !== undefined) present |= writeField(dv, s, ADDR.flags, spec.flags, "addr flags");
  return c.emit(s, ADDR.present, present, "encodeAddr");
}

/** Address rows (struct ifaddrmsg + attributes). */
export class AddrRows extends Rows<typeof ADDR> {
  constructor(c: CodecBase) {
    super(c, "addr", ADDR);
  }

  private addr(i: number, which: keyof typeof ADDRESSES): Uint8Array | undefined {
    const a = ADDRESSES[which];
    if (!(this.present(i) & a.bit)) return undefined;
    const r = this.row(i);
    return this.c.u8.slice(r + a.off, r + a.off + addrLen(this.family(i)));
  }

  family(i: number): number { return this.get(i, "family"); }
  prefixlen(i: number): number { return this.get(i, "prefixlen"); }
  scope(i: number): number { return this.get(i, "scope"); }
  index(i: number): number { return this.get(i, "index"); }
  /** IFA_FLAGS if present, else ifa_flags. */
  flags(i: number): number { return this.has(i, "flags") ? this.get(i, "flags") : this.get(i, "ifaFlags"); }
  /** ifa_flags (8-bit header field) */
  ifaFlags(i: number): number { return this.get(i, "ifaFlags"); }
  address(i: number): Uint8Array | undefined { return this.addr(i, "address"); }
  local(i: number): Uint8Array | undefined { return this.addr(i, "local"); }
  broadcast(i: number): Uint8Array | undefined { return this.addr(i, "broadcast"); }
  label(i: number): string { return cstr(this.c.u8, this.row(i) + L.AD_LABEL, 16); }
  /** IFA_PROTO (IFAPROT_*), 0 if absent. */
  proto(i: number): number { return this.get(i, "proto"); }
  /** struct ifa_cacheinfo: preferred and valid lifetimes in seconds (0xffffffff = forever). */
  lifetimes(i: number): { preferred: number; valid: number } | undefined {
    if (!(this.present(i) & L.AD_HAS_CACHEINFO)) return undefined;
    return { preferred: this.get(i, "preferred"), valid: this.get(i, "valid") };
  }
}

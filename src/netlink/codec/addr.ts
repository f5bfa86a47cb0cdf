// Address messages (struct ifaddrmsg + attributes, codec/addr.ts): the request spec, its encoder
// and the row reader. The plain attributes (in ADDR_ATTRS of codec/layout.ts) are one line each in
// PLAIN, which gives their AddrSpec member, their encoding and their AddrRows reader; the other
// fields are described once in ADDR.
import * as L from "../../../codec/layout.ts";
import { address, attrField, type CodecBase, cstr, field, num, PlainAttrs, type PlainReaders, type PlainSpec, Rows, writeField } from "./base";

/** The plain attributes, by attribute type in L.ADDR_ATTRS: AddrSpec members and AddrRows readers. */
const PLAIN = {
  /** IFA_ADDRESS, undefined if absent. */
  address: address(1),
  /** IFA_LOCAL, undefined if absent. */
  local: address(2),
  /** IFA_BROADCAST, undefined if absent. */
  broadcast: address(4),
  /** IFA_PROTO (IFAPROT_*), 0 if absent. */
  proto: num(11),
} as const;

const plain = new PlainAttrs(L.ADDR_ATTRS, PLAIN, "addr", field(L.AD_FAMILY, 0, "u8"));

export interface AddrSpec extends PlainSpec<typeof PLAIN> {
  family: number;
  prefixlen: number;
  /** ifa_flags, the 8-bit header field. */
  ifaFlags?: number;
  scope?: number;
  index: number;
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
  ...plain.fields,
  flags: attrField(L.ADDR_ATTRS, 8), // IFA_FLAGS
  preferred: field(L.AD_CACHEINFO, L.AD_HAS_CACHEINFO, "u32"),
  valid: field(L.AD_CACHEINFO + 4, L.AD_HAS_CACHEINFO, "u32"),
} as const;

/** Encodes an RTM_*ADDR request into the request region; returns its length. */
export function encodeAddr(c: CodecBase, type: number, nlFlags: number, seq: number, spec: AddrSpec): number {
  const s = c.scratch(type, nlFlags, seq);
  const dv = c.dv;
  writeField(dv, s, ADDR.family, spec.family, "addr family");
  writeField(dv, s, ADDR.prefixlen, spec.prefixlen, "addr prefixlen");
  writeField(dv, s, ADDR.ifaFlags, spec.ifaFlags, "addr ifaFlags");
  writeField(dv, s, ADDR.scope, spec.scope, "addr scope");
  writeField(dv, s, ADDR.index, spec.index, "addr index");
  let present = plain.encode(c, s, spec, spec.family);
  if (spec.label !== undefined) {
    c.putStr(s + L.AD_LABEL, spec.label, "addr label");
    present |= L.AD_HAS_LABEL;
  }
  if (spec.flags !== undefined) present |= writeField(dv, s, ADDR.flags, spec.flags, "addr flags");
  return c.emit(s, ADDR.present, present, "encodeAddr");
}

/** The readers of PLAIN, defined on the prototype by plain.install() below. */
export interface AddrRows extends PlainReaders<typeof PLAIN> {}

/** Address rows (struct ifaddrmsg + attributes). */
export class AddrRows extends Rows<typeof ADDR> {
  constructor(c: CodecBase) {
    super(c, "addr", ADDR);
  }

  family(i: number): number { return this.get(i, "family"); }
  prefixlen(i: number): number { return this.get(i, "prefixlen"); }
  scope(i: number): number { return this.get(i, "scope"); }
  index(i: number): number { return this.get(i, "index"); }
  /** IFA_FLAGS if present, else ifa_flags. */
  flags(i: number): number { return this.has(i, "flags") ? this.get(i, "flags") : this.get(i, "ifaFlags"); }
  /** ifa_flags (8-bit header field) */
  ifaFlags(i: number): number { return this.get(i, "ifaFlags"); }
  label(i: number): string { return cstr(this.c.u8, this.row(i) + L.AD_LABEL, 16); }
  /** struct ifa_cacheinfo: preferred and valid lifetimes in seconds (0xffffffff = forever). */
  lifetimes(i: number): { preferred: number; valid: number } | undefined {
    if (!(this.present(i) & L.AD_HAS_CACHEINFO)) return undefined;
    return { preferred: this.get(i, "preferred"), valid: this.get(i, "valid") };
  }
}

plain.install(AddrRows);

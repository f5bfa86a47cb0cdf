// Link messages (struct ifinfomsg + attributes, codec/link.ts): the request spec, its encoder and
// the row reader. The plain attributes (numbers, in LINK_ATTRS of codec/layout.ts) are one line
// each in PLAIN, which gives their LinkSpec member, their encoding and their LinkRows reader; the
// other fields are described once in LINK.
import * as L from "../../../codec/layout.ts";
import { attrField, type CodecBase, cstr, field, num, PlainAttrs, type PlainReaders, type PlainSpec, Rows, writeField } from "./base";

/** The plain attributes, by attribute type in L.LINK_ATTRS: LinkSpec members and LinkRows readers. */
const PLAIN = {
  /** IFLA_OPERSTATE (IF_OPER_*), 0 if absent. */
  operstate: num(16),
  /** IFLA_MTU, 0 if absent. */
  mtu: num(4),
  /** IFLA_LINK (lower device / veth peer), 0 if absent. */
  link: num(5),
  /** IFLA_MASTER, 0 if none; in a request 0 releases the device from its master. */
  master: num(10),
  /** IFLA_NET_NS_FD (requests: move the device to that netns), 0 if absent. */
  netnsFd: num(28),
} as const;

const plain = new PlainAttrs(L.LINK_ATTRS, PLAIN, "link", field(L.LN_FAMILY, 0, "u8"));

export interface LinkSpec extends PlainSpec<typeof PLAIN> {
  family?: number;
  index?: number;
  flags?: number;
  change?: number;
  ifname?: string;
  address?: Uint8Array;
  /** IFLA_INFO_KIND; IFLA_INFO_DATA is sent for macvlan/macvtap, ipvlan/ipvtap and vrf. */
  kind?: string;
  /** IFLA_MACVLAN_MODE (u32) or IFLA_IPVLAN_MODE (u16), by kind. */
  mode?: number;
  vrfTable?: number;
  ipvlanFlags?: number;
}

const LINK = {
  family: field(L.LN_FAMILY, 0, "u8"),
  index: field(L.LN_INDEX, 0, "i32"),
  flags: field(L.LN_FLAGS, 0, "u32"),
  change: field(L.LN_CHANGE, 0, "u32"),
  ifiType: field(L.LN_TYPE, 0, "u16"),
  present: field(L.LN_PRESENT, 0, "u32"),
  ...plain.fields,
  addressLen: field(L.LN_ADDRESS_LEN, L.LN_HAS_ADDRESS, "u8"),
  linkNetnsId: attrField(L.LINK_ATTRS, 37), // IFLA_LINK_NETNSID
  mode: field(L.LN_MODE, L.LN_HAS_MODE, "u32"),
  vrfTable: field(L.LN_VRF_TABLE, L.LN_HAS_VRF_TABLE, "u32"),
  ipvlanFlags: field(L.LN_IPVLAN_FLAGS, L.LN_HAS_IPVLAN_FLAGS, "u16"),
} as const;

/** IFLA_INFO_DATA attributes: only with a kind. */
const KIND_DATA = ["mode", "vrfTable", "ipvlanFlags"] as const;

/** Encodes an RTM_*LINK request into the request region; returns its length. */
export function encodeLink(c: CodecBase, type: number, nlFlags: number, seq: number, spec: LinkSpec): number {
  const s = c.scratch(type, nlFlags, seq);
  const dv = c.dv;
  writeField(dv, s, LINK.family, spec.family, "link family");
  writeField(dv, s, LINK.index, spec.index, "link index");
  writeField(dv, s, LINK.flags, spec.flags, "link flags");
  writeField(dv, s, LINK.change, spec.change, "link change");
  let present = 0;
  if (spec.ifname !== undefined) {
    c.putStr(s + L.LN_IFNAME, spec.ifname, "link ifname");
    present |= L.LN_HAS_IFNAME;
  }
  present |= plain.encode(c, s, spec, spec.family ?? 0);
  if (spec.address !== undefined) {
    const a = spec.address;
    if (!(a instanceof Uint8Array) || a.length === 0 || a.length > 32) throw new RangeError(`link address: 1..32 bytes expected`);
    c.u8.set(a, s + L.LN_ADDRESS);
    present |= writeField(dv, s, LINK.addressLen, a.length, "link address");
  }
  if (spec.kind !== undefined) {
    c.putStr(s + L.LN_KIND, spec.kind, "link kind");
    present |= L.LN_HAS_KIND;
    for (const name of KIND_DATA) {
      if (spec[name] !== undefined) present |= writeField(dv, s, LINK[name], spec[name], `link ${name}`);
    }
  } else if (KIND_DATA.some((name) => spec[name] !== undefined)) {
    throw new RangeError("link mode/vrfTable/ipvlanFlags need a kind");
  }
  return c.emit(s, LINK.present, present, "encodeLink");
}

/** The readers of PLAIN, defined on the prototype by plain.install() below. */
export interface LinkRows extends PlainReaders<typeof PLAIN> {}

/** Link rows (struct ifinfomsg + attributes). */
export class LinkRows extends Rows<typeof LINK> {
  constructor(c: CodecBase) {
    super(c, "link", LINK);
  }

  family(i: number): number { return this.get(i, "family"); }
  index(i: number): number { return this.get(i, "index"); }
  /** ifi_flags (IFF_*) */
  flags(i: number): number { return this.get(i, "flags"); }
  change(i: number): number { return this.get(i, "change"); }
  /** ifi_type (ARPHRD_*) */
  ifiType(i: number): number { return this.get(i, "ifiType"); }
  /** IFLA_ADDRESS, addr_len bytes (empty if absent). */
  address(i: number): Uint8Array {
    const r = this.row(i);
    return this.c.u8.slice(r + L.LN_ADDRESS, r + L.LN_ADDRESS + this.get(i, "addressLen"));
  }
  ifname(i: number): string { return cstr(this.c.u8, this.row(i) + L.LN_IFNAME, 16); }
  /** IFLA_INFO_KIND, "" if none. */
  kind(i: number): string { return cstr(this.c.u8, this.row(i) + L.LN_KIND, 16); }
  /** IFLA_MACVLAN_MODE / IFLA_IPVLAN_MODE */
  mode(i: number): number { return this.get(i, "mode"); }
  vrfTable(i: number): number { return this.get(i, "vrfTable"); }
  ipvlanFlags(i: number): number { return this.get(i, "ipvlanFlags"); }
  /** IFLA_LINK_NETNSID, -1 if absent. */
  linkNetnsId(i: number): number {
    return this.has(i, "linkNetnsId") ? this.get(i, "linkNetnsId") : -1;
  }
}

plain.install(LinkRows);

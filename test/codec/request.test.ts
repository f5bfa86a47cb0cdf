// The encoders against iproute2: vectors/request.txt holds the bytes `ip` sent for each command
// (captured with strace by capture.py, in a netns with veth0=10 veth1=11 veth2=12 veth4=14
// veth5=15 br0=30). For each one we encode the same request and compare.
//
// iproute2 leaves garbage in attribute padding (the kernel ignores it), so padding is zeroed
// first. Then, per case:
//   exact:     iproute2's attribute order is the kernel's dump order (the codec's): identical bytes;
//   reordered: iproute2 appends RTA_OIF and RTA_METRICS last, puts IFA_LOCAL first, ...: identical
//              header, the same attribute bytes in another order;
//   fields:    iproute2 sends IFLA_INFO_KIND without its NUL (the kernel dumps it with one and
//              accepts both): as "reordered" for every other attribute, and IFLA_LINKINFO must
//              parse into the same row.
import { describe, expect, test } from "bun:test";
import { ensureWasm, block, hex, ip, loadVectors, split, zeroPadding } from "./helpers";
import type { AddrSpec, LinkSpec, RouteSpec } from "../../src/netlink/codec.ts";

ensureWasm();
const { Codec, codec, STATUS_MORE } = await import("../../src/netlink/codec.ts");

const reqs = loadVectors("request.txt");
const AF_INET = 2;
const AF_INET6 = 10;
const NEW = 0x605; // NLM_F_REQUEST|NLM_F_ACK|NLM_F_EXCL|NLM_F_CREATE
const SET = 0x5; // NLM_F_REQUEST|NLM_F_ACK

type How = "exact" | "reordered" | "fields";
type Case =
  | { name: string; how: How; route: [number, number, RouteSpec] }
  | { name: string; how: How; link: [number, number, LinkSpec] }
  | { name: string; how: How; addr: [number, number, AddrSpec] };

const cases: Case[] = [
  { name: "route4-single", how: "exact", route: [24, NEW, { family: AF_INET, dstLen: 26, table: 254, dst: ip("192.0.2.64"), priority: 100, gateway: ip("10.0.0.2"), oif: 10 }] },
  { name: "route4-multipath-table", how: "exact", route: [24, NEW, { family: AF_INET, dstLen: 26, table: 1000, dst: ip("198.51.100.64"), priority: 20,
    nexthops: [{ ifindex: 10, gateway: ip("10.0.0.2"), weight: 1 }, { ifindex: 12, gateway: ip("10.0.1.2"), weight: 3 }] }] },
  { name: "route4-via6", how: "exact", route: [24, NEW, { family: AF_INET, dstLen: 16, table: 254, dst: ip("100.70.0.0"), gateway: ip("2001:db8::2"), viaFamily: AF_INET6, oif: 10 }] },
  { name: "route4-multipath-via6", how: "exact", route: [24, NEW, { family: AF_INET, dstLen: 16, table: 254, dst: ip("100.71.0.0"),
    nexthops: [{ ifindex: 10, gateway: ip("2001:db8::2"), viaFamily: AF_INET6 }, { ifindex: 12, gateway: ip("10.0.1.2"), weight: 2 }] }] },
  { name: "route4-metrics", how: "reordered", route: [24, NEW, { family: AF_INET, dstLen: 16, table: 254, dst: ip("100.72.0.0"), protocol: 4,
    gateway: ip("10.0.0.2"), oif: 10, prefsrc: ip("10.0.0.1"), mtu: 1400, advmss: 1360 }] },
  { name: "route4-device", how: "exact", route: [24, NEW, { family: AF_INET, dstLen: 16, table: 254, dst: ip("100.73.0.0"), oif: 12 }] },
  { name: "route4-default", how: "reordered", route: [24, NEW, { family: AF_INET, dstLen: 0, table: 1002, gateway: ip("10.0.1.2"), oif: 12 }] },
  { name: "route6-multipath-table", how: "exact", route: [24, NEW, { family: AF_INET6, dstLen: 48, table: 1000, dst: ip("2001:db8:500::"), priority: 50,
    nexthops: [{ ifindex: 10, gateway: ip("2001:db8::2"), weight: 1 }, { ifindex: 12, gateway: ip("2001:db8:1::2"), weight: 2 }] }] },
  { name: "route6-pref-mtu", how: "reordered", route: [24, NEW, { family: AF_INET6, dstLen: 48, table: 254, dst: ip("2001:db8:600::"),
    gateway: ip("2001:db8::2"), oif: 10, priority: 10, pref: 1, mtu: 1300 }] },
  // iproute2 deletes with rtm_type RTN_UNSPEC (the codec's default is RTN_UNICAST): say so
  { name: "route4-del", how: "exact", route: [25, SET, { family: AF_INET, dstLen: 26, table: 254, type: 0, dst: ip("192.0.2.64"), priority: 100,
    gateway: ip("10.0.0.2"), oif: 10 }] },
  { name: "route6-del-sibling", how: "exact", route: [25, SET, { family: AF_INET6, dstLen: 48, table: 1000, type: 0, dst: ip("2001:db8:500::"), priority: 50,
    nexthops: [{ ifindex: 12, gateway: ip("2001:db8:1::2") }] }] },
  { name: "addr4", how: "reordered", addr: [20, NEW, { family: AF_INET, prefixlen: 24, index: 14, local: ip("10.0.5.1"), address: ip("10.0.5.1") }] },
  { name: "addr4-brd-label", how: "reordered", addr: [20, NEW, { family: AF_INET, prefixlen: 24, index: 14, local: ip("10.0.6.1"), address: ip("10.0.6.1"),
    broadcast: ip("10.0.6.255"), label: "veth4:x" }] },
  { name: "addr6-nodad", how: "exact", addr: [20, NEW, { family: AF_INET6, prefixlen: 64, ifaFlags: 0x02, index: 14, local: ip("2001:db8:5::1"), address: ip("2001:db8:5::1") }] },
  { name: "addr4-del", how: "reordered", addr: [21, SET, { family: AF_INET, prefixlen: 24, index: 14, local: ip("10.0.5.1"), address: ip("10.0.5.1") }] },
  { name: "link-macvlan", how: "fields", link: [16, NEW, { index: 21, ifname: "mv1", link: 11, kind: "macvlan", mode: 4 }] },
  { name: "link-mtu", how: "exact", link: [16, SET, { index: 14, mtu: 1400 }] },
  { name: "link-up", how: "exact", link: [16, SET, { index: 14, flags: 1, change: 1 }] },
  { name: "link-nomaster", how: "exact", link: [16, SET, { index: 15, master: 0 }] },
  { name: "link-master", how: "exact", link: [16, SET, { index: 15, master: 30 }] },
  { name: "link-del", how: "exact", link: [17, SET, { index: 21 }] },
  { name: "link-vrf", how: "fields", link: [16, NEW, { ifname: "vrf-blue", kind: "vrf", vrfTable: 1001 }] },
  { name: "link-ipvlan", how: "fields", link: [16, NEW, { ifname: "ipv0", link: 11, kind: "ipvlan", mode: 1, ipvlanFlags: 1 }] },
];

function linkRow(m: Uint8Array) {
  const d = new Codec();
  d.recvView().set(m);
  expect(d.parse(m.length)).toBe(STATUS_MORE);
  const l = d.links;
  return { present: l.present(0), ifname: l.ifname(0), kind: l.kind(0), mode: l.mode(0), vrfTable: l.vrfTable(0), ipvlanFlags: l.ipvlanFlags(0), link: l.link(0), index: l.index(0) };
}

describe("encoders against the requests iproute2 sends", () => {
  test("every captured request has a case", () => {
    expect(reqs.map((b) => b.name).sort()).toEqual(cases.map((c) => `req.${c.name}`).sort());
  });

  for (const c of cases) {
    test(`${c.name}: ${block(reqs, `req.${c.name}`).description}`, () => {
      const theirs = zeroPadding(block(reqs, `req.${c.name}`).bytes);
      const seq = new DataView(theirs.buffer).getUint32(8, true);
      let n: number;
      if ("route" in c) n = codec.encodeRoute(c.route[0], c.route[1], seq, c.route[2]);
      else if ("link" in c) n = codec.encodeLink(c.link[0], c.link[1], seq, c.link[2]);
      else n = codec.encodeAddr(c.addr[0], c.addr[1], seq, c.addr[2]);
      const ours = Uint8Array.from(codec.requestView(n));
      if (c.how === "exact") expect(hex(ours)).toBe(hex(theirs));
      else if (c.how === "reordered") {
        expect(hex(ours)).not.toBe(hex(theirs)); // else mark it exact
        expect(ours.length).toBe(theirs.length);
        expect(split(ours)).toEqual(split(theirs));
      } else {
        const noLinkinfo = (m: Uint8Array) => {
          const s = split(m);
          return { head: s.head, attrs: s.attrs.filter((a) => a.slice(4, 8) !== "1200") };
        };
        expect(noLinkinfo(ours)).toEqual(noLinkinfo(theirs));
        expect(linkRow(ours)).toEqual(linkRow(theirs));
      }
      // and the codec parses iproute2's request
      codec.reset();
      codec.recvView().set(theirs);
      expect(codec.parse(theirs.length)).toBe(STATUS_MORE);
    });
  }
});

describe("encoder details", () => {
  test("encodeDump: zeroed family struct, NLM_F_REQUEST|NLM_F_DUMP", () => {
    expect(hex(codec.requestView(codec.encodeDump(26, 7, AF_INET6)))).toBe("1c0000001a00010307000000000000000a0000000000000000000000");
    expect(hex(codec.requestView(codec.encodeDump(18, 1, 0)))).toBe("2000000012000103010000000000000000000000000000000000000000000000");
    expect(hex(codec.requestView(codec.encodeDump(22, 2, AF_INET)))).toBe("180000001600010302000000000000000200000000000000");
    expect(() => codec.encodeDump(24, 1, 0)).toThrow(RangeError);
  });

  test("encodeRouteDump: rtmsg with family and table, RTA_TABLE and RTA_OIF as filters", () => {
    const req = (seq: number, family: number, filter: { table?: number; oif?: number }) => hex(codec.requestView(codec.encodeRouteDump(seq, family, filter)));
    // no filter: the same bytes as encodeDump
    expect(req(7, AF_INET6, {})).toBe(hex(codec.requestView(codec.encodeDump(26, 7, AF_INET6))));
    // table 254: rtm_table and RTA_TABLE (type 15)
    expect(req(7, AF_INET, { table: 254 })).toBe("240000001a0001030700000000000000" + "02000000fe00000000000000" + "08000f00fe000000");
    // table 1000 does not fit rtm_table (left 0); device 5 in RTA_OIF (type 4)
    expect(req(9, AF_INET6, { table: 1000, oif: 5 })).toBe("2c0000001a0001030900000000000000" + "0a0000000000000000000000" + "08000f00e8030000" + "0800040005000000");
    // device alone, every table
    expect(req(3, AF_INET, { oif: 0x01020304 })).toBe("240000001a0001030300000000000000" + "020000000000000000000000" + "0800040004030201");
    expect(() => codec.encodeRouteDump(1, AF_INET, { table: -1 })).toThrow(RangeError);
    expect(() => codec.encodeRouteDump(1, 256, {})).toThrow(RangeError);
  });

  test("defaults: protocol, scope and table header as iproute2 chooses them", () => {
    const row = (type: number, spec: RouteSpec) => {
      const n = codec.encodeRoute(type, SET, 1, spec);
      return Array.from(codec.requestView(n).subarray(16, 24)); // family dst_len src_len tos table protocol scope type
    };
    expect(row(24, { family: AF_INET, dstLen: 0, table: 254, gateway: ip("10.0.0.1") })).toEqual([2, 0, 0, 0, 254, 3, 0, 1]);
    expect(row(24, { family: AF_INET, dstLen: 0, table: 254, oif: 3 })).toEqual([2, 0, 0, 0, 254, 3, 253, 1]);
    expect(row(24, { family: AF_INET, dstLen: 32, table: 255, type: 2, dst: ip("10.0.0.1"), oif: 3 })).toEqual([2, 32, 0, 0, 255, 3, 254, 2]);
    expect(row(25, { family: AF_INET, dstLen: 0, table: 1000 })).toEqual([2, 0, 0, 0, 0, 0, 255, 1]);
    expect(row(25, { family: AF_INET6, dstLen: 0, table: 254 })).toEqual([10, 0, 0, 0, 254, 0, 0, 1]);
    expect(row(24, { family: AF_INET6, dstLen: 0, table: 254, oif: 3 })).toEqual([10, 0, 0, 0, 254, 3, 0, 1]);
  });

  test("table > 255: rtm_table RT_TABLE_UNSPEC plus RTA_TABLE; table <= 255: header only", () => {
    let n = codec.encodeRoute(24, NEW, 1, { family: AF_INET, dstLen: 0, table: 100000, oif: 2 });
    expect(hex(codec.requestView(n).subarray(20, 36))).toBe("0003fd01" + "00000000" + "08000f00a0860100");
    n = codec.encodeRoute(24, NEW, 1, { family: AF_INET, dstLen: 0, table: 100, oif: 2 });
    expect(hex(codec.requestView(n).subarray(20, 36))).toBe("6403fd01" + "00000000" + "0800040002000000");
  });

  test("invalid specs throw RangeError before anything is sent", () => {
    const base = { family: AF_INET, dstLen: 24, table: 254 };
    expect(() => codec.encodeRoute(24, NEW, 1, { ...base, dst: ip("2001:db8::") })).toThrow(RangeError);
    expect(() => codec.encodeRoute(24, NEW, 1, { ...base, gateway: ip("2001:db8::1") })).toThrow(RangeError);
    expect(() => codec.encodeRoute(24, NEW, 1, { ...base, nexthops: [] })).toThrow(RangeError);
    expect(() => codec.encodeRoute(24, NEW, 1, { ...base, nexthops: [{ ifindex: 1, weight: 257 }] })).toThrow(RangeError);
    expect(() => codec.encodeRoute(24, NEW, 1, { ...base, nexthops: [{ ifindex: 1, weight: 0 }] })).toThrow(RangeError);
    expect(() => codec.encodeRoute(24, NEW, 1, { ...base, table: -1 })).toThrow(RangeError);
    expect(() => codec.encodeLink(16, NEW, 1, { ifname: "a-name-longer-than-15" })).toThrow(RangeError);
    expect(() => codec.encodeLink(16, NEW, 1, { mode: 4 })).toThrow(RangeError);
    expect(() => codec.encodeAddr(20, NEW, 1, { family: AF_INET6, prefixlen: 64, index: 1, local: ip("10.0.0.1") })).toThrow(RangeError);
    expect(() => codec.encodeAddr(20, NEW, 1, { family: AF_INET, prefixlen: 24, index: 1, ifaFlags: 0x100 })).toThrow(RangeError);
  });

  test("the largest multipath that fits: 2048 IPv6 nexthops overflow RTA_MULTIPATH's u16 length", () => {
    const many = (n: number) => Array.from({ length: n }, (_, k) => ({ ifindex: k + 1, gateway: ip("2001:db8::1") }));
    const spec = (n: number): RouteSpec => ({ family: AF_INET6, dstLen: 0, table: 254, nexthops: many(n) });
    // 28 bytes per IPv6 nexthop: 2340 fit in 65535 - 4, the scratch table holds 2048
    const n = codec.encodeRoute(24, NEW, 1, spec(2048));
    expect(n).toBe(16 + 12 + 4 + 2048 * 28);
    expect(() => codec.encodeRoute(24, NEW, 1, spec(2049))).toThrow(RangeError);
    const v4 = Array.from({ length: 2048 }, (_, k) => ({ ifindex: k + 1, gateway: ip("10.0.0.1"), viaFamily: AF_INET6 }));
    expect(() => codec.encodeRoute(24, NEW, 1, { family: AF_INET, dstLen: 0, table: 254, nexthops: v4.map((x) => ({ ...x, gateway: ip("2001:db8::1") })) })).toThrow(RangeError);
  });
});

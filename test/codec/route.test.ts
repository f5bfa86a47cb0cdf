// Route messages captured from the kernel (vectors/route.txt, made by capture.py; the commands
// are listed at the top of that file): parse every datagram, check the fields of the routes the
// setup created, and re-emit every route message byte for byte.
import { describe, expect, test } from "bun:test";
import { ensureWasm, hex, ip, loadVectors, messages, msgType } from "./helpers";

ensureWasm();
const { Codec, STATUS_DONE, STATUS_MORE } = await import("../../src/netlink/codec.ts");
const L = await import("../../codec/layout.ts");

const AF_INET = 2;
const AF_INET6 = 10;
const blocks = loadVectors("route.txt");
const c = new Codec();
const original: Uint8Array[] = [];
const statuses: number[] = [];
for (const b of blocks) {
  for (const m of messages(b.bytes)) if (msgType(m) === 24) original.push(m);
  c.recvView().set(b.bytes);
  statuses.push(c.parse(b.bytes.length));
}
const r = c.routes;

/** Row of the route with this destination (text as `ip route` prints it) in `table`. */
function find(family: number, dst: string, len: number, table: number): number {
  const want = hex(ip(dst));
  for (let i = 0; i < r.count; i++) {
    if (r.family(i) === family && r.dstLen(i) === len && r.table(i) === table && hex(r.dst(i)) === want) return i;
  }
  throw new Error(`no route ${dst}/${len} table ${table}`);
}

describe("route dumps from the kernel", () => {
  test("every datagram parses; the dump ends with NLMSG_DONE", () => {
    expect(statuses).toEqual([STATUS_MORE, STATUS_DONE, STATUS_MORE, STATUS_DONE]);
    expect(r.count).toBe(original.length);
    expect(r.count).toBe(44);
  });

  test("every route message re-encodes byte for byte", () => {
    for (let i = 0; i < r.count; i++) {
      const n = c.reencodeRoute(i);
      expect({ i, bytes: hex(c.requestView(n)) }).toEqual({ i, bytes: hex(original[i]) });
    }
  });

  // ip route add 198.51.100.0/24 nexthop via 10.0.0.2 dev veth0 weight 1 nexthop via 10.0.1.2 dev veth2 weight 3
  test("IPv4 multipath in main: RTA_MULTIPATH, no top-level RTA_OIF/RTA_GATEWAY", () => {
    const i = find(AF_INET, "198.51.100.0", 24, 254);
    expect(r.type(i)).toBe(24);
    expect(r.present(i)).toBe(L.RT_HAS_TABLE | L.RT_HAS_DST | L.RT_HAS_MULTIPATH);
    expect(r.oif(i)).toBe(0);
    expect(r.gateway(i)).toBeUndefined();
    expect(r.priority(i)).toBe(0);
    expect([r.protocol(i), r.scope(i), r.routeType(i), r.tos(i)]).toEqual([3, 0, 1, 0]);
    expect(r.nexthopCount(i)).toBe(2);
    expect([r.nhIfindex(i, 0), r.nhWeight(i, 0), r.nhFlags(i, 0), r.nhViaFamily(i, 0)]).toEqual([10, 1, 0, 0]);
    expect(r.nhGateway(i, 0)).toEqual(ip("10.0.0.2"));
    expect([r.nhIfindex(i, 1), r.nhWeight(i, 1)]).toEqual([12, 3]);
    expect(r.nhGateway(i, 1)).toEqual(ip("10.0.1.2"));
    expect(r.usesIfindex(i, 12)).toBe(true);
    expect(r.usesIfindex(i, 14)).toBe(false);
  });

  // ip route add 203.0.113.0/24 table 1000 metric 50 nexthop ... weight 2 nexthop ... weight 1
  test("IPv4 multipath in table 1000: rtm_table is RT_TABLE_COMPAT, RTA_TABLE has the id", () => {
    const i = find(AF_INET, "203.0.113.0", 24, 1000);
    const row = original[i];
    expect(row[16 + 4]).toBe(252); // rtm_table in the captured bytes
    expect(r.priority(i)).toBe(50);
    expect([r.nhWeight(i, 0), r.nhWeight(i, 1)]).toEqual([2, 1]);
  });

  // ip route add 100.64.0.0/16 via inet6 2001:db8::2 dev veth0
  test("IPv4 route via an IPv6 gateway: RTA_VIA", () => {
    const i = find(AF_INET, "100.64.0.0", 16, 254);
    expect(r.present(i) & L.RT_HAS_VIA).toBe(L.RT_HAS_VIA);
    expect(r.present(i) & L.RT_HAS_GATEWAY).toBe(0);
    expect(r.viaFamily(i)).toBe(AF_INET6);
    expect(r.gateway(i)).toEqual(ip("2001:db8::2"));
    expect(r.oif(i)).toBe(10);
  });

  // ip route add 100.65.0.0/16 table 1000 nexthop via inet6 2001:db8::2 dev veth0 nexthop via 10.0.1.2 dev veth2 weight 2
  test("IPv4 multipath mixing RTA_VIA and RTA_GATEWAY nexthops", () => {
    const i = find(AF_INET, "100.65.0.0", 16, 1000);
    expect(r.nexthopCount(i)).toBe(2);
    expect(r.nhViaFamily(i, 0)).toBe(AF_INET6);
    expect(r.nhGateway(i, 0)).toEqual(ip("2001:db8::2"));
    expect(r.nhViaFamily(i, 1)).toBe(0);
    expect(r.nhGateway(i, 1)).toEqual(ip("10.0.1.2"));
    expect(r.nhWeight(i, 1)).toBe(2);
  });

  // ip route add 100.66.0.0/16 via 10.0.0.2 dev veth0 mtu 1400 advmss 1360 src 10.0.0.1 proto static
  test("IPv4 metrics, prefsrc and protocol", () => {
    const i = find(AF_INET, "100.66.0.0", 16, 254);
    expect([r.mtu(i), r.advmss(i), r.protocol(i)]).toEqual([1400, 1360, 4]);
    expect(r.prefsrc(i)).toEqual(ip("10.0.0.1"));
    expect(r.gateway(i)).toEqual(ip("10.0.0.2"));
    expect(r.nexthopCount(i)).toBe(0);
  });

  test("IPv4 device route, default route, local table", () => {
    const dev = find(AF_INET, "100.67.0.0", 16, 254);
    expect([r.scope(dev), r.oif(dev)]).toEqual([253, 12]);
    expect(r.gateway(dev)).toBeUndefined();
    const def = find(AF_INET, "0.0.0.0", 0, 254);
    expect(r.present(def) & L.RT_HAS_DST).toBe(0);
    expect(r.dst(def)).toEqual(new Uint8Array(4));
    expect(r.gateway(def)).toEqual(ip("10.0.0.2"));
    const local = find(AF_INET, "10.0.0.1", 32, 255);
    expect([r.routeType(local), r.scope(local), r.protocol(local)]).toEqual([2, 254, 2]);
  });

  // ip -6 route add 2001:db8:100::/48 nexthop via 2001:db8::2 dev veth0 weight 1 nexthop via 2001:db8:1::2 dev veth2 weight 2
  test("IPv6 multipath (siblings dumped as one route with RTA_MULTIPATH)", () => {
    const i = find(AF_INET6, "2001:db8:100::", 48, 254);
    expect(r.present(i)).toBe(L.RT_HAS_TABLE | L.RT_HAS_DST | L.RT_HAS_PRIORITY | L.RT_HAS_MULTIPATH | L.RT_HAS_PREF | L.RT_HAS_CACHEINFO);
    expect(r.priority(i)).toBe(1024);
    expect(r.nexthopCount(i)).toBe(2);
    expect(r.nhGateway(i, 0)).toEqual(ip("2001:db8::2"));
    expect(r.nhGateway(i, 1)).toEqual(ip("2001:db8:1::2"));
    expect([r.nhIfindex(i, 1), r.nhWeight(i, 1)]).toEqual([12, 2]);
    const t = find(AF_INET6, "2001:db8:200::", 48, 1000);
    expect([r.priority(t), r.nexthopCount(t)]).toEqual([50, 2]);
  });

  // ip -6 route add 2001:db8:300::/48 via 2001:db8::2 dev veth0 metric 10 pref high mtu 1300 advmss 1200
  test("IPv6 pref, metrics, gateway", () => {
    const i = find(AF_INET6, "2001:db8:300::", 48, 254);
    expect([r.priority(i), r.pref(i), r.mtu(i), r.advmss(i), r.oif(i)]).toEqual([10, 1, 1300, 1200, 10]);
    expect(r.gateway(i)).toEqual(ip("2001:db8::2"));
    const ll = find(AF_INET6, "2001:db8:400::", 48, 254);
    expect(r.gateway(ll)).toEqual(ip("fe80::2"));
    const def = find(AF_INET6, "::", 0, 254);
    expect(r.gateway(def)).toEqual(ip("2001:db8::2"));
  });

  test("row accessors reject rows and nexthops that do not exist", () => {
    expect(() => r.family(r.count)).toThrow(RangeError);
    expect(() => r.family(-1)).toThrow(RangeError);
    const single = find(AF_INET6, "::", 0, 254);
    expect(() => r.nhIfindex(single, 0)).toThrow(RangeError);
    expect(() => c.reencodeRoute(r.count)).toThrow(RangeError);
  });

  test("reset() empties the tables", () => {
    const d = new Codec();
    d.recvView().set(blocks[0].bytes);
    d.parse(blocks[0].bytes.length);
    expect(d.routes.count).toBe(20);
    d.reset();
    expect(d.routes.count).toBe(0);
    expect(d.status()).toBe(STATUS_MORE);
  });
});

// Dumps of a namespace with a VRF, captured in the test VM (vectors/vrf.txt, capture.py --vrf):
// the VRF device (kind, IFLA_VRF_TABLE), its enslaved devices (IFLA_MASTER, slave kind), and the
// routes of its table, which must re-emit byte for byte (vrf moves them by re-writing them).
import { describe, expect, test } from "bun:test";
import { ensureWasm, hex, ip, loadVectors, messages, msgType } from "./helpers";

ensureWasm();
const { Codec, STATUS_DONE } = await import("../../src/netlink/codec.ts");

function parse(prefix: string, lo: number, hi: number) {
  const c = new Codec();
  const original: Uint8Array[] = [];
  let status = 0;
  for (const b of loadVectors("vrf.txt").filter((x) => x.name.startsWith(prefix))) {
    for (const m of messages(b.bytes)) if (msgType(m) >= lo && msgType(m) <= hi) original.push(m);
    c.recvView().set(b.bytes);
    status = c.parse(b.bytes.length);
  }
  return { c, original, status };
}

describe("VRF link dump (kernel 6.1)", () => {
  const { c, original, status } = parse("link.", 16, 18);
  const l = c.links;
  const byName = (s: string) => {
    for (let i = 0; i < l.count; i++) if (l.ifname(i) === s) return i;
    throw new Error(`no link ${s}`);
  };
  test("one row per link; the VRF's kind and table; members point at it", () => {
    expect(status).toBe(STATUS_DONE);
    expect(l.count).toBe(original.length);
    const v = byName("vrf-blue");
    expect([l.index(v), l.kind(v), l.vrfTable(v), l.master(v)]).toEqual([40, "vrf", 1001, 0]);
    expect([l.master(byName("veth0")), l.kind(byName("veth0"))]).toEqual([40, "veth"]);
    expect([l.master(byName("dum0")), l.kind(byName("dum0"))]).toEqual([40, "dummy"]);
    expect(l.master(byName("veth1"))).toBe(0);
  });
  test("the VRF row re-emits as a link the codec parses back the same, twice identical", () => {
    const v = byName("vrf-blue");
    const n = c.reencodeLink(v);
    const d = new Codec();
    d.recvView().set(c.requestView(n));
    d.parse(n);
    expect([d.links.ifname(0), d.links.kind(0), d.links.vrfTable(0), d.links.index(0)]).toEqual(["vrf-blue", "vrf", 1001, 40]);
    expect(hex(d.requestView(d.reencodeLink(0)))).toBe(hex(c.requestView(c.reencodeLink(v))));
  });
});

for (const [prefix, family] of [["route4.", 4], ["route6.", 6]] as const) {
  describe(`VRF table routes, IPv${family} (kernel 6.1)`, () => {
    const { c, original, status } = parse(prefix, 24, 26);
    const r = c.routes;
    test("every route message re-encodes byte for byte", () => {
      expect(status).toBe(STATUS_DONE);
      expect(r.count).toBe(original.length);
      for (let i = 0; i < r.count; i++) {
        const n = c.reencodeRoute(i);
        expect({ i, bytes: hex(c.requestView(n)) }).toEqual({ i, bytes: hex(original[i]) });
      }
    });
    test("the multipath default in table 1001 keeps its weights", () => {
      let found = 0;
      for (let i = 0; i < r.count; i++) {
        if (r.table(i) !== 1001 || r.dstLen(i) !== 0 || r.nexthopCount(i) !== 2) continue;
        found++;
        expect([r.nhWeight(i, 0), r.nhWeight(i, 1)]).toEqual([1, 3]);
        expect(hex(r.nhGateway(i, 1)!)).toBe(hex(ip(family === 4 ? "198.51.100.2" : "2001:db8:1::2")));
        expect(r.nhIfindex(i, 0)).toBe(10);
      }
      expect(found).toBe(1);
    });
    if (family === 4) {
      test("onlink, metric, proto, src, mtu and advmss of a route in the VRF table", () => {
        let i = 0;
        while (i < r.count && !(r.table(i) === 1001 && r.dstLen(i) === 16)) i++;
        expect([r.priority(i), r.protocol(i), r.flags(i) & 4, r.oif(i), r.mtu(i), r.advmss(i)]).toEqual([77, 4, 4, 12, 1400, 1360]);
        expect(hex(r.prefsrc(i)!)).toBe(hex(ip("192.0.2.10")));
      });
    }
  });
}

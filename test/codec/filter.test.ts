// The codec's route filter (codec/route.ts, docs/codec.md "The route filter"): with a filter of
// (family, table, destinations) set, parse() keeps only the route messages of that family and
// table with one of those destinations. Every check parses the same datagrams twice, without and
// with the filter, and compares: the filtered rows must be exactly the unfiltered rows with a
// wanted key, in dump order, field for field (every reader, nexthops included) and byte for byte
// when re-emitted; the other route messages are counted as dropped. On the captured vectors
// (vectors/route.txt, vectors/vrf.txt: multipath, RTA_VIA, metrics, IPv6 cacheinfo, local and
// broadcast routes, tables > 255) and on a live multi-datagram dump of this kernel (root).
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureWasm, hex, ip, loadVectors, messages, msgType } from "./helpers";

ensureWasm();
const { Codec, STATUS_DONE, STATUS_MALFORMED, STATUS_MORE } = await import("../../src/netlink/codec.ts");
const { routeFromRow } = await import("../../src/netlink/route.ts");
const L = await import("../../codec/layout.ts");
type CodecT = InstanceType<typeof Codec>;

const AF_INET = 2;
const AF_INET6 = 10;
const RTM_NEWROUTE = 24;

interface Key { family: number; table: number; dst: Uint8Array; dstLen: number }
const keyText = (k: Key) => `${k.family}/${k.table}/${hex(k.dst)}/${k.dstLen}`;

/** Parses `dgrams` into `c` (after a reset); returns the last status. */
function parseAll(c: CodecT, dgrams: Uint8Array[]): number {
  c.reset();
  let status = STATUS_MORE;
  for (const d of dgrams) {
    c.recvView().set(d);
    status = c.parse(d.length);
  }
  return status;
}

/** Everything a row says: every reader (routeFromRow), its header and its bytes re-emitted. */
function rowOf(c: CodecT, i: number): unknown {
  const r = c.routes;
  return {
    route: routeFromRow(r, i), type: r.type(i), nlFlags: r.nlFlags(i), seq: r.seq(i), present: r.present(i),
    srcLen: r.srcLen(i), flags: r.flags(i), oif: r.oif(i), pref: r.pref(i), viaFamily: r.viaFamily(i),
    nh: Array.from({ length: r.nexthopCount(i) }, (_, k) => [r.nhViaFamily(i, k), r.nhGateway(i, k)]),
    bytes: hex(c.requestView(c.reencodeRoute(i))),
  };
}

function keyOf(c: CodecT, i: number): Key {
  const r = c.routes;
  return { family: r.family(i), table: r.table(i), dst: r.dst(i), dstLen: r.dstLen(i) };
}

/** A dump's routes, unfiltered: every row and its key. */
function unfiltered(dgrams: Uint8Array[]): { rows: unknown[]; keys: Key[] } {
  const c = new Codec();
  parseAll(c, dgrams);
  const rows: unknown[] = [], keys: Key[] = [];
  for (let i = 0; i < c.routes.count; i++) {
    rows.push(rowOf(c, i));
    keys.push(keyOf(c, i));
  }
  return { rows, keys };
}

/**
 * Parses `dgrams` with the filter (family, table, dsts) and checks the rows against the
 * unfiltered ones with a wanted key; returns how many rows were kept.
 */
function same(c: CodecT, dgrams: Uint8Array[], all: { rows: unknown[]; keys: Key[] }, family: number, table: number, dsts: Key[]): number {
  const want = new Set(dsts.map((d) => `${hex(d.dst)}/${d.dstLen}`));
  const expected = all.rows.filter((_, i) => {
    const k = all.keys[i];
    return k.family === family && (table === 0 || k.table === table) && want.has(`${hex(k.dst)}/${k.dstLen}`);
  });
  c.setRouteFilter(family, table, dsts.map((d) => ({ dst: d.dst, dstLen: d.dstLen })));
  try {
    parseAll(c, dgrams);
  } finally {
    c.clearRouteFilter();
  }
  const got = Array.from({ length: c.routes.count }, (_, i) => rowOf(c, i));
  expect({ family, table, got }).toEqual({ family, table, got: expected });
  expect(c.routes.dropped).toBe(all.rows.length - expected.length);
  return got.length;
}

/** The address bytes of a key's family (what the filter takes: 4 for IPv4). */
const short = (k: Key): Key => ({ ...k, dst: k.dst.subarray(0, k.family === AF_INET6 ? 16 : 4) });

function unique(keys: Key[]): Key[] {
  const m = new Map<string, Key>();
  for (const k of keys) m.set(keyText(k), short(k));
  return [...m.values()];
}

for (const file of ["route.txt", "vrf.txt"]) {
  describe(`route filter on the captured dumps of vectors/${file}`, () => {
    const blocks = loadVectors(file).filter((b) => b.name.startsWith("route"));
    const dgrams = blocks.map((b) => b.bytes);
    const all = unfiltered(dgrams);
    const keys = unique(all.keys);
    const tables = [...new Set(all.keys.map((k) => `${k.family}/${k.table}`))].map((s) => s.split("/").map(Number));
    const c = new Codec();

    test("the dump has what the comparison needs: both families, several tables", () => {
      expect(all.rows.length).toBeGreaterThan(20);
      expect(new Set(tables.map(([f]) => f))).toEqual(new Set([AF_INET, AF_INET6]));
      expect(tables.length).toBeGreaterThanOrEqual(4);
      if (file !== "vrf.txt") return;
      // vrf.txt: a prefix in the main table and in the VRF's (the filter's table test decides).
      const tablesOf = new Map<string, Set<number>>();
      for (const k of all.keys) {
        const p = `${k.family}/${hex(k.dst)}/${k.dstLen}`;
        tablesOf.set(p, (tablesOf.get(p) ?? new Set()).add(k.table));
      }
      expect([...tablesOf.values()].some((t) => t.size > 1)).toBe(true);
    });

    test("each key alone, in its own table and in any table (0): exactly its rows", () => {
      for (const k of keys) {
        expect(same(c, dgrams, all, k.family, k.table, [k])).toBeGreaterThan(0);
        same(c, dgrams, all, k.family, 0, [k]);
      }
    });

    test("all keys of a table at once, every other one, and none of them: the rows of the wanted keys", () => {
      for (const [family, table] of tables) {
        const mine = keys.filter((k) => k.family === family && k.table === table);
        expect(same(c, dgrams, all, family, table, mine)).toBe(all.keys.filter((k) => k.family === family && k.table === table).length);
        same(c, dgrams, all, family, table, mine.filter((_, i) => i % 2 === 0));
        expect(same(c, dgrams, all, family, table, [])).toBe(0);
      }
    });

    test("near misses keep nothing: another length, another address, the other family's dump, another table", () => {
      for (const k of keys) {
        const alen = k.dst.length;
        const other = Uint8Array.from(k.dst);
        other[alen - 1] ^= 1;
        const misses = [{ ...k, dstLen: k.dstLen === alen * 8 ? 0 : k.dstLen + 1 }, { ...k, dst: other }].filter(
          (m) => !keys.some((x) => x.family === k.family && x.table === k.table && keyText(short(x)) === keyText(m)),
        );
        for (const m of misses) expect(same(c, dgrams, all, k.family, k.table, [m])).toBe(0);
      }
      // An IPv4 key against the IPv6 messages and the other way round: the family decides first.
      for (const k of keys) {
        const family = k.family === AF_INET ? AF_INET6 : AF_INET;
        const dst = new Uint8Array(family === AF_INET6 ? 16 : 4);
        dst.set(k.dst.subarray(0, dst.length));
        same(c, dgrams, all, family, 0, [{ ...k, family, dst, dstLen: Math.min(k.dstLen, dst.length * 8) }]);
      }
      expect(same(c, dgrams, all, AF_INET, 4242, keys.filter((k) => k.family === AF_INET))).toBe(0);
    });

    test("many keys (the key area grows past its first size), repeated keys: still exactly the wanted rows", () => {
      for (const family of [AF_INET, AF_INET6]) {
        const extra: Key[] = Array.from({ length: 3 * L.RF_CAP_INIT + 5 }, (_, i) => {
          const dst = new Uint8Array(family === AF_INET6 ? 16 : 4);
          dst[0] = 240;
          dst[1] = i >> 8;
          dst[2] = i & 255;
          return { family, table: 0, dst, dstLen: family === AF_INET6 ? 64 : 24 };
        });
        const mine = keys.filter((k) => k.family === family);
        expect(same(c, dgrams, all, family, 0, [...extra, ...mine, ...mine])).toBe(all.keys.filter((k) => k.family === family).length);
      }
      expect(c.stateWord(L.ST_RF_CAP)).toBeGreaterThan(L.RF_CAP_INIT);
    });
  });
}

describe("route filter: state and bad input", () => {
  const dgrams = loadVectors("route.txt").filter((b) => b.name.startsWith("route")).map((b) => b.bytes);
  const all = unfiltered(dgrams);
  const four = unique(all.keys).filter((k) => k.family === AF_INET && k.table === 254);

  test("reset() keeps the filter (a repeated dump is filtered too); clearRouteFilter() ends it", () => {
    const c = new Codec();
    c.setRouteFilter(AF_INET, 254, four.slice(0, 1));
    parseAll(c, dgrams);
    const kept = c.routes.count;
    expect(kept).toBeGreaterThan(0);
    expect(parseAll(c, dgrams)).toBe(STATUS_DONE);
    expect(c.routes.count).toBe(kept);
    expect(c.routes.dropped).toBe(all.rows.length - kept);
    c.clearRouteFilter();
    parseAll(c, dgrams);
    expect(c.routes.count).toBe(all.rows.length);
    expect(c.routes.dropped).toBe(0);
  });

  test("a bad family, length or address is a RangeError and leaves no filter", () => {
    const c = new Codec();
    const k = { dst: four[0].dst, dstLen: four[0].dstLen };
    expect(() => c.setRouteFilter(0, 254, [k])).toThrow(RangeError);
    expect(() => c.setRouteFilter(AF_INET, 254, [k, { dst: ip("10.0.0.0"), dstLen: 33 }])).toThrow("length 33 is not 0..32");
    parseAll(c, dgrams);
    expect(c.routes.count).toBe(all.rows.length);
    c.setRouteFilter(AF_INET, 254, [k]);
    expect(() => c.setRouteFilter(AF_INET6, 254, [k])).toThrow("expected 16 address bytes, got 4");
    parseAll(c, dgrams);
    expect(c.routes.count).toBe(all.rows.length);
    expect(() => c.setRouteFilter(AF_INET, -1, [k])).toThrow(RangeError);
  });

  test("malformed attributes the filter reads are MALFORMED; a message dropped on its header is not read further", () => {
    const msg = messages(dgrams[0]).find((m) => msgType(m) === RTM_NEWROUTE && m[17] === 24)!; // rtm_dst_len 24
    expect(msg).toBeDefined();
    const bad = Uint8Array.from(msg);
    // RTA_TABLE comes first in an IPv4 dump: give it a length running past the message.
    const dv = new DataView(bad.buffer);
    expect(dv.getUint16(30, true)).toBe(15);
    dv.setUint16(28, bad.length);
    const c = new Codec();
    const parse = (m: Uint8Array) => {
      c.reset();
      c.recvView().set(m);
      return c.parse(m.length);
    };
    expect(parse(bad)).toBe(STATUS_MALFORMED); // no filter: the parse rejects it
    c.setRouteFilter(AF_INET, 254, [{ dst: ip("10.9.9.0"), dstLen: 24 }]);
    expect(parse(bad)).toBe(STATUS_MALFORMED); // a wanted length: the filter walks the attributes
    c.setRouteFilter(AF_INET, 254, [{ dst: ip("10.9.9.0"), dstLen: 16 }]);
    expect(parse(bad)).toBe(STATUS_MORE); // dropped on rtm_dst_len alone
    expect([c.routes.count, c.routes.dropped]).toEqual([0, 1]);
    c.clearRouteFilter();
  });
});

// ---- a live dump of this kernel: many datagrams, aliases of one prefix, every route type ----

const canRun = process.getuid?.() === 0;
const work = join(tmpdir(), `nh-filter-${process.pid}.batch`);
afterAll(() => rmSync(work, { force: true }));

describe("route filter on a live dump (root)", () => {
  test.skipIf(!canRun)("IPv4 and IPv6, main, table 100 and local: filtered rows are the unfiltered rows of the wanted keys", async () => {
    const { createNetns, sh } = await import("../lib/netns");
    const { captureDump } = await import("./capture-dump");
    using ns = createNetns();
    const lines = [
      "link add a0 type veth peer name a0p", "link add b0 type veth peer name b0p",
      "addr add 192.0.2.10/24 dev a0", "addr add 198.51.100.10/24 dev b0",
      "-6 addr add 2001:db8:1::10/64 dev a0 nodad", "-6 addr add 2001:db8:2::10/64 dev b0 nodad",
      "link set a0 up", "link set a0p up", "link set b0 up", "link set b0p up", "link set lo up",
      "route add default via 192.0.2.1 dev a0", "-6 route add default via 2001:db8:1::1 dev a0",
    ];
    for (let i = 0; i < 3000; i++) {
      const p = `10.${(i >> 8) & 255}.${i & 255}.0/24`;
      const t = i % 7 === 0 ? " table 100" : "";
      // Some prefixes of table 100 are in main too.
      if (i % 14 === 0) lines.push(`route add ${p} via 192.0.2.1 dev a0 metric 5`);
      if (i % 3 === 0) lines.push(`route add ${p}${t} nexthop via 192.0.2.1 dev a0 weight 2 nexthop via 198.51.100.1 dev b0`);
      else if (i % 3 === 1) lines.push(`route add ${p}${t} via 192.0.2.1 dev a0 metric 100 mtu 1400 advmss 1360 src 192.0.2.10 proto static`);
      else lines.push(`route add ${p}${t} dev b0 scope link`);
      // Aliases of the same prefix: another metric, another tos, another type.
      if (i % 10 === 0) lines.push(`route add ${p}${t} via 198.51.100.1 dev b0 metric 200`, `route add ${p}${t} tos 0x10 via 192.0.2.1 dev a0`);
      if (i % 25 === 0) lines.push(`route add blackhole ${p}${t} metric 300`, `route add unreachable ${p}${t} metric 400`);
    }
    for (let i = 0; i < 1500; i++) {
      const p = `2001:db8:100:${i.toString(16)}::/64`;
      const t = i % 7 === 0 ? " table 100" : "";
      if (i % 14 === 0) lines.push(`-6 route add ${p} via 2001:db8:2::1 dev b0 metric 5`);
      if (i % 2 === 0) lines.push(`-6 route add ${p}${t} nexthop via 2001:db8:1::1 dev a0 nexthop via 2001:db8:2::1 dev b0 weight 3`);
      else lines.push(`-6 route add ${p}${t} via 2001:db8:1::1 dev a0 metric 10 pref high mtu 1300`);
      if (i % 10 === 1) lines.push(`-6 route add ${p}${t} via 2001:db8:2::1 dev b0 metric 20`, `-6 route add prohibit ${p}${t} metric 30`);
    }
    // One batch per family (the links and IPv4 first, then `ip -6 -batch`).
    writeFileSync(work, lines.filter((l) => !l.startsWith("-6")).join("\n") + "\n");
    sh(["ip", "-n", ns.name, "-batch", work]);
    writeFileSync(work, lines.filter((l) => l.startsWith("-6")).map((l) => l.slice(3)).join("\n") + "\n");
    sh(["ip", "-6", "-n", ns.name, "-batch", work]);

    for (const family of [AF_INET, AF_INET6]) {
      const dgrams = captureDump(ns.path, family);
      expect(dgrams.length).toBeGreaterThan(3);
      const all = unfiltered(dgrams);
      const keys = unique(all.keys);
      const c = new Codec();
      // A prefix in main and in table 100: each table's filter keeps its own.
      const both = family === AF_INET ? ip("10.0.14.0") : ip("2001:db8:100:e::");
      const bothKey = { family, table: 0, dst: both, dstLen: family === AF_INET ? 24 : 64 };
      expect(same(c, dgrams, all, family, 254, [bothKey])).toBe(1);
      expect(same(c, dgrams, all, family, 100, [bothKey])).toBe(1);
      expect(same(c, dgrams, all, family, 0, [bothKey])).toBe(2);
      for (const table of [254, 100, 255]) {
        const mine = keys.filter((k) => k.family === family && k.table === table);
        expect(mine.length).toBeGreaterThan(0);
        // Every 37th key of the table and a few it does not have.
        const absent = family === AF_INET ? [ip("10.250.0.0"), ip("10.0.0.0")] : [ip("2001:db8:100:ffff::"), ip("2001:db8:100::")];
        const wanted = [...mine.filter((_, i) => i % 37 === 0), ...absent.map((dst) => ({ family, table, dst, dstLen: family === AF_INET ? 25 : 65 }))];
        const kept = same(c, dgrams, all, family, table, wanted);
        expect(kept).toBeGreaterThan(0);
        expect(same(c, dgrams, all, family, table, mine)).toBe(all.keys.filter((k) => k.family === family && k.table === table).length);
      }
      // The aliases of one prefix (metrics, tos, types) stay in dump order.
      const alias = family === AF_INET ? ip("10.0.50.0") : ip("2001:db8:100:1::");
      expect(same(c, dgrams, all, family, 254, [{ family, table: 254, dst: alias, dstLen: family === AF_INET ? 24 : 64 }])).toBeGreaterThanOrEqual(3);
    }
  }, 120_000);
});

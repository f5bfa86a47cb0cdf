// Table growth: a 100 000-route dump (half single-path, half 2-nexthop multipath, the shape the
// kernel sends for such a table: ~7 MB in ~218 datagrams of <= 32 KiB, see npm run bench) built from two route messages the
// kernel dumped (vectors/route.txt) with their destinations rewritten. The tables start small,
// so they fill up and move (memory.grow) many times; rows parsed before a move must be intact
// after it, and the codec's views must follow the new memory buffer.
import { describe, expect, test } from "bun:test";
import { ensureWasm, hex, ip, loadVectors, messages, msgType } from "./helpers";

ensureWasm();
const { Codec, STATUS_DONE, STATUS_MORE } = await import("../../src/netlink/codec.ts");
const L = await import("../../codec/layout.ts");

const ROUTES = 100_000;
const DATAGRAM = 32 * 1024;

// the kernel's bytes for "192.0.2.0/24 via 10.0.0.2 dev veth0 metric 100" and for
// "198.51.100.0/24 nexthop via 10.0.0.2 dev veth0 weight 1 nexthop via 10.0.1.2 dev veth2 weight 3"
const dumped = loadVectors("route.txt").flatMap((b) => messages(b.bytes)).filter((m) => msgType(m) === 24);
const dstOf = (m: Uint8Array) => hex(m.subarray(16 + 12 + 8 + 4, 16 + 12 + 8 + 8)); // RTA_TABLE first, then RTA_DST
const single = dumped.find((m) => dstOf(m) === hex(ip("192.0.2.0")))!;
const multi = dumped.find((m) => dstOf(m) === hex(ip("198.51.100.0")))!;
const done = loadVectors("route.txt").find((b) => b.name === "route4.2")!.bytes;

/** Destination of synthetic route k: 20.x.y.0/24 (single) or 30.x.y.0/24 (multipath). */
function dst(k: number): Uint8Array {
  const n = k >> 1;
  return Uint8Array.from([k & 1 ? 30 : 20, (n >> 8) & 0xff, n & 0xff, 0]);
}

function buildDump(): Uint8Array[] {
  const out: Uint8Array[] = [];
  let cur = new Uint8Array(DATAGRAM);
  let used = 0;
  for (let k = 0; k < ROUTES; k++) {
    const m = k & 1 ? multi : single;
    if (used + m.length > DATAGRAM) {
      out.push(cur.slice(0, used));
      cur = new Uint8Array(DATAGRAM);
      used = 0;
    }
    cur.set(m, used);
    cur.set(dst(k), used + 16 + 12 + 8 + 4);
    used += m.length;
  }
  out.push(cur.slice(0, used));
  out.push(done);
  return out;
}

describe("table growth", () => {
  const datagrams = buildDump();
  const bytes = datagrams.reduce((n, d) => n + d.length, 0);

  test(`${ROUTES} routes in ${datagrams.length} datagrams (${(bytes / 1e6).toFixed(1)} MB): every row intact across moves`, () => {
    expect(datagrams.length).toBeGreaterThan(200);
    const c = new Codec();
    const mem = c.memory();

    // first datagram: rows before any growth
    c.recvView().set(datagrams[0]);
    expect(c.parse(datagrams[0].length)).toBe(STATUS_MORE);
    const before = c.routes.count;
    expect(before).toBeGreaterThan(L.ROUTE_CAP_INIT); // the first datagram already outgrows the initial table
    const firstBuffer = mem.buffer;
    const staleView = new Uint8Array(mem.buffer);
    const movesAfterFirst = c.tableMoves();
    const oldBase = c.bases.route;
    const early = [0, 1, 2, before - 1].map((i) => ({
      dst: hex(c.routes.dst(i)), n: c.routes.nexthopCount(i), gw: c.routes.gateway(i) && hex(c.routes.gateway(i)!),
      nh: c.routes.nexthopCount(i) ? [c.routes.nhIfindex(i, 1), c.routes.nhWeight(i, 1), hex(c.routes.nhGateway(i, 1)!)] : [],
    }));

    const t0 = performance.now();
    let status = 0;
    for (let k = 1; k < datagrams.length; k++) {
      const view = c.recvView(); // fresh: a view from before a grow would be detached
      view.set(datagrams[k]);
      status = c.parse(datagrams[k].length);
    }
    const ms = performance.now() - t0;
    expect(status).toBe(STATUS_DONE);

    // memory grew, the old views are detached, the tables moved
    expect(mem.buffer).not.toBe(firstBuffer);
    expect(staleView.byteLength).toBe(0);
    expect(c.tableMoves()).toBeGreaterThan(movesAfterFirst);
    expect(c.bases.route).not.toBe(oldBase);

    // every row
    const r = c.routes;
    expect(r.count).toBe(ROUTES);
    expect(c.stateWord(L.ST_NH_COUNT)).toBe(ROUTES); // 50 000 routes x 2 nexthops
    for (let k = 0; k < ROUTES; k++) {
      const d = r.dst(k);
      const want = dst(k);
      if (d[0] !== want[0] || d[1] !== want[1] || d[2] !== want[2] || d[3] !== 0 || r.dstLen(k) !== 24 || r.table(k) !== 254) {
        throw new Error(`route ${k}: ${d} /${r.dstLen(k)} table ${r.table(k)}`);
      }
      if (k & 1) {
        if (r.nexthopCount(k) !== 2 || r.nhWeight(k, 0) !== 1 || r.nhWeight(k, 1) !== 3 || r.nhIfindex(k, 1) !== 12 || r.oif(k) !== 0) {
          throw new Error(`route ${k}: nexthops`);
        }
      } else if (r.nexthopCount(k) !== 0 || r.oif(k) !== 10 || r.priority(k) !== 100) {
        throw new Error(`route ${k}: single path`);
      }
    }
    // rows from before the growth, read through the rebuilt views
    expect([0, 1, 2, before - 1].map((i) => ({
      dst: hex(r.dst(i)), n: r.nexthopCount(i), gw: r.gateway(i) && hex(r.gateway(i)!),
      nh: r.nexthopCount(i) ? [r.nhIfindex(i, 1), r.nhWeight(i, 1), hex(r.nhGateway(i, 1)!)] : [],
    }))).toEqual(early);
    // and a re-emitted row is still the kernel's message with its destination
    const n = c.reencodeRoute(1);
    const expected = Uint8Array.from(multi);
    expected.set(dst(1), 16 + 12 + 8 + 4);
    expect(hex(c.requestView(n))).toBe(hex(expected));
    console.log(`growth: ${ROUTES} routes, ${datagrams.length} datagrams, ${(bytes / 1e6).toFixed(2)} MB parsed in ${ms.toFixed(1)} ms; ` +
      `${c.tableMoves()} table moves, memory ${(mem.buffer.byteLength / 1e6).toFixed(1)} MB`);

    // reset keeps the grown tables and empties them
    c.reset();
    expect(r.count).toBe(0);
    c.recvView().set(datagrams[0]);
    c.parse(datagrams[0].length);
    expect(r.count).toBe(before);
  });

  test("link and address tables grow too", () => {
    const c = new Codec();
    const links = loadVectors("link.txt")[0].bytes;
    const addrs = loadVectors("addr.txt")[0].bytes;
    for (let k = 0; k < 40; k++) {
      c.recvView().set(links);
      c.parse(links.length);
      c.recvView().set(addrs);
      c.parse(addrs.length);
    }
    expect(c.links.count).toBe(40 * 8);
    expect(c.addrs.count).toBe(40 * 14);
    expect(c.links.ifname(0)).toBe("lo");
    expect(c.links.ifname(40 * 8 - 2)).toBe("mv0");
    expect(c.links.kind(40 * 8 - 2)).toBe("macvlan");
    expect(c.addrs.label(3)).toBe("veth4:lbl");
    expect(c.addrs.label(39 * 14 + 3)).toBe("veth4:lbl");
    expect(c.tableMoves()).toBeGreaterThanOrEqual(6); // links 64 -> 128 -> 256 -> 512, addrs 64 -> ... -> 1024
  });

  test("the codec instantiates lazily and fast", () => {
    const t0 = performance.now();
    const c = new Codec();
    const tNew = performance.now() - t0;
    c.reset();
    const tFirst = performance.now() - t0;
    console.log(`instantiate: new Codec() ${tNew.toFixed(3)} ms, first call (compile + init) ${tFirst.toFixed(3)} ms`);
    expect(tNew).toBeLessThan(1);
    expect(tFirst).toBeLessThan(50); // typically well under 1 ms warm; generous for a loaded CI machine
  });
});

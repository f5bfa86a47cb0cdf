// Fuzzing parse() with the captured vectors, mutated (bytes flipped, truncated, lengths changed,
// messages spliced) and with random bytes. Deterministic (seeded PRNG). For every input:
//   - parse() returns a status and never throws;
//   - it reads nothing past `len`: the input is parsed twice, with different bytes after it,
//     and status, rows and error state must be identical;
//   - the rows are consistent (nexthop ranges inside the nexthop table) and re-emitting a row
//     and parsing that again gives the same row (parse and emit are symmetric);
// and across many inputs appended to the same tables, rows parsed earlier stay intact. Through the
// route filter the same inputs also give a status and read nothing past `len`, and, where the
// plain parse is not MALFORMED, the plain parse's rows of the wanted keys, byte for byte.
import { describe, expect, test } from "bun:test";
import { ensureWasm, loadVectors, messages, prng } from "./helpers";

ensureWasm();
const { Codec, STATUS_ACK, STATUS_DONE, STATUS_ERROR, STATUS_MALFORMED, STATUS_MORE, RECV_SIZE } = await import("../../src/netlink/codec.ts");
const L = await import("../../codec/layout.ts");
type C = InstanceType<typeof Codec>;

const ITERATIONS = 100_000;
const FILTER_ITERATIONS = 30_000;
const GUARD = 65536 + 64; // the longest read past a bad length would be an rta_len (u16) away
const STATUSES = new Set([STATUS_MORE, STATUS_DONE, STATUS_ERROR, STATUS_ACK, STATUS_MALFORMED]);

const corpus: Uint8Array[] = [];
for (const f of ["route.txt", "addr.txt", "link.txt", "error.txt", "request.txt"]) {
  for (const b of loadVectors(f)) {
    corpus.push(b.bytes);
    for (const m of messages(b.bytes)) corpus.push(m); // single messages too: mutations hit deeper
  }
}

/** Offsets of every length field (nlmsg_len, rta_len, rtnh_len) in a datagram, found by walking it. */
function lengthFields(d: Uint8Array): number[] {
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const out: number[] = [];
  const attrs = (start: number, end: number, depth: number) => {
    let a = start;
    while (a + 4 <= end) {
      const n = dv.getUint16(a, true);
      if (n < 4 || a + n > end) return;
      out.push(a);
      if (depth < 3 && n > 8) {
        // try both readings of the payload: nested attributes and rtnexthops
        attrs(a + 4, a + n, depth + 1);
        const first = dv.getUint16(a + 4, true);
        if (first >= 8 && first <= n - 4) {
          out.push(a + 4);
          attrs(a + 12, a + 4 + first, depth + 1);
        }
      }
      a += (n + 3) & ~3;
    }
  };
  let off = 0;
  while (off + 16 <= d.length) {
    const len = dv.getUint32(off, true);
    if (len < 16 || off + len > d.length) break;
    out.push(off);
    const type = dv.getUint16(off + 4, true);
    const fixed = type >= 24 && type <= 26 ? 12 : type >= 20 && type <= 22 ? 8 : type >= 16 && type <= 19 ? 16 : 20;
    attrs(off + 16 + fixed, off + len, 0);
    off += (len + 3) & ~3;
  }
  return out;
}

function mutate(rnd: () => number): Uint8Array {
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)];
  const r = rnd();
  if (r < 0.05) {
    // random bytes, sometimes behind a plausible header
    const n = 1 + Math.floor(rnd() * 600);
    const b = Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
    if (rnd() < 0.7 && n >= 16) {
      new DataView(b.buffer).setUint32(0, n, true);
      b[4] = pick([2, 3, 16, 20, 24, 25, 26]);
      b[5] = 0;
    }
    return b;
  }
  let d = Uint8Array.from(pick(corpus));
  const ops = rnd() < 0.6 ? 1 : 2 + Math.floor(rnd() * 2);
  for (let k = 0; k < ops && d.length > 0; k++) {
    const op = rnd();
    const dv = new DataView(d.buffer);
    if (op < 0.25) {
      // change values, keep the structure: flip bytes that are not part of a length field
      const lengths = new Set(lengthFields(d).flatMap((o) => [o, o + 1, o + 2, o + 3]));
      const flips = 1 + Math.floor(rnd() * 8);
      for (let j = 0; j < flips; j++) {
        const at = Math.floor(rnd() * d.length);
        if (!lengths.has(at)) d[at] ^= 1 << Math.floor(rnd() * 8);
      }
    } else if (op < 0.4) {
      // flip any bytes
      const flips = 1 + Math.floor(rnd() * 8);
      for (let j = 0; j < flips; j++) d[Math.floor(rnd() * d.length)] ^= 1 << Math.floor(rnd() * 8);
    } else if (op < 0.7) {
      // change a length field
      const fields = lengthFields(d);
      if (fields.length === 0) continue;
      const at = pick(fields);
      const old = dv.getUint16(at, true);
      const v = pick([0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 0xffff, old - 1, old + 1, old - 4, old + 4, old * 2, Math.floor(rnd() * 0x10000)]);
      dv.setUint16(at, Math.max(0, Math.min(0xffff, v)), true);
      if (rnd() < 0.2 && at + 4 <= d.length) dv.setUint16(at + 2, Math.floor(rnd() * 0x10000), true); // and the type
    } else if (op < 0.85) {
      // truncate
      d = d.slice(0, Math.floor(rnd() * d.length));
    } else {
      // splice a piece of another vector in
      const other = pick(corpus);
      const from = Math.floor(rnd() * other.length);
      const piece = other.subarray(from, from + Math.floor(rnd() * 64));
      const at = Math.floor(rnd() * d.length);
      const out = new Uint8Array(d.length + piece.length);
      out.set(d.subarray(0, at));
      out.set(piece, at);
      out.set(d.subarray(at), at + piece.length);
      d = out;
    }
  }
  return d;
}

/** Everything parse() leaves behind: status, error state, and the bytes of every table in use. */
function snapshot(c: C): string {
  const mem = new Uint8Array(c.memory().buffer);
  const parts = [c.status(), c.errorCode(), c.errorSeq(), c.extAckMessage(), c.extAckOffset(), c.dumpInterrupted(), c.routes.count, c.links.count, c.addrs.count].join("|");
  const nhCount = c.stateWord(L.ST_NH_COUNT);
  const tables = [
    [c.bases.route, c.routes.count * L.ROUTE_ROW],
    [c.nhBase, nhCount * L.NEXTHOP_ROW],
    [c.bases.link, c.links.count * L.LINK_ROW],
    [c.bases.addr, c.addrs.count * L.ADDR_ROW],
  ];
  return parts + "|" + tables.map(([p, n]) => Buffer.from(mem.subarray(p, p + n)).toString("base64")).join("|");
}

function parseWithTail(c: C, input: Uint8Array, tail: (view: Uint8Array, from: number, to: number) => void): number {
  c.reset();
  const view = c.recvView();
  view.set(input);
  tail(view, input.length, Math.min(RECV_SIZE, input.length + GUARD));
  return c.parse(input.length);
}

function rowBytes(c: C, base: number, row: number, i: number): Uint8Array {
  return new Uint8Array(c.memory().buffer, base + i * row, row).slice();
}

describe("fuzzing parse()", () => {
  test(`${ITERATIONS} mutated and random inputs: a status, no read past len, consistent rows`, () => {
    const rnd = prng(0x6e657874);
    const c = new Codec();
    const again = new Codec();
    const counts = new Map<number, number>();
    let rows = 0;
    let symmetric = 0;
    for (let it = 0; it < ITERATIONS; it++) {
      const input = mutate(rnd);
      const s1 = parseWithTail(c, input, (v, a, b) => v.fill(0x00, a, b));
      const snap1 = snapshot(c);
      const fillByte = it % 2 ? 0xff : 0x04; // 0x04: tiny lengths everywhere; 0xff: huge ones
      const s2 = parseWithTail(c, input, (v, a, b) => v.fill(fillByte, a, b));
      if (s1 !== s2 || snapshot(c) !== snap1) throw new Error(`iteration ${it}: parse depends on bytes past len (${s1} vs ${s2})`);
      if (!STATUSES.has(s1)) throw new Error(`iteration ${it}: status ${s1}`);
      counts.set(s1, (counts.get(s1) ?? 0) + 1);

      // nexthop ranges of every route row lie inside the nexthop table
      const nhCount = c.stateWord(L.ST_NH_COUNT);
      const dv = new DataView(c.memory().buffer);
      for (let i = 0; i < c.routes.count; i++) {
        const p = c.bases.route + i * L.ROUTE_ROW;
        const start = dv.getUint32(p + L.RT_NH_START, true);
        const n = dv.getUint32(p + L.RT_NH_COUNT, true);
        if (start + n > nhCount) throw new Error(`iteration ${it}: route ${i} nexthops ${start}+${n} > ${nhCount}`);
      }
      rows += c.routes.count + c.links.count + c.addrs.count;

      // symmetry on a sample: emit each row, parse it again, compare the rows
      if (it % 16 === 0) {
        for (const [rowsOf, reencode, base, size] of [
          [c.routes, (i: number) => c.reencodeRoute(i), () => c.bases.route, L.ROUTE_ROW],
          [c.links, (i: number) => c.reencodeLink(i), () => c.bases.link, L.LINK_ROW],
          [c.addrs, (i: number) => c.reencodeAddr(i), () => c.bases.addr, L.ADDR_ROW],
        ] as const) {
          for (let i = 0; i < rowsOf.count; i++) {
            let n: number;
            try {
              n = reencode(i);
            } catch (e) {
              if (e instanceof RangeError) continue; // larger than the request region
              throw e;
            }
            again.reset();
            again.recvView().set(c.requestView(n));
            if (again.parse(n) !== STATUS_MORE) throw new Error(`iteration ${it}: re-emitted row ${i} does not parse`);
            const b1 = rowBytes(c, base(), size, i);
            const b2 = rowBytes(again, size === L.ROUTE_ROW ? again.bases.route : size === L.LINK_ROW ? again.bases.link : again.bases.addr, size, 0);
            if (size === L.ROUTE_ROW) {
              // nexthop rows compared by value; the start index differs
              const n1 = c.routes.nexthopCount(i);
              for (let k = 0; k < n1; k++) {
                const a = c.routes;
                const r = again.routes;
                if (a.nhIfindex(i, k) !== r.nhIfindex(0, k) || a.nhWeight(i, k) !== r.nhWeight(0, k) || a.nhFlags(i, k) !== r.nhFlags(0, k) ||
                  String(a.nhGateway(i, k)) !== String(r.nhGateway(0, k)) || a.nhViaFamily(i, k) !== r.nhViaFamily(0, k)) {
                  throw new Error(`iteration ${it}: route ${i} nexthop ${k} changed by emit+parse`);
                }
              }
              b1.fill(0, L.RT_NH_START, L.RT_NH_START + 4);
              b2.fill(0, L.RT_NH_START, L.RT_NH_START + 4);
              // A FOREIGN row re-emits without what it could not hold (what the bit says), so the
              // re-parsed row lacks the bit; metrics too large to keep are rebuilt from MTU/ADVMSS.
              const d1 = new DataView(b1.buffer);
              const present = d1.getUint32(L.RT_PRESENT, true);
              if (present & L.RT_HAS_FOREIGN) {
                d1.setUint32(L.RT_PRESENT, present & ~L.RT_HAS_FOREIGN, true);
                if (d1.getUint16(L.RT_METRICS_LEN, true) === 0) b2.fill(0, L.RT_METRICS_LEN, L.RT_METRICS_RAW + L.RT_METRICS_CAP);
              }
            }
            if (Buffer.compare(b1, b2) !== 0) throw new Error(`iteration ${it}: row ${i} (size ${size}) changed by emit+parse`);
            symmetric++;
          }
        }
      }
    }
    // every kind of outcome was exercised
    expect(counts.get(STATUS_MALFORMED)! > ITERATIONS / 10).toBe(true);
    expect(counts.get(STATUS_MORE)! > ITERATIONS / 10).toBe(true);
    expect(counts.get(STATUS_DONE)! > 0).toBe(true);
    expect(counts.get(STATUS_ERROR)! > 0).toBe(true);
    expect(counts.get(STATUS_ACK)! > 0).toBe(true);
    expect(rows > ITERATIONS / 4).toBe(true);
    expect(symmetric > 1000).toBe(true);
    console.log(`fuzz: ${ITERATIONS} inputs, statuses ${JSON.stringify(Object.fromEntries(counts))}, ${rows} rows, ${symmetric} rows re-emitted and re-parsed`);
  });

  test(`${FILTER_ITERATIONS} mutated inputs through the route filter: a status, no read past len, the plain parse's wanted rows`, () => {
    const rnd = prng(0x66696c74);
    const c = new Codec();
    const plain = new Codec();
    // The wanted destinations: those of the route vectors (mutations turn some into misses).
    const v = new Codec();
    for (const b of loadVectors("route.txt")) {
      v.recvView().set(b.bytes);
      v.parse(b.bytes.length);
    }
    const keys = new Map<number, { dst: Uint8Array; dstLen: number }[]>([[2, []], [10, []]]);
    for (let i = 0; i < v.routes.count; i++) {
      const f = v.routes.family(i);
      keys.get(f)!.push({ dst: v.routes.dst(i).subarray(0, f === 10 ? 16 : 4), dstLen: v.routes.dstLen(i) });
    }
    const keyOf = (x: C, i: number) => `${x.routes.family(i)}/${x.routes.table(i)}/${Buffer.from(x.routes.dst(i)).toString("hex").padEnd(32, "0")}/${x.routes.dstLen(i)}`;
    let compared = 0, kept = 0, dropped = 0;
    for (let it = 0; it < FILTER_ITERATIONS; it++) {
      const input = mutate(rnd);
      const family = it % 2 ? 2 : 10;
      const table = it % 3 === 0 ? 0 : 254;
      const want = new Set(keys.get(family)!.map((k) => `${Buffer.from(k.dst).toString("hex").padEnd(32, "0")}/${k.dstLen}`));
      c.setRouteFilter(family, table, keys.get(family)!);
      const s1 = parseWithTail(c, input, (w, a, b) => w.fill(0x00, a, b));
      const snap1 = snapshot(c) + c.routes.dropped;
      const s2 = parseWithTail(c, input, (w, a, b) => w.fill(it % 2 ? 0xff : 0x04, a, b));
      if (s1 !== s2 || snapshot(c) + c.routes.dropped !== snap1) throw new Error(`iteration ${it}: filtered parse depends on bytes past len (${s1} vs ${s2})`);
      if (!STATUSES.has(s1)) throw new Error(`iteration ${it}: status ${s1}`);
      c.clearRouteFilter();
      const sp = parseWithTail(plain, input, (w, a, b) => w.fill(0x00, a, b));
      // A malformed message the filter drops unread can stop the plain parse only: compare the rest.
      if (sp === STATUS_MALFORMED) continue;
      if (s1 !== sp) throw new Error(`iteration ${it}: status ${s1} filtered, ${sp} plain`);
      const expected: number[] = [];
      for (let i = 0; i < plain.routes.count; i++) {
        const [f, t, d, l] = keyOf(plain, i).split("/");
        if (Number(f) === family && (table === 0 || Number(t) === table) && want.has(`${d}/${l}`)) expected.push(i);
      }
      if (c.routes.count !== expected.length || c.routes.dropped !== plain.routes.count - expected.length) {
        throw new Error(`iteration ${it}: ${c.routes.count} rows kept and ${c.routes.dropped} dropped, expected ${expected.length} of ${plain.routes.count}`);
      }
      expected.forEach((i, j) => {
        const a = rowBytes(plain, plain.bases.route, L.ROUTE_ROW, i);
        const b = rowBytes(c, c.bases.route, L.ROUTE_ROW, j);
        a.fill(0, L.RT_NH_START, L.RT_NH_START + 4);
        b.fill(0, L.RT_NH_START, L.RT_NH_START + 4);
        if (Buffer.compare(a, b) !== 0) throw new Error(`iteration ${it}: kept row ${j} differs from plain row ${i}`);
        for (let k = 0; k < plain.routes.nexthopCount(i); k++) {
          const p = plain.routes, q = c.routes;
          if (p.nhIfindex(i, k) !== q.nhIfindex(j, k) || p.nhWeight(i, k) !== q.nhWeight(j, k) || p.nhFlags(i, k) !== q.nhFlags(j, k) ||
            String(p.nhGateway(i, k)) !== String(q.nhGateway(j, k)) || p.nhViaFamily(i, k) !== q.nhViaFamily(j, k)) {
            throw new Error(`iteration ${it}: kept row ${j} nexthop ${k} differs`);
          }
        }
      });
      compared++;
      kept += expected.length;
      dropped += c.routes.dropped;
    }
    // Every outcome was exercised (most mutated inputs are malformed somewhere).
    expect(compared > FILTER_ITERATIONS / 10).toBe(true);
    expect(kept > FILTER_ITERATIONS / 60).toBe(true);
    expect(dropped > FILTER_ITERATIONS / 30).toBe(true);
    console.log(`fuzz (route filter): ${FILTER_ITERATIONS} inputs, ${compared} compared with the plain parse, ${kept} rows kept, ${dropped} dropped`);
  });

  test("rows parsed earlier stay intact while mutated inputs are appended (and tables move)", () => {
    const rnd = prng(42);
    const c = new Codec();
    const good = loadVectors("route.txt").concat(loadVectors("link.txt"), loadVectors("addr.txt"));
    for (let round = 0; round < 20; round++) {
      c.reset();
      for (const b of good) {
        c.recvView().set(b.bytes);
        c.parse(b.bytes.length);
      }
      const keep = snapshot(c).split("|");
      const counts = [c.routes.count, c.links.count, c.addrs.count];
      const nh = c.stateWord(L.ST_NH_COUNT);
      for (let k = 0; k < 500; k++) {
        // mutated inputs, and now and then a good datagram so that the tables fill up and move
        const input = k % 20 === 19 ? good[k % good.length].bytes : mutate(rnd);
        c.recvView().set(input);
        c.parse(input.length);
      }
      // the first rows are byte-identical to before, wherever the tables are now
      const mem = new Uint8Array(c.memory().buffer);
      const same = (base: number, bytes: string) => Buffer.from(mem.subarray(base, base + Buffer.from(bytes, "base64").length)).toString("base64") === bytes;
      const off = 9; // fields before the tables in snapshot()
      expect(same(c.bases.route, keep[off])).toBe(true);
      expect(same(c.nhBase, keep[off + 1])).toBe(true);
      expect(same(c.bases.link, keep[off + 2])).toBe(true);
      expect(same(c.bases.addr, keep[off + 3])).toBe(true);
      expect(c.routes.count >= counts[0] && c.links.count >= counts[1] && c.addrs.count >= counts[2]).toBe(true);
      expect(c.stateWord(L.ST_NH_COUNT) >= nh).toBe(true);
    }
    expect(c.tableMoves() > 0).toBe(true);
  });

  test("lengths past the receive region and absurd arguments", () => {
    const c = new Codec();
    expect(c.parse(RECV_SIZE + 1)).toBe(STATUS_MALFORMED);
    expect(c.parse(0)).toBe(STATUS_MORE);
    expect(() => c.parse(-1)).toThrow(RangeError);
    expect(() => c.parse(1.5)).toThrow(RangeError);
    // a full region of 0xff: first nlmsg_len is 0xffffffff
    c.recvView().fill(0xff);
    expect(c.parse(RECV_SIZE)).toBe(STATUS_MALFORMED);
    expect(c.malformedOffset()).toBe(0);
  });
});

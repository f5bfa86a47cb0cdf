// The attribute descriptor tables of codec/layout.ts (ROUTE_ATTRS, LINK_ATTRS, ADDR_ATTRS,
// NEIGH_ATTRS) are what the generic parse walk and emitter (codec/walk.ts) and the wrapper's
// PlainAttrs run on. A new line there is checked here: its slot lies in the row and overlaps no
// other attribute's, its presence bit is its own, its type matches the uapi value codec/kernel.ts
// names, and each family's emission order lists every type once.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as L from "../../codec/layout.ts";
import { ensureWasm, hex, ip } from "./helpers";

const FAMILIES = [
  { name: "ROUTE_ATTRS", table: L.ROUTE_ATTRS, row: L.ROUTE_ROW, present: L.RT_PRESENT },
  { name: "LINK_ATTRS", table: L.LINK_ATTRS, row: L.LINK_ROW, present: L.LN_PRESENT },
  { name: "ADDR_ATTRS", table: L.ADDR_ATTRS, row: L.ADDR_ROW, present: L.AD_PRESENT },
  { name: "NEIGH_ATTRS", table: L.NEIGH_ATTRS, row: L.NEIGH_ROW, present: L.ND_PRESENT },
];

interface Line { type: number; kind: number; order: number; off: number; size: number; bit: number }

function lines(table: readonly number[]): Line[] {
  expect(table.length % L.ATTR_WORDS).toBe(0);
  const out: Line[] = [];
  for (let i = 0; i < table.length; i += L.ATTR_WORDS) {
    const [type, k, off, size, bit] = table.slice(i, i + L.ATTR_WORDS);
    out.push({ type, kind: k & L.AK_KIND_MASK, order: k & ~L.AK_KIND_MASK, off, size, bit });
  }
  return out;
}

/** Bytes of the row a plain line writes: [start, end) pairs. */
function slots(l: Line): [number, number][] {
  switch (l.kind) {
    case L.AK_INT:
    case L.AK_SINT:
    case L.AK_BYTES:
      return [[l.off, l.off + l.size]];
    case L.AK_ADDR:
    case L.AK_STR:
      return [[l.off, l.off + 16]];
    case L.AK_LLADDR:
      return [[l.off, l.off + 32], [l.size, l.size + 1]];
    default:
      return []; // AK_SPECIAL: hand-written, its fields are named constants
  }
}

const kernelTypes = new Map<string, number>(
  [...readFileSync(join(import.meta.dir, "../../codec/kernel.ts"), "utf8").matchAll(/export const (\w+): u16 = (\d+);/g)]
    .map((m) => [m[1], Number(m[2])]),
);

describe("attribute descriptor tables", () => {
  for (const fam of FAMILIES) {
    test(`${fam.name}: kinds, sizes and slots fit the row and do not overlap`, () => {
      const ls = lines(fam.table);
      const first = new Map<number, Line>();
      for (const l of ls) {
        expect(l.type).toBeGreaterThan(0);
        expect(l.type).toBeLessThan(L.ATTR_INDEX_TYPES);
        expect([L.AK_INT, L.AK_SINT, L.AK_BYTES, L.AK_ADDR, L.AK_STR, L.AK_LLADDR, L.AK_SPECIAL]).toContain(l.kind);
        expect([0, L.AK_ONLY_INET6, L.AK_NOT_INET6]).toContain(l.order);
        if (l.kind === L.AK_INT) expect([1, 2, 4]).toContain(l.size);
        if (l.kind === L.AK_SINT) expect(l.size).toBe(4);
        if (l.kind === L.AK_BYTES) expect(l.size).toBeGreaterThan(0);
        if (l.kind === L.AK_ADDR || l.kind === L.AK_STR) expect(l.size).toBe(16);
        // the parse index packs the offset in 8 bits and the size in 16
        expect(l.off).toBeLessThan(256);
        expect(l.size).toBeLessThan(65536);
        expect(l.bit > 0 && (l.bit & (l.bit - 1)) === 0).toBe(true);
        for (const [a, b] of slots(l)) {
          expect(a).toBeGreaterThanOrEqual(fam.present + 4); // after the header fields and the presence word
          expect(b).toBeLessThanOrEqual(fam.row);
        }
        const seen = first.get(l.type);
        if (seen) expect({ ...l, order: 0 }).toEqual({ ...seen, order: 0 }); // a repeated line only moves
        else first.set(l.type, l);
      }
      expect(fam.row).toBeLessThanOrEqual(L.SCRATCH_ROW_SIZE);
      const uniq = [...first.values()];
      for (const a of uniq) {
        for (const b of uniq) {
          if (a === b) continue;
          expect(a.bit === b.bit ? `${a.type} and ${b.type} share bit ${a.bit}` : "").toBe("");
          for (const [a0, a1] of slots(a)) {
            for (const [b0, b1] of slots(b)) {
              expect(a0 < b1 && b0 < a1 ? `${a.type} [${a0},${a1}) overlaps ${b.type} [${b0},${b1})` : "").toBe("");
            }
          }
        }
      }
    });

    test(`${fam.name}: every family's emission order lists each type once`, () => {
      const ls = lines(fam.table);
      for (const v6 of [false, true]) {
        const order = ls.filter((l) => !(l.order === L.AK_ONLY_INET6 && !v6) && !(l.order === L.AK_NOT_INET6 && v6)).map((l) => l.type);
        expect(new Set(order).size).toBe(order.length);
        expect(new Set(order)).toEqual(new Set(ls.map((l) => l.type)));
      }
    });

    test(`${fam.name}: each line's type is the uapi value its comment names (codec/kernel.ts)`, () => {
      const src = readFileSync(join(import.meta.dir, "../../codec/layout.ts"), "utf8");
      const body = src.slice(src.indexOf(`export const ${fam.name} = [`));
      const rows = [...body.slice(0, body.indexOf("];")).matchAll(/^\s*(\d+),.*\/\/ (\w+)\s*$/gm)];
      expect(rows.length).toBe(fam.table.length / L.ATTR_WORDS);
      for (const [, type, name] of rows) {
        if (kernelTypes.has(name)) expect(`${name} = ${kernelTypes.get(name)}`).toBe(`${name} = ${type}`);
      }
    });
  }
});

// Every plain attribute of the wrapper (PLAIN in src/netlink/codec/*.ts): its spec member is
// encoded, the wasm emits it, parses it back and the generated reader returns it.
describe("plain attributes: spec -> request -> row -> reader", () => {
  ensureWasm();
  const c = async () => {
    const { Codec, STATUS_MORE } = await import("../../src/netlink/codec.ts");
    const k = new Codec();
    const back = (len: number) => {
      const req = k.requestView(len).slice();
      k.reset();
      k.recvView().set(req);
      expect(k.parse(len)).toBe(STATUS_MORE);
    };
    return { k, back };
  };

  test("route: priority, oif, pref, prefsrc", async () => {
    const { k, back } = await c();
    for (const [family, src] of [[2, ip("10.0.0.1")], [10, ip("2001:db8::1")]] as const) {
      back(k.encodeRoute(24, 0x605, 1, { family, dstLen: 0, table: 254, priority: 7, oif: 3, pref: 1, prefsrc: src }));
      const r = k.routes;
      expect([r.count, r.priority(0), r.oif(0), r.pref(0), hex(r.prefsrc(0)!)]).toEqual([1, 7, 3, 1, hex(src)]);
      back(k.encodeRoute(24, 0x605, 1, { family, dstLen: 0, table: 254 }));
      expect([r.priority(0), r.oif(0), r.pref(0), r.prefsrc(0)]).toEqual([0, 0, 0, undefined]);
    }
  });

  test("link: operstate, mtu, link, master, netnsFd", async () => {
    const { k, back } = await c();
    back(k.encodeLink(16, 0x5, 1, { index: 5, operstate: 6, mtu: 1400, link: 4, master: 9, netnsFd: -1 }));
    const l = k.links;
    expect([l.count, l.operstate(0), l.mtu(0), l.link(0), l.master(0), l.netnsFd(0)]).toEqual([1, 6, 1400, 4, 9, -1]);
  });

  test("addr: address, local, broadcast, proto", async () => {
    const { k, back } = await c();
    back(k.encodeAddr(20, 0x605, 1, { family: 2, prefixlen: 24, index: 5, address: ip("10.0.0.1"), local: ip("10.0.0.2"), broadcast: ip("10.0.0.255"), proto: 3 }));
    const a = k.addrs;
    expect([a.count, hex(a.address(0)!), hex(a.local(0)!), hex(a.broadcast(0)!), a.proto(0)])
      .toEqual([1, hex(ip("10.0.0.1")), hex(ip("10.0.0.2")), hex(ip("10.0.0.255")), 3]);
  });

  test("neigh: dst, probes, protocol, flagsExt", async () => {
    const { k, back } = await c();
    back(k.encodeNeigh(28, 0x605, 1, { family: 10, ifindex: 5, dst: ip("2001:db8::9"), probes: 2, protocol: 4, flagsExt: 1 }));
    const n = k.neighs;
    expect([n.count, hex(n.dst(0)!), n.probes(0), n.protocol(0), n.flagsExt(0)]).toEqual([1, hex(ip("2001:db8::9")), 2, 4, 1]);
  });
});

// Neighbour dumps and requests captured from the kernel and iproute2 (vectors/neigh.txt, made by
// test/codec/capture-neigh.py): fields, byte-exact re-emission, the encoder against `ip neigh`.
import { describe, expect, test } from "bun:test";
import { parseIP } from "../../src/ip";
import { block, ensureWasm, hex, ip, loadVectors, messages, msgType, zeroPadding } from "./helpers";

ensureWasm();
const { codec, STATUS_DONE, STATUS_MALFORMED } = await import("../../src/netlink/codec.ts");
const N = await import("../../src/netlink/neigh.ts");
const L = await import("../../codec/layout.ts");

const vectors = loadVectors("neigh.txt");

function parse(bytes: Uint8Array): number {
  codec.reset();
  codec.recvView().set(bytes);
  return codec.parse(bytes.length);
}

describe("neighbour dumps from the kernel", () => {
  for (const name of ["neigh4.1", "neigh6.1"]) {
    test(`${name}: one row per RTM_NEWNEIGH, each re-encodes byte for byte`, () => {
      const b = block(vectors, name);
      const original = messages(b.bytes).filter((m) => msgType(m) === N.RTM_NEWNEIGH);
      expect(parse(b.bytes)).toBe(STATUS_DONE);
      const rows = codec.neighs;
      expect(rows.count).toBe(original.length);
      for (let i = 0; i < rows.count; i++) {
        const n = rows.reencode(i);
        expect({ i, bytes: hex(codec.requestView(n)) }).toEqual({ i, bytes: hex(original[i]) });
      }
    });
  }

  test("a managed entry: state NONE/INCOMPLETE, NTF_EXT_LEARNED, NTF_EXT_MANAGED in NDA_FLAGS_EXT, no lladdr", () => {
    parse(block(vectors, "neigh4.1").bytes);
    const r = codec.neighs;
    const i = [...Array(r.count).keys()].find((k) => hex(r.dst(k)!) === hex(ip("10.9.0.2")))!;
    expect([r.family(i), r.ifindex(i), r.state(i), r.flags(i), r.flagsExt(i)]).toEqual([2, 10, N.NUD_INCOMPLETE, N.NTF_EXT_LEARNED, N.NTF_EXT_MANAGED]);
    expect(r.lladdr(i)).toBeUndefined();
    expect(r.present(i) & L.ND_HAS_FLAGS_EXT).toBeTruthy();
  });

  test("a static and a stale entry: lladdr, NUD_PERMANENT, NDA_PROTOCOL", () => {
    parse(block(vectors, "neigh4.1").bytes);
    const r = codec.neighs;
    const at = (s: string) => [...Array(r.count).keys()].find((k) => hex(r.dst(k)!) === hex(ip(s)))!;
    const p = at("10.9.0.3");
    expect([r.state(p), r.flagsExt(p), hex(r.lladdr(p)!)]).toEqual([N.NUD_PERMANENT, 0, "020000000003"]);
    const s = at("10.9.0.5");
    expect([r.state(s), r.flags(s), r.protocol(s)]).toEqual([N.NUD_STALE, N.NTF_EXT_LEARNED, 42]);
  });

  test("an IPv6 managed entry", () => {
    parse(block(vectors, "neigh6.1").bytes);
    const r = codec.neighs;
    const i = [...Array(r.count).keys()].find((k) => hex(r.dst(k)!) === hex(ip("2001:db8:9::2")))!;
    expect([r.family(i), r.state(i), r.flags(i), r.flagsExt(i)]).toEqual([10, N.NUD_INCOMPLETE, N.NTF_EXT_LEARNED, N.NTF_EXT_MANAGED]);
  });

  test("malformed: a short ndmsg, an NDA_DST of the wrong size", () => {
    const m = messages(block(vectors, "neigh4.1").bytes)[0];
    const short = m.slice(0, 16 + 8);
    new DataView(short.buffer).setUint32(0, short.length, true);
    expect(parse(short)).toBe(STATUS_MALFORMED);
    const bad = m.slice();
    bad[16 + 12] = 7; // NDA_DST nla_len 8 -> 7: 3 address bytes
    expect(parse(bad)).toBe(STATUS_MALFORMED);
  });
});

describe("requests, against iproute2", () => {
  const seqOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(8, true);
  const cases: [string, number, number, Parameters<typeof codec.encodeNeigh>[3]][] = [
    ["add4-managed", N.RTM_NEWNEIGH, 0x605, { family: 2, ifindex: 10, state: 0, flags: N.NTF_EXT_LEARNED, dst: ip("10.9.0.4"), flagsExt: N.NTF_EXT_MANAGED }],
    ["add6-managed", N.RTM_NEWNEIGH, 0x605, { family: 10, ifindex: 10, state: 0, flags: N.NTF_EXT_LEARNED, dst: ip("2001:db8:9::4"), flagsExt: N.NTF_EXT_MANAGED }],
    ["del4", N.RTM_DELNEIGH, 0x5, { family: 2, ifindex: 10, state: N.NUD_PERMANENT, dst: ip("10.9.0.4") }],
    ["replace4-lladdr", N.RTM_NEWNEIGH, 0x505, { family: 2, ifindex: 10, state: N.NUD_REACHABLE, dst: ip("10.9.0.6"), lladdr: Uint8Array.from([2, 0, 0, 0, 0, 6]) }],
  ];
  for (const [name, type, flags, spec] of cases) {
    test(`${name}: identical bytes`, () => {
      const want = zeroPadding(messages(block(vectors, `req.${name}`).bytes)[0]);
      const n = codec.encodeNeigh(type, flags, seqOf(want), spec);
      expect(hex(codec.requestView(n))).toBe(hex(want));
    });
  }

  test("what addManagedNeighbour sends is iproute2's `managed extern_learn` request", () => {
    // Same spec as the function builds (src/netlink/neigh.ts); NLM_F_EXCL|NLM_F_CREATE|ACK|REQUEST.
    const want = zeroPadding(messages(block(vectors, "req.add4-managed").bytes)[0]);
    let sent: Uint8Array | undefined;
    const fake = { request: (enc: (seq: number) => number) => { sent = codec.requestView(enc(seqOf(want))).slice(); return 0; } };
    N.addManagedNeighbour(fake as any, 2, 10, parseIP("10.9.0.4")!);
    expect(hex(sent!)).toBe(hex(want));
  });
});

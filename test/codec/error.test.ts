// NLMSG_ERROR / NLMSG_DONE: replies captured from the kernel (vectors/error.txt) and a few
// synthetic cases (DONE with an error and extack, NLM_F_DUMP_INTR, several replies in one buffer).
import { describe, expect, test } from "bun:test";
import { ensureWasm, block, loadVectors } from "./helpers";

ensureWasm();
const { Codec, STATUS_ACK, STATUS_DONE, STATUS_ERROR, STATUS_MALFORMED, STATUS_MORE } = await import("../../src/netlink/codec.ts");

const errors = loadVectors("error.txt");
const routes = loadVectors("route.txt");

function parse(c: InstanceType<typeof Codec>, bytes: Uint8Array): number {
  c.recvView().set(bytes);
  return c.parse(bytes.length);
}

/** Builds one netlink message. */
function nlmsg(type: number, flags: number, seq: number, payload: number[]): Uint8Array {
  const len = 16 + payload.length;
  const m = new Uint8Array((len + 3) & ~3);
  const dv = new DataView(m.buffer);
  dv.setUint32(0, len, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, flags, true);
  dv.setUint32(8, seq, true);
  m.set(payload, 16);
  return m;
}

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

function tlvStr(type: number, s: string): number[] {
  const b = [...new TextEncoder().encode(s), 0];
  const n = 4 + b.length;
  return [n & 0xff, n >> 8, type, 0, ...b, ...Array((4 - (n % 4)) % 4).fill(0)];
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

describe("NLMSG_ERROR from the kernel", () => {
  const c = new Codec();

  test("ACK (error 0, NLM_F_CAPPED)", () => {
    expect(parse(c, block(errors, "error.ack").bytes)).toBe(STATUS_ACK);
    expect([c.errorCode(), c.errorSeq(), c.extAckMessage(), c.extAckOffset()]).toEqual([0, 100, "", undefined]);
  });

  test("EEXIST with the whole request echoed", () => {
    expect(parse(c, block(errors, "error.eexist").bytes)).toBe(STATUS_ERROR);
    expect([c.errorCode(), c.errorSeq(), c.extAckMessage()]).toEqual([-17, 101, ""]);
  });

  test("EINVAL with NLMSGERR_ATTR_MSG after the echoed request", () => {
    expect(parse(c, block(errors, "error.einval-msg").bytes)).toBe(STATUS_ERROR);
    expect([c.errorCode(), c.errorSeq(), c.extAckMessage(), c.extAckOffset()])
      .toEqual([-22, 102, "Invalid prefix for given prefix length", undefined]);
  });

  test("policy violation: message, offset of the bad attribute (NLMSGERR_ATTR_OFFS), policy skipped", () => {
    expect(parse(c, block(errors, "error.erange-offs").bytes)).toBe(STATUS_ERROR);
    expect([c.errorCode(), c.errorSeq(), c.extAckMessage(), c.extAckOffset()])
      .toEqual([-34, 103, "Attribute failed policy validation", 36]);
  });

  test("NETLINK_CAP_ACK: capped error, and capped error with TLVs", () => {
    expect(parse(c, block(errors, "error.eexist-capped").bytes)).toBe(STATUS_ERROR);
    expect([c.errorCode(), c.errorSeq(), c.extAckMessage(), c.extAckOffset()]).toEqual([-17, 104, "", undefined]);
    expect(parse(c, block(errors, "error.erange-capped").bytes)).toBe(STATUS_ERROR);
    expect([c.errorCode(), c.errorSeq(), c.extAckMessage(), c.extAckOffset()])
      .toEqual([-34, 105, "Attribute failed policy validation", 36]);
  });

  test("error replies add no rows", () => {
    expect([c.routes.count, c.links.count, c.addrs.count]).toEqual([0, 0, 0]);
  });

  test("NLMSG_ERROR too short for its header, or with TLVs running past it: MALFORMED", () => {
    const d = new Codec();
    expect(parse(d, nlmsg(2, 0, 1, le32(-1)))).toBe(STATUS_MALFORMED);
    const bad = Uint8Array.from(block(errors, "error.einval-msg").bytes);
    bad[16 + 4 + 16 + 28] = 0xff; // rta_len of NLMSGERR_ATTR_MSG, now past the message
    expect(parse(d, bad)).toBe(STATUS_MALFORMED);
    expect(d.errorCode()).toBe(0); // nothing recorded from a malformed error
  });
});

describe("NLMSG_DONE and dump state", () => {
  test("dump end: DONE; the last error stays readable until reset()", () => {
    const c = new Codec();
    parse(c, block(errors, "error.einval-msg").bytes);
    expect(parse(c, block(routes, "route4.2").bytes)).toBe(STATUS_DONE);
    expect(c.errorCode()).toBe(-22);
    expect(c.extAckMessage()).toBe("Invalid prefix for given prefix length");
    c.reset();
    expect([c.errorCode(), c.errorSeq(), c.extAckMessage(), c.dumpInterrupted(), c.status()]).toEqual([0, 0, "", false, STATUS_MORE]);
  });

  test("DONE carrying a negative error and an extack message: ERROR", () => {
    const c = new Codec();
    const done = nlmsg(3, 0x2 | 0x200, 9, [...le32(-90), ...tlvStr(1, "Buffer too small for object")]);
    expect(parse(c, done)).toBe(STATUS_ERROR);
    expect([c.errorCode(), c.errorSeq(), c.extAckMessage()]).toEqual([-90, 9, "Buffer too small for object"]);
  });

  test("NLM_F_DUMP_INTR on any message sets dumpInterrupted() until reset()", () => {
    const c = new Codec();
    const d = Uint8Array.from(block(routes, "route4.1").bytes);
    d[6] |= 0x10; // first message's nlmsg_flags
    expect(parse(c, d)).toBe(STATUS_MORE);
    expect(c.dumpInterrupted()).toBe(true);
    expect(parse(c, block(routes, "route4.2").bytes)).toBe(STATUS_DONE);
    expect(c.dumpInterrupted()).toBe(true);
    c.reset();
    expect(c.dumpInterrupted()).toBe(false);
  });

  test("several replies in one buffer: the first error sticks over later ACKs", () => {
    const c = new Codec();
    const buf = concat(block(errors, "error.ack").bytes, block(errors, "error.einval-msg").bytes, block(errors, "error.ack").bytes);
    expect(parse(c, buf)).toBe(STATUS_ERROR);
    expect([c.errorCode(), c.errorSeq(), c.extAckMessage()]).toEqual([-22, 102, "Invalid prefix for given prefix length"]);
    // next parse() starts afresh
    expect(parse(c, block(errors, "error.ack").bytes)).toBe(STATUS_ACK);
    expect([c.errorCode(), c.errorSeq(), c.extAckMessage()]).toEqual([0, 100, ""]);
  });

  test("rows of a datagram, then its DONE, in one buffer", () => {
    const c = new Codec();
    expect(parse(c, concat(block(routes, "route6.1").bytes, block(routes, "route6.2").bytes))).toBe(STATUS_DONE);
    expect(c.routes.count).toBe(24);
  });
});

import { describe, expect, test } from "bun:test";
import {
  contains,
  formatCIDR,
  formatIP,
  fromBytes,
  ipEqual,
  maskBytes,
  networkOf,
  parseCIDR,
  parseIP,
} from "../src/ip";

const ip = (s: string) => {
  const r = parseIP(s);
  if (!r) throw new Error(`test setup: ${s} does not parse`);
  return r;
};
const cidr = (s: string) => {
  const r = parseCIDR(s);
  if (!r) throw new Error(`test setup: ${s} does not parse`);
  return r;
};

describe("parseIP accepts what Go's net.ParseIP accepts", () => {
  test.each([
    ["10.10.0.1", "10.10.0.1", 4],
    ["0.0.0.0", "0.0.0.0", 4],
    ["255.255.255.255", "255.255.255.255", 4],
    ["3ffe:ffff:0:01ff::1", "3ffe:ffff:0:1ff::1", 6],
    ["3FFE:FFFF::1", "3ffe:ffff::1", 6],
    ["::", "::", 6],
    ["::1", "::1", 6],
    ["1::", "1::", 6],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0", 6],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", 6],
    ["0001:0002::0003", "1:2::3", 6],
    ["::ffff:10.0.0.1", "10.0.0.1", 4],
    ["::ffff:a00:1", "10.0.0.1", 4],
    ["::10.0.0.1", "::a00:1", 6],
    ["1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304", 6],
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221", 6],
  ] as const)("%s", (text, printed, family) => {
    const r = ip(text);
    expect(r.family).toBe(family);
    expect(r.bytes.length).toBe(family === 4 ? 4 : 16);
    expect(formatIP(r)).toBe(printed);
  });
});

describe("parseIP rejects what Go >= 1.17 rejects", () => {
  test.each([
    "",
    "010.0.0.1",
    "10.0.0.01",
    "10.0.0.256",
    "10.0.0",
    "10.0.0.1.2",
    "10..0.1",
    " 10.0.0.1",
    "10.0.0.1 ",
    "+1.2.3.4",
    "1.2.3.4/24",
    "fe80::1%eth0",
    "1::2::3",
    ":1::",
    "1:::2",
    "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8:9",
    "12345::",
    "g::1",
    "1.2.3.4::",
    "::1.2.3.4:5",
    "::010.0.0.1",
    "1:2:3:4:5:6:7:1.2.3.4",
    "localhost",
  ])("%p", (text) => {
    expect(parseIP(text)).toBeNull();
  });
});

describe("parseCIDR keeps host bits and prints like Go", () => {
  test.each([
    ["10.10.0.1/24", "10.10.0.1/24", 4, 24],
    ["0.0.0.0/0", "0.0.0.0/0", 4, 0],
    ["192.168.0.0/16", "192.168.0.0/16", 4, 16],
    ["10.0.0.1/32", "10.0.0.1/32", 4, 32],
    ["10.0.0.1/024", "10.0.0.1/24", 4, 24],
    ["3ffe:ffff:0:01ff::1/64", "3ffe:ffff:0:1ff::1/64", 6, 64],
    ["::/0", "::/0", 6, 0],
    ["2001:DB8::1/128", "2001:db8::1/128", 6, 128],
    // Go keeps a 128-bit mask for a v4-mapped address and prints its last 32 bits.
    ["::ffff:10.0.0.1/120", "10.0.0.1/24", 4, 24],
    ["::ffff:10.0.0.1/64", "10.0.0.1/0", 4, 0],
  ] as const)("%s", (text, printed, family, prefix) => {
    const c = cidr(text);
    expect(c.ip.family).toBe(family);
    expect(c.prefix).toBe(prefix);
    expect(formatCIDR(c)).toBe(printed);
  });

  test.each(["10.10.0.1", "10.10.0.1/33", "10.10.0.1/-1", "10.10.0.1/+8", "10.10.0.1/", "/24", "::/129", "fe80::1%eth0/64", "010.0.0.1/8", "10.0.0.1/24/1", "10.0.0.1/ 24"])(
    "rejects %p",
    (text) => {
      expect(parseCIDR(text)).toBeNull();
    },
  );
});

describe("formatIP compresses IPv6 as Go (RFC 5952)", () => {
  test.each([
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // first of two equal runs
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // longest run
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // a single zero group is not compressed
    ["0:0:0:0:0:0:0:1", "::1"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["0:0:0:0:0:ffff:102:304", "1.2.3.4"], // v4-mapped prints dotted
  ])("%s -> %s", (text, printed) => {
    expect(formatIP(ip(text))).toBe(printed);
  });
});

describe("masks, networks and containment", () => {
  test("maskBytes", () => {
    expect([...maskBytes(24, 4)]).toEqual([255, 255, 255, 0]);
    expect([...maskBytes(0, 4)]).toEqual([0, 0, 0, 0]);
    expect([...maskBytes(13, 4)]).toEqual([255, 248, 0, 0]);
    expect([...maskBytes(64, 6)]).toEqual([255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  test("networkOf clears host bits", () => {
    expect(formatCIDR(networkOf(cidr("10.10.0.1/24")))).toBe("10.10.0.0/24");
    expect(formatCIDR(networkOf(cidr("3ffe:ffff:0:1ff::1/64")))).toBe("3ffe:ffff:0:1ff::/64");
    expect(formatCIDR(networkOf(cidr("10.1.2.3/0")))).toBe("0.0.0.0/0");
  });

  test("contains", () => {
    expect(contains(cidr("10.10.0.1/24"), ip("10.10.0.254"))).toBe(true);
    expect(contains(cidr("11.11.0.1/24"), ip("10.10.0.254"))).toBe(false);
    expect(contains(cidr("10.10.0.1/24"), ip("::ffff:10.10.0.254"))).toBe(true);
    expect(contains(cidr("0.0.0.0/0"), ip("::1"))).toBe(false);
    expect(contains(cidr("::/0"), ip("10.0.0.1"))).toBe(false);
    expect(contains(cidr("3ffe:ffff:0:1ff::1/64"), ip("3ffe:ffff:0:1ff::abcd"))).toBe(true);
    expect(contains(cidr("3ffe:ffff:0:1ff::1/64"), ip("3ffe:ffff::1"))).toBe(false);
  });

  test("ipEqual follows Go's IP.Equal", () => {
    expect(ipEqual(ip("10.0.0.1"), ip("::ffff:10.0.0.1"))).toBe(true);
    expect(ipEqual(ip("3ffe:ffff:0::1"), ip("3ffe:ffff::1"))).toBe(true);
    expect(ipEqual(ip("10.0.0.1"), ip("10.0.0.2"))).toBe(false);
    expect(ipEqual(ip("::a00:1"), ip("10.0.0.1"))).toBe(false);
  });
});

describe("byte forms for netlink", () => {
  test("bytes and fromBytes", () => {
    expect([...ip("10.0.0.1").bytes]).toEqual([10, 0, 0, 1]);
    expect([...ip("::ffff:10.0.0.1").bytes]).toEqual([10, 0, 0, 1]);
    expect(ip("2001:db8::1").bytes.length).toBe(16);
    expect(formatIP(fromBytes(new Uint8Array([192, 0, 2, 1])))).toBe("192.0.2.1");
    const v6 = fromBytes(ip("2001:db8::1").bytes);
    expect(v6.family).toBe(6);
    expect(formatIP(v6)).toBe("2001:db8::1");
    expect(() => fromBytes(new Uint8Array(5))).toThrow("an IP address is 4 or 16 bytes, got 5");
  });

  test("fromBytes copies", () => {
    const raw = new Uint8Array([10, 0, 0, 1]);
    const a = fromBytes(raw);
    raw[0] = 99;
    expect(formatIP(a)).toBe("10.0.0.1");
  });
});

describe("printing and parsing agree", () => {
  test("formatIP then parseIP gives the same bytes (5,000 random IPv6 addresses, many zero groups)", () => {
    let seed = 42;
    const next = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 8) & 0xff;
    for (let i = 0; i < 5000; i++) {
      const b = new Uint8Array(16).map(() => (next() < 128 ? 0 : next()));
      const text = formatIP({ family: 6, bytes: b });
      const back = parseIP(text);
      const v4mapped = b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
      expect(back && [...back.bytes]).toEqual(v4mapped ? [...b.slice(12)] : [...b]);
    }
  });
});

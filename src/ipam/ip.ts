// IP and CIDR helpers with Go's acceptance and printing rules (net.ParseIP, net.ParseCIDR,
// net.IP.String, net.IPNet.String, Go >= 1.17), so configs upstream accepts are accepted here,
// configs it rejects are rejected, and results print byte for byte as upstream prints them.
//
// Representation: an IPv4 address is 4 bytes, an IPv6 address 16 bytes. An IPv4-mapped IPv6
// address written in text ("::ffff:10.0.0.1") is treated as IPv4, as Go's To4() does everywhere
// that matters (printing, family, Contains, static's canonicalizeIP). For such a CIDR Go keeps a
// 128-bit mask and prints/matches only its last 32 bits, so "::ffff:10.0.0.1/120" means
// "10.0.0.1/24" and any prefix below 96 means /0.

export type Family = 4 | 6;

export interface IPAddr {
  readonly family: Family;
  /** 4 bytes for IPv4, 16 for IPv6. */
  readonly bytes: Uint8Array;
}

/** An address with a prefix length; the host bits are kept ("10.10.0.1/24"). */
export interface CIDR {
  readonly ip: IPAddr;
  readonly prefix: number;
}

const DEC = /^[0-9]{1,3}$/;
const HEX = /^[0-9a-fA-F]{1,4}$/;

/** Go's parseIPv4 fields: exactly four decimal octets, 0-255, no leading zeros, no signs. */
function parseV4Fields(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!DEC.test(p) || (p.length > 1 && p[0] === "0")) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

/** Go's parseIPv6: hex groups of 1-4 digits, one "::" standing for at least one zero group,
 * an optional dotted IPv4 tail in the last 32 bits, no zone. */
function parseV6(s: string): Uint8Array | null {
  if (s.includes("%")) return null;
  const out = new Uint8Array(16);
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (part: string, last: boolean): number[] | null => {
    if (part === "") return [];
    const fields = part.split(":");
    const words: number[] = [];
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      if (last && i === fields.length - 1 && f.includes(".")) {
        const v4 = parseV4Fields(f);
        if (!v4) return null;
        words.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!HEX.test(f)) return null;
        words.push(parseInt(f, 16));
      }
    }
    return words;
  };
  let words: number[];
  if (halves.length === 1) {
    const w = groupsOf(halves[0], true);
    if (!w || w.length !== 8) return null;
    words = w;
  } else {
    const head = groupsOf(halves[0], false);
    const tail = groupsOf(halves[1], true);
    if (!head || !tail) return null;
    // "::" must stand for at least one group of zeros.
    if (head.length + tail.length > 7) return null;
    words = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  }
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i] >> 8;
    out[2 * i + 1] = words[i] & 0xff;
  }
  return out;
}

function isV4Mapped(b: Uint8Array): boolean {
  if (b.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** Parses text as Go's net.ParseIP does (no zones, no leading-zero IPv4 octets). */
export function parseIP(s: string): IPAddr | null {
  if (s.includes(":")) {
    const b = parseV6(s);
    if (!b) return null;
    return isV4Mapped(b) ? { family: 4, bytes: b.slice(12) } : { family: 6, bytes: b };
  }
  const b = parseV4Fields(s);
  return b ? { family: 4, bytes: b } : null;
}

/** Parses "ip/prefix" as Go's net.ParseCIDR does, keeping the host bits of the address. */
export function parseCIDR(s: string): CIDR | null {
  const slash = s.indexOf("/");
  if (slash < 0) return null;
  const addr = s.slice(0, slash);
  const len = s.slice(slash + 1);
  // Go's dtoi: decimal digits only; leading zeros are accepted ("/024").
  if (!/^[0-9]+$/.test(len)) return null;
  const n = Number(len);
  const ip = parseIP(addr);
  if (!ip) return null;
  const textBits = addr.includes(":") ? 128 : 32;
  if (n > textBits) return null;
  // A v4-mapped address written as IPv6 carries a 128-bit mask of which Go uses the last 32 bits.
  const prefix = ip.family === 4 && textBits === 128 ? Math.max(0, n - 96) : n;
  return { ip, prefix };
}

/** The address as Go prints a net.IP: dotted quad for IPv4, RFC 5952 compressed lowercase for IPv6. */
export function formatIP(ip: IPAddr): string {
  const b = ip.bytes;
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (isV4Mapped(b)) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[2 * i] << 8) | b[2 * i + 1]);
  // The longest run of at least two zero groups becomes "::"; the first one wins a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return words.map((w) => w.toString(16)).join(":");
  const head = words.slice(0, bestStart).map((w) => w.toString(16)).join(":");
  const tail = words.slice(bestStart + bestLen).map((w) => w.toString(16)).join(":");
  return `${head}::${tail}`;
}

/** "ip/prefix" with the host bits kept, as Go prints a net.IPNet built by ParseCIDR. */
export function formatCIDR(c: CIDR): string {
  return `${formatIP(c.ip)}/${c.prefix}`;
}

export function familyBits(family: Family): 32 | 128 {
  return family === 4 ? 32 : 128;
}

/** The netmask bytes for a prefix length (4 or 16 bytes). */
export function maskBytes(prefix: number, family: Family): Uint8Array {
  const out = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = 0; i < out.length; i++) {
    const bits = Math.min(8, Math.max(0, prefix - 8 * i));
    out[i] = (0xff00 >> bits) & 0xff;
  }
  return out;
}

/** The CIDR with its host bits cleared ("10.10.0.1/24" becomes "10.10.0.0/24"). */
export function networkOf(c: CIDR): CIDR {
  const m = maskBytes(c.prefix, c.ip.family);
  const b = c.ip.bytes.map((x, i) => x & m[i]);
  return { ip: { family: c.ip.family, bytes: b }, prefix: c.prefix };
}

/** Whether `ip` lies in `subnet` (Go's IPNet.Contains: different families never match). */
export function contains(subnet: CIDR, ip: IPAddr): boolean {
  if (subnet.ip.family !== ip.family) return false;
  const m = maskBytes(subnet.prefix, subnet.ip.family);
  for (let i = 0; i < m.length; i++) {
    if ((subnet.ip.bytes[i] & m[i]) !== (ip.bytes[i] & m[i])) return false;
  }
  return true;
}

/** Go's IP.Equal: same address (an IPv4 address equals its IPv4-mapped form). */
export function ipEqual(a: IPAddr, b: IPAddr): boolean {
  if (a.family !== b.family || a.bytes.length !== b.bytes.length) return false;
  for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return false;
  return true;
}

/** The 16-byte form (IPv4 becomes ::ffff:a.b.c.d), as Go stores a parsed net.IP. */
export function to16(ip: IPAddr): Uint8Array {
  if (ip.bytes.length === 16) return ip.bytes.slice();
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(ip.bytes, 12);
  return out;
}

/** Bytes in the family's own length: 4 for IPv4, 16 for IPv6 (what netlink carries). */
export function toBytes(ip: IPAddr): Uint8Array {
  return ip.bytes.slice();
}

/** An address from netlink bytes: 4 bytes is IPv4 and 16 bytes IPv6, taken literally. */
export function fromBytes(bytes: Uint8Array): IPAddr {
  if (bytes.length === 4) return { family: 4, bytes: bytes.slice() };
  if (bytes.length === 16) return { family: 6, bytes: bytes.slice() };
  throw new Error(`an IP address is 4 or 16 bytes, got ${bytes.length}`);
}

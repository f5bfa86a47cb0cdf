// IP and CIDR values with Go's acceptance and printing rules (net.ParseIP, net.ParseCIDR,
// net.IP.String, net.IPNet.String, Go >= 1.17), so configs upstream accepts are accepted here,
// configs it rejects are rejected, and results print byte for byte as upstream prints them.
// Text is parsed and printed by the `ip-address` package; this module adds what Go does
// differently (no zone, no prefix inside an address, IPv4-mapped addresses are IPv4) and the
// byte forms netlink carries. `ip-address` is loaded on the first parse or IPv6 print, so
// commands that never touch an address (VERSION, protocol errors) do not pay for it.
//
// Representation: an IPv4 address is 4 bytes, an IPv6 address 16 bytes. An IPv4-mapped IPv6
// address written in text ("::ffff:10.0.0.1") is treated as IPv4, as Go's To4() does everywhere
// that matters (printing, family, Contains, static's canonicalizeIP). For such a CIDR Go keeps a
// 128-bit mask and prints/matches only its last 32 bits, so "::ffff:10.0.0.1/120" means
// "10.0.0.1/24" and any prefix below 96 means /0.
import type * as IPAddressModule from "ip-address";

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

// The IPv4 and IPv6 halves load separately, so an IPv4-only config never evaluates the larger
// IPv6 module.
let v4: typeof IPAddressModule.Address4 | undefined;
let v6: typeof IPAddressModule.Address6 | undefined;
const Address4 = (): typeof IPAddressModule.Address4 => (v4 ??= require("ip-address/dist/ipv4").Address4);
const Address6 = (): typeof IPAddressModule.Address6 => (v6 ??= require("ip-address/dist/ipv6").Address6);

function isV4Mapped(b: Uint8Array): boolean {
  if (b.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** Parses text as Go's net.ParseIP does (no zones, no leading-zero IPv4 octets). */
export function parseIP(s: string): IPAddr | null {
  // ip-address also reads "addr/len" and "addr%zone" as an address; Go's ParseIP does not.
  if (s.includes("/") || s.includes("%")) return null;
  // One parse each (isValid would construct the address a second time): the constructors throw
  // on what they do not accept. `new Uint8Array(array)`, not Uint8Array.from: the same bytes,
  // without that builtin's first-call cost (README "Start-up budget").
  try {
    if (s.includes(":")) {
      const b = new Uint8Array(new (Address6())(s).toUnsignedByteArray());
      return isV4Mapped(b) ? { family: 4, bytes: b.slice(12) } : { family: 6, bytes: b };
    }
    return { family: 4, bytes: new Uint8Array(new (Address4())(s).toArray()) };
  } catch {
    return null;
  }
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
  // correctForm: lowercase, no leading zeros, the first longest run of two or more zero groups
  // as "::" (what Go prints).
  return Address6().fromUnsignedByteArray([...b]).correctForm();
}

/** "ip/prefix" with the host bits kept, as Go prints a net.IPNet built by ParseCIDR. */
export function formatCIDR(c: CIDR): string {
  return `${formatIP(c.ip)}/${c.prefix}`;
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

/** An address from netlink bytes: 4 bytes is IPv4 and 16 bytes IPv6, taken literally. */
export function fromBytes(bytes: Uint8Array): IPAddr {
  if (bytes.length === 4) return { family: 4, bytes: bytes.slice() };
  if (bytes.length === 16) return { family: 6, bytes: bytes.slice() };
  throw new Error(`an IP address is 4 or 16 bytes, got ${bytes.length}`);
}

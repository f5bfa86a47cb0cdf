// Address bytes <-> text for the netlink layer, through the one IP module (Go's rules).
import { formatIP, fromBytes, parseIP } from "../ipam/ip";

/** Canonical text (IPv4 dotted quad, IPv6 RFC 5952) of 4 or 16 address bytes. */
export function formatIp(b: Uint8Array): string {
  return formatIP(fromBytes(b));
}

/** 4 bytes for IPv4 text, 16 for IPv6 text; undefined when `s` is not an address. */
export function parseIpBytes(s: string): Uint8Array | undefined {
  return parseIP(s)?.bytes;
}

export function ipBytes(s: string): Uint8Array {
  const b = parseIpBytes(s);
  if (!b) throw new Error(`invalid IP address: ${s}`);
  return b;
}

// Address bytes as netlink carries them (4 for IPv4, 16 for IPv6) and their canonical text,
// through the one IP module (Go's rules). Routes still name gateways and destinations as text,
// so their requests turn that text into bytes here; an address arrives typed (addAddr).
import { formatIP, fromBytes, parseIP } from "../ip";

/** Canonical text (IPv4 dotted quad, IPv6 RFC 5952) of 4 or 16 address bytes from the kernel. */
export function addressText(b: Uint8Array): string {
  return formatIP(fromBytes(b));
}

/** The bytes a request carries for the address text `s` (4 for IPv4, 16 for IPv6). */
export function addressBytes(s: string): Uint8Array {
  const ip = parseIP(s);
  if (!ip) throw new Error(`invalid IP address: ${s}`);
  return ip.bytes;
}

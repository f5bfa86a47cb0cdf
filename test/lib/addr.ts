// Typed addresses for tests: the netlink and net layers take and return IPAddr / CIDR values
// (src/ip.ts); tests write them as text and compare what comes back as text.
import { formatCIDR, formatIP, networkOf, parseCIDR, parseIP, type CIDR, type IPAddr } from "../../src/ip";

/** The address `s` (throws on text the parser refuses). */
export function ip(s: string): IPAddr {
  const a = parseIP(s);
  if (!a) throw new Error(`test: invalid IP address ${s}`);
  return a;
}

/** The prefix `s` with its host bits cleared, as a route key holds it. */
export function net(s: string): CIDR {
  const c = parseCIDR(s);
  if (!c) throw new Error(`test: invalid CIDR ${s}`);
  return networkOf(c);
}

const isIP = (v: object): v is IPAddr => "bytes" in v && v.bytes instanceof Uint8Array && "family" in v;
const isCIDR = (v: object): v is CIDR => "ip" in v && "prefix" in v && typeof v.ip === "object" && v.ip !== null && isIP(v.ip);

/** `v` with every IPAddr and CIDR in it replaced by its text (for assertions written as text). */
export function shown(v: unknown): any {
  if (v === null || typeof v !== "object" || v instanceof Uint8Array) return v;
  if (isIP(v)) return formatIP(v);
  if (isCIDR(v)) return formatCIDR(v);
  if (Array.isArray(v)) return v.map(shown);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shown(x)]));
}

/** The prefix `s` with its host bits kept (what a route request must not carry for IPv4). */
export function cidr(s: string): CIDR {
  const c = parseCIDR(s);
  if (!c) throw new Error(`test: invalid CIDR ${s}`);
  return c;
}

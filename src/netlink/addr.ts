// Interface addresses.
import { codec } from "./codec";
import {
  AF_INET, AF_INET6, AF_UNSPEC, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, RTM_GETADDR, RTM_NEWADDR,
} from "./constants";
import { fromBytes, type IPAddr } from "../ip";
import type { NetlinkSocket } from "./socket";

export interface Addr {
  family: number;
  index: number;
  /** The interface's own address (IFA_LOCAL for IPv4, IFA_ADDRESS for IPv6). */
  ip: IPAddr;
  prefixlen: number;
  scope: number;
  /** IFA_F_* (32-bit IFA_FLAGS when present). */
  flags: number;
}

/** Addresses of `family` (AF_UNSPEC for both), optionally only those of one interface. */
export function listAddrs(sock: NetlinkSocket, family = AF_UNSPEC, index?: number): Addr[] {
  sock.dump((seq) => codec.encodeDump(RTM_GETADDR, seq, family));
  return addrRows(index);
}

/** Materialises the address rows currently in the codec's table (a dump or notifications). */
export function addrRows(index?: number): Addr[] {
  const a = codec.addrs;
  const out: Addr[] = [];
  for (let i = 0; i < a.count; i++) {
    if (a.type(i) !== RTM_NEWADDR || (index !== undefined && a.index(i) !== index)) continue;
    const ip = a.local(i) ?? a.address(i);
    if (!ip) continue;
    out.push({ family: a.family(i), index: a.index(i), ip: fromBytes(ip), prefixlen: a.prefixlen(i), scope: a.scope(i), flags: a.flags(i) });
  }
  return out;
}

/** The directed broadcast address of an IPv4 prefix shorter than /31 (what upstream's netlink sets). */
export function broadcastOf(bytes: Uint8Array, prefixlen: number): Uint8Array | undefined {
  if (bytes.length !== 4 || prefixlen >= 31) return undefined;
  const host = prefixlen === 0 ? 0xffffffff : (0xffffffff >>> prefixlen);
  const v = (((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) | host) >>> 0;
  return Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

/** Adds `ip`/`prefixlen` to the interface (the prefix route comes from the kernel). */
export function addAddr(sock: NetlinkSocket, index: number, ip: IPAddr, prefixlen: number, flags?: number): void {
  const bytes = ip.bytes;
  const family = ip.family === 4 ? AF_INET : AF_INET6;
  sock.request((seq) =>
    codec.encodeAddr(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, {
      family, prefixlen, index, local: bytes, address: bytes, broadcast: broadcastOf(bytes, prefixlen), flags,
    }),
  );
}


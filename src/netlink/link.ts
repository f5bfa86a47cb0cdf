// Network devices: lookup, creation of macvlan/ipvlan/vrf, rename, up, master, delete.
import { codec, type LinkSpec } from "./codec";
import {
  AF_UNSPEC, ENODEV, IFF_UP, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, RTM_DELLINK,
  RTM_GETLINK, RTM_NEWLINK,
} from "./constants";
import { NetlinkError, type NetlinkSocket } from "./socket";

export interface Link {
  index: number;
  name: string;
  flags: number;
  mtu: number;
  /** 0 when the device has no master. */
  master: number;
  /** IFLA_INFO_KIND, "" for devices without one (e.g. loopback). */
  kind: string;
  /** macvlan/ipvlan mode, vrf table. */
  mode: number;
  vrfTable: number;
  /** Colon-separated lowercase hex, as Go prints net.HardwareAddr. */
  mac: string;
}

/** A loop, not Array.from(b, fn): that builtin's first call costs ~0.5 ms of start-up (README "Start-up budget"). */
function macText(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += (i ? ":" : "") + (b[i] < 16 ? "0" : "") + b[i].toString(16);
  return s;
}

export function parseMac(s: string): Uint8Array | undefined {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) return undefined;
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

function linkFromRow(i: number): Link {
  const l = codec.links;
  return {
    index: l.index(i), name: l.ifname(i), flags: l.flags(i), mtu: l.mtu(i), master: l.master(i),
    kind: l.kind(i), mode: l.mode(i), vrfTable: l.vrfTable(i), mac: macText(l.address(i)),
  };
}


function getLink(sock: NetlinkSocket, spec: LinkSpec): Link | undefined {
  let seq: number;
  try {
    // A GETLINK without NLM_F_DUMP answers with one RTM_NEWLINK, then the requested ACK.
    codec.reset();
    seq = sock.request((s) => codec.encodeLink(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, s, spec));
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === ENODEV) return undefined;
    throw e;
  }
  // Only the row answering this request: anything still queued from before parses too.
  for (let i = 0; i < codec.links.count; i++) if (codec.links.seq(i) === seq) return linkFromRow(i);
  return undefined;
}

/** Every link of the namespace. */
export function listLinks(sock: NetlinkSocket): Link[] {
  sock.dump((seq) => codec.encodeDump(RTM_GETLINK, seq, AF_UNSPEC));
  const out: Link[] = [];
  for (let i = 0; i < codec.links.count; i++) if (codec.links.type(i) === RTM_NEWLINK) out.push(linkFromRow(i));
  return out;
}

export function linkByName(sock: NetlinkSocket, name: string): Link | undefined {
  return getLink(sock, { ifname: name });
}

export function linkByIndex(sock: NetlinkSocket, index: number): Link | undefined {
  return getLink(sock, { index });
}

export interface NewLink {
  name: string;
  kind: "macvlan" | "ipvlan" | "vrf";
  /** Lower device (macvlan/ipvlan). */
  parent?: number;
  mode?: number;
  mtu?: number;
  mac?: Uint8Array;
  /** Create the device directly in the namespace behind this fd. */
  netnsFd?: number;
  vrfTable?: number;
}

export function createLink(sock: NetlinkSocket, l: NewLink): void {
  const spec: LinkSpec = {
    ifname: l.name, kind: l.kind, link: l.parent, mode: l.mode, mtu: l.mtu || undefined,
    address: l.mac, netnsFd: l.netnsFd, vrfTable: l.vrfTable,
  };
  sock.request((seq) => codec.encodeLink(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, spec));
}

function setLink(sock: NetlinkSocket, spec: LinkSpec): void {
  sock.request((seq) => codec.encodeLink(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, spec));
}

export function setLinkUp(sock: NetlinkSocket, index: number, up = true): void {
  setLink(sock, { index, flags: up ? IFF_UP : 0, change: IFF_UP });
}

/** Enslaves the device to `master` (0 releases it). */
export function setLinkMaster(sock: NetlinkSocket, index: number, master: number): void {
  setLink(sock, { index, master });
}

export function renameLink(sock: NetlinkSocket, index: number, name: string): void {
  setLink(sock, { index, ifname: name });
}


export function deleteLink(sock: NetlinkSocket, index: number): void {
  sock.request((seq) => codec.encodeLink(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq, { index }));
}

// The rtnetlink codec: an AssemblyScript WebAssembly module (codec/) that encodes requests into
// its request region and parses received datagrams into row tables in its linear memory.
//
// Rows are read through RouteRows / LinkRows / AddrRows by index; no object is built per row.
// memory.grow (tables that fill up move to a larger region) detaches every view of the old
// buffer, and a detached view handed to FFI silently becomes NULL (docs/bun.md §4): the views
// here are rebuilt after each parse(), and recvView()/requestView() return fresh views each call.
import wasmPath from "../../build/codec.wasm" with { type: "file" };
import { readFileSync } from "node:fs";
import * as L from "../../codec/layout.ts";
import {
  AF_INET, AF_INET6, RTM_DELROUTE, RTM_GETROUTE, RTM_NEWROUTE, RTN_ANYCAST, RTN_BROADCAST, RTN_LOCAL,
  RTN_MULTICAST, RTN_NAT, RTN_UNICAST, RTPROT_BOOT,
  RTPROT_UNSPEC, RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_NOWHERE, RT_SCOPE_UNIVERSE, RT_TABLE_UNSPEC,
} from "./constants";

// ---- codec-specific constants (kernel message constants live in ./constants.ts) ----
export const STATUS_MORE = L.STATUS_MORE;
export const STATUS_DONE = L.STATUS_DONE;
export const STATUS_ERROR = L.STATUS_ERROR;
export const STATUS_ACK = L.STATUS_ACK;
export const STATUS_MALFORMED = L.STATUS_MALFORMED;
export const STATUS_NO_MEMORY = L.STATUS_NO_MEMORY;
export const RECV_SIZE = L.RECV_SIZE;
export const REQUEST_SIZE = L.REQUEST_SIZE;
/** Most nexthops one encodeRoute() takes (RTA_MULTIPATH is limited to 64 KiB anyway). */
export const MAX_NEXTHOPS = L.SCRATCH_NH_CAP;

export interface NexthopSpec {
  ifindex: number;
  /** 1..256, default 1 (rtnh_hops = weight - 1). */
  weight?: number;
  /** RTNH_F_* */
  flags?: number;
  /** 4 or 16 bytes. */
  gateway?: Uint8Array;
  /** Set: the gateway is sent as RTA_VIA of this family instead of RTA_GATEWAY. */
  viaFamily?: number;
}

export interface RouteSpec {
  family: number;
  dstLen: number;
  tos?: number;
  /** Any table id; ids > 255 go in RTA_TABLE with rtm_table = RT_TABLE_UNSPEC. */
  table: number;
  /** Default RTPROT_BOOT for RTM_NEWROUTE, RTPROT_UNSPEC otherwise (as iproute2). */
  protocol?: number;
  /** Default as iproute2: UNIVERSE for IPv6; else HOST for local/nat, LINK for
   * broadcast/multicast/anycast; for unicast NOWHERE in RTM_DELROUTE, LINK in RTM_NEWROUTE
   * without gateway or nexthops; UNIVERSE otherwise. */
  scope?: number;
  /** Default RTN_UNICAST. */
  type?: number;
  /** rtm_flags */
  flags?: number;
  dst?: Uint8Array;
  priority?: number;
  oif?: number;
  gateway?: Uint8Array;
  viaFamily?: number;
  pref?: number;
  /** RTAX_MTU in RTA_METRICS (0 = unset). */
  mtu?: number;
  /** RTAX_ADVMSS in RTA_METRICS (0 = unset). */
  advmss?: number;
  prefsrc?: Uint8Array;
  /** RTA_METRICS payload to send verbatim (as a dump gave it); replaces mtu/advmss. */
  metricsRaw?: Uint8Array;
  /** Sent as RTA_MULTIPATH. */
  nexthops?: NexthopSpec[];
}

export interface LinkSpec {
  family?: number;
  index?: number;
  flags?: number;
  change?: number;
  ifname?: string;
  mtu?: number;
  address?: Uint8Array;
  /** IFLA_MASTER; 0 releases the device from its master. */
  master?: number;
  link?: number;
  netnsFd?: number;
  /** IFLA_INFO_KIND; IFLA_INFO_DATA is sent for macvlan/macvtap, ipvlan/ipvtap and vrf. */
  kind?: string;
  /** IFLA_MACVLAN_MODE (u32) or IFLA_IPVLAN_MODE (u16), by kind. */
  mode?: number;
  vrfTable?: number;
  ipvlanFlags?: number;
}

export interface AddrSpec {
  family: number;
  prefixlen: number;
  /** ifa_flags, the 8-bit header field. */
  ifaFlags?: number;
  scope?: number;
  index: number;
  address?: Uint8Array;
  local?: Uint8Array;
  broadcast?: Uint8Array;
  label?: string;
  /** IFA_FLAGS (u32). */
  flags?: number;
}

export interface Exports {
  memory: WebAssembly.Memory;
  init(): number;
  reset(): void;
  parse(len: number): number;
  encodeRoute(): number;
  encodeLink(): number;
  encodeAddr(): number;
  reencodeRoute(i: number): number;
  reencodeLink(i: number): number;
  reencodeAddr(i: number): number;
  encodeDump(type: number, seq: number, family: number): number;
  encodeNeigh(): number;
  reencodeNeigh(i: number): number;
}

const utf8 = new TextDecoder();
const utf8enc = new TextEncoder();

function addrLen(family: number): number {
  return family === AF_INET6 ? 16 : 4;
}

function uint(v: number | undefined, bits: 8 | 16 | 32, what: string): number {
  const x = v ?? 0;
  const max = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  if (!Number.isInteger(x) || x < 0 || x > max) throw new RangeError(`${what}: ${v} is not a u${bits}`);
  return x;
}

function int32(v: number | undefined, what: string): number {
  const x = v ?? 0;
  if (!Number.isInteger(x) || x < -0x80000000 || x > 0x7fffffff) throw new RangeError(`${what}: ${v} is not an i32`);
  return x;
}

export class Codec {
  readonly routes: RouteRows;
  readonly links: LinkRows;
  readonly addrs: AddrRows;
  private x: Exports | undefined;
  private buf: ArrayBuffer | undefined;
  /** @internal */ u8 = new Uint8Array(0);
  /** @internal */ dv = new DataView(new ArrayBuffer(0));
  /** @internal */ st = 0;
  /** @internal */ routeBase = 0;
  /** @internal */ nhBase = 0;
  /** @internal */ linkBase = 0;
  /** @internal */ addrBase = 0;

  constructor() {
    this.routes = new RouteRows(this);
    this.links = new LinkRows(this);
    this.addrs = new AddrRows(this);
  }

  private ex(): Exports {
    if (this.x) return this.x;
    const mod = new WebAssembly.Module(readFileSync(wasmPath));
    const x = new WebAssembly.Instance(mod, {}).exports as unknown as Exports;
    const st = x.init();
    if (st === 0) throw new Error("codec: could not allocate its memory regions");
    this.x = x;
    this.st = st;
    this.sync();
    return x;
  }

  /** Rebuilds the views when memory grew and re-reads the table bases. */
  private sync(): void {
    const b = this.x!.memory.buffer;
    if (b !== this.buf || this.u8.byteLength === 0) {
      this.buf = b;
      this.u8 = new Uint8Array(b);
      this.dv = new DataView(b);
    }
    const dv = this.dv;
    const st = this.st;
    this.routeBase = dv.getUint32(st + L.ST_ROUTE_BASE, true);
    this.nhBase = dv.getUint32(st + L.ST_NH_BASE, true);
    this.linkBase = dv.getUint32(st + L.ST_LINK_BASE, true);
    this.addrBase = dv.getUint32(st + L.ST_ADDR_BASE, true);
  }

  /** @internal The current DataView (instantiates the module on first use). */
  view(): DataView {
    if (!this.x) this.ex();
    if (this.u8.byteLength === 0 || this.x!.memory.buffer !== this.buf) this.sync();
    return this.dv;
  }

  /** @internal */
  stateWord(off: number): number {
    return this.view().getUint32(this.st + off, true);
  }

  /** The receive region (a fresh view; its length is the region's capacity). */
  recvView(): Uint8Array {
    const x = this.ex();
    return new Uint8Array(x.memory.buffer, this.stateWord(L.ST_RECV), L.RECV_SIZE);
  }

  /** The first `len` bytes of the request region (a fresh view). */
  requestView(len: number): Uint8Array {
    const x = this.ex();
    if (!Number.isInteger(len) || len < 0 || len > L.REQUEST_SIZE) throw new RangeError(`requestView: bad length ${len}`);
    return new Uint8Array(x.memory.buffer, this.stateWord(L.ST_REQUEST), len);
  }

  /** Empties all tables; clears status, error, extack and dump-interrupted state. */
  reset(): void {
    this.ex().reset();
    this.sync();
  }

  /** Parses the first `len` bytes of the receive region, appending rows; returns STATUS_*. */
  parse(len: number): number {
    const x = this.ex();
    if (!Number.isInteger(len) || len < 0) throw new RangeError(`parse: bad length ${len}`);
    const s = x.parse(len);
    this.sync();
    return s;
  }

  /** Status of the last parse(). */
  status(): number {
    return this.view().getInt32(this.st + L.ST_STATUS, true);
  }

  /** -errno of the last NLMSG_ERROR (0 = ACK), or of an NLMSG_DONE that reported a failed dump. */
  errorCode(): number {
    return this.view().getInt32(this.st + L.ST_ERROR_CODE, true);
  }

  /** nlmsg_seq of that message. */
  errorSeq(): number {
    return this.stateWord(L.ST_ERROR_SEQ);
  }

  /** NLMSGERR_ATTR_MSG of the last error (or NLMSG_DONE extack), "" if none. */
  extAckMessage(): string {
    const n = this.stateWord(L.ST_EXTACK_LEN);
    if (n === 0) return "";
    const p = this.stateWord(L.ST_EXTACK);
    return utf8.decode(this.u8.subarray(p, p + n));
  }

  /** NLMSGERR_ATTR_OFFS of the last error: offset of the offending attribute in the request. */
  extAckOffset(): number | undefined {
    return this.stateWord(L.ST_HAS_OFFS) ? this.stateWord(L.ST_EXTACK_OFFS) : undefined;
  }

  /** NLM_F_DUMP_INTR seen since reset(). */
  dumpInterrupted(): boolean {
    return this.stateWord(L.ST_DUMP_INTR) !== 0;
  }

  /** Offset in the receive region of the message the last MALFORMED parse() stopped at. */
  malformedOffset(): number {
    return this.stateWord(L.ST_MALFORMED_AT);
  }

  /** How many times a table moved to a larger region since instantiation. */
  tableMoves(): number {
    return this.stateWord(L.ST_GROWS);
  }

  /** @internal The module's exports, for message families read outside this file (./neigh.ts). */
  wasm(): Exports {
    return this.ex();
  }

  /** The WebAssembly memory (tests and diagnostics). */
  memory(): WebAssembly.Memory {
    return this.ex().memory;
  }

  // ---- encoders: fill the scratch row, let the wasm emit it ----

  private scratch(): number {
    this.ex();
    const s = this.stateWord(L.ST_SCRATCH);
    this.u8.fill(0, s, s + L.SCRATCH_ROW_SIZE);
    return s;
  }

  private header(s: number, type: number, nlFlags: number, seq: number): void {
    const dv = this.dv;
    dv.setUint16(s + L.ROW_NLMSG_TYPE, uint(type, 16, "nlmsg_type"), true);
    dv.setUint16(s + L.ROW_NLMSG_FLAGS, uint(nlFlags, 16, "nlmsg_flags"), true);
    dv.setUint32(s + L.ROW_NLMSG_SEQ, uint(seq, 32, "nlmsg_seq"), true);
  }

  private putAddr(at: number, a: Uint8Array, len: number, what: string): void {
    if (!(a instanceof Uint8Array) || a.length !== len) {
      throw new RangeError(`${what}: expected ${len} address bytes, got ${a?.length}`);
    }
    this.u8.set(a, at);
  }

  private putStr(at: number, s: string, what: string): void {
    const b = utf8enc.encode(s);
    if (b.length === 0 || b.length > 15 || b.includes(0)) throw new RangeError(`${what}: "${s}" must be 1..15 bytes without NUL`);
    this.u8.set(b, at);
  }

  private done(n: number, what: string): number {
    if (n === 0) throw new RangeError(`${what}: the message does not fit the request region`);
    return n;
  }

  /** Encodes an RTM_*ROUTE request; returns its length in the request region. */
  encodeRoute(type: number, nlFlags: number, seq: number, spec: RouteSpec): number {
    const s = this.scratch();
    const dv = this.dv;
    this.header(s, type, nlFlags, seq);
    const family = uint(spec.family, 8, "route family");
    const alen = addrLen(family);
    const rtype = spec.type ?? RTN_UNICAST;
    const table = uint(spec.table, 32, "route table");
    const nhs = spec.nexthops;
    let scope = spec.scope;
    if (scope === undefined) {
      // iproute2's choice (iproute_modify): universe for IPv6, for RTM_GETROUTE and otherwise
      // unless the type or a missing gateway says host, link or nowhere.
      scope = RT_SCOPE_UNIVERSE;
      if (family !== AF_INET6 && type !== RTM_GETROUTE) {
        if (rtype === RTN_LOCAL || rtype === RTN_NAT) scope = RT_SCOPE_HOST;
        else if (rtype === RTN_BROADCAST || rtype === RTN_MULTICAST || rtype === RTN_ANYCAST) scope = RT_SCOPE_LINK;
        else if (rtype === RTN_UNICAST || rtype === 0) {
          if (type === RTM_DELROUTE) scope = RT_SCOPE_NOWHERE;
          else if (!spec.gateway && !nhs) scope = RT_SCOPE_LINK;
        }
      }
    }
    dv.setUint8(s + L.RT_FAMILY, family);
    dv.setUint8(s + L.RT_DST_LEN, uint(spec.dstLen, 8, "route dstLen"));
    dv.setUint8(s + L.RT_TOS, uint(spec.tos, 8, "route tos"));
    dv.setUint8(s + L.RT_TABLE_HDR, table > 255 ? RT_TABLE_UNSPEC : table);
    dv.setUint8(s + L.RT_PROTOCOL, uint(spec.protocol ?? (type === RTM_NEWROUTE ? RTPROT_BOOT : RTPROT_UNSPEC), 8, "route protocol"));
    dv.setUint8(s + L.RT_SCOPE, uint(scope, 8, "route scope"));
    dv.setUint8(s + L.RT_TYPE, uint(rtype, 8, "route type"));
    dv.setUint32(s + L.RT_FLAGS, uint(spec.flags, 32, "route flags"), true);
    let present = 0;
    if (table > 255) {
      dv.setUint32(s + L.RT_TABLE, table, true);
      present |= L.RT_HAS_TABLE;
    }
    if (spec.dst !== undefined) {
      this.putAddr(s + L.RT_DST, spec.dst, alen, "route dst");
      present |= L.RT_HAS_DST;
    }
    if (spec.priority !== undefined) {
      dv.setUint32(s + L.RT_PRIORITY, uint(spec.priority, 32, "route priority"), true);
      present |= L.RT_HAS_PRIORITY;
    }
    if (spec.oif !== undefined) {
      dv.setUint32(s + L.RT_OIF, uint(spec.oif, 32, "route oif"), true);
      present |= L.RT_HAS_OIF;
    }
    if (spec.gateway !== undefined) {
      if (spec.viaFamily !== undefined) {
        const vf = uint(spec.viaFamily, 8, "route viaFamily");
        if (vf !== AF_INET && vf !== AF_INET6) throw new RangeError(`route viaFamily: ${vf} is not AF_INET or AF_INET6`);
        this.putAddr(s + L.RT_GATEWAY, spec.gateway, addrLen(vf), "route gateway (via)");
        dv.setUint8(s + L.RT_VIA_FAMILY, vf);
        present |= L.RT_HAS_VIA;
      } else {
        this.putAddr(s + L.RT_GATEWAY, spec.gateway, alen, "route gateway");
        present |= L.RT_HAS_GATEWAY;
      }
    }
    if (spec.pref !== undefined) {
      dv.setUint8(s + L.RT_PREF, uint(spec.pref, 8, "route pref"));
      present |= L.RT_HAS_PREF;
    }
    if (spec.mtu || spec.advmss) {
      dv.setUint32(s + L.RT_MTU, uint(spec.mtu, 32, "route mtu"), true);
      dv.setUint32(s + L.RT_ADVMSS, uint(spec.advmss, 32, "route advmss"), true);
      present |= L.RT_HAS_METRICS;
    }
    if (spec.metricsRaw?.length) {
      if (spec.metricsRaw.length > L.RT_METRICS_CAP) throw new RangeError(`route metricsRaw: ${spec.metricsRaw.length} bytes, at most ${L.RT_METRICS_CAP}`);
      this.u8.set(spec.metricsRaw, s + L.RT_METRICS_RAW);
      dv.setUint16(s + L.RT_METRICS_LEN, spec.metricsRaw.length, true);
      present |= L.RT_HAS_METRICS;
    }
    if (spec.prefsrc !== undefined) {
      this.putAddr(s + L.RT_PREFSRC, spec.prefsrc, alen, "route prefsrc");
      present |= L.RT_HAS_PREFSRC;
    }
    if (nhs !== undefined) {
      if (nhs.length === 0 || nhs.length > L.SCRATCH_NH_CAP) throw new RangeError(`route nexthops: 1..${L.SCRATCH_NH_CAP} expected, got ${nhs.length}`);
      const base = this.stateWord(L.ST_SCRATCH_NH);
      this.u8.fill(0, base, base + nhs.length * L.NEXTHOP_ROW);
      nhs.forEach((nh, k) => {
        const p = base + k * L.NEXTHOP_ROW;
        const w = nh.weight ?? 1;
        if (!Number.isInteger(w) || w < 1 || w > 256) throw new RangeError(`nexthop ${k}: weight ${w} is not 1..256`);
        dv.setUint8(p + L.NH_FLAGS, uint(nh.flags, 8, `nexthop ${k} flags`));
        dv.setUint8(p + L.NH_HOPS, w - 1);
        dv.setInt32(p + L.NH_IFINDEX, int32(nh.ifindex, `nexthop ${k} ifindex`), true);
        if (nh.gateway !== undefined) {
          if (nh.viaFamily !== undefined) {
            const vf = uint(nh.viaFamily, 8, `nexthop ${k} viaFamily`);
            if (vf !== AF_INET && vf !== AF_INET6) throw new RangeError(`nexthop ${k} viaFamily: ${vf} is not AF_INET or AF_INET6`);
            this.putAddr(p + L.NH_GATEWAY, nh.gateway, addrLen(vf), `nexthop ${k} gateway (via)`);
            dv.setUint8(p + L.NH_GW_FAMILY, vf);
            dv.setUint8(p + L.NH_IS_VIA, 1);
          } else {
            this.putAddr(p + L.NH_GATEWAY, nh.gateway, alen, `nexthop ${k} gateway`);
            dv.setUint8(p + L.NH_GW_FAMILY, family);
          }
        }
      });
      dv.setUint32(s + L.RT_NH_START, 0, true);
      dv.setUint32(s + L.RT_NH_COUNT, nhs.length, true);
      present |= L.RT_HAS_MULTIPATH;
    }
    dv.setUint32(s + L.RT_PRESENT, present, true);
    return this.done(this.x!.encodeRoute(), "encodeRoute");
  }

  /** Encodes an RTM_*LINK request; returns its length in the request region. */
  encodeLink(type: number, nlFlags: number, seq: number, spec: LinkSpec): number {
    const s = this.scratch();
    const dv = this.dv;
    this.header(s, type, nlFlags, seq);
    dv.setUint8(s + L.LN_FAMILY, uint(spec.family, 8, "link family"));
    dv.setInt32(s + L.LN_INDEX, int32(spec.index, "link index"), true);
    dv.setUint32(s + L.LN_FLAGS, uint(spec.flags, 32, "link flags"), true);
    dv.setUint32(s + L.LN_CHANGE, uint(spec.change, 32, "link change"), true);
    let present = 0;
    if (spec.ifname !== undefined) {
      this.putStr(s + L.LN_IFNAME, spec.ifname, "link ifname");
      present |= L.LN_HAS_IFNAME;
    }
    if (spec.mtu !== undefined) {
      dv.setUint32(s + L.LN_MTU, uint(spec.mtu, 32, "link mtu"), true);
      present |= L.LN_HAS_MTU;
    }
    if (spec.link !== undefined) {
      dv.setUint32(s + L.LN_LINK, uint(spec.link, 32, "link link"), true);
      present |= L.LN_HAS_LINK;
    }
    if (spec.master !== undefined) {
      dv.setUint32(s + L.LN_MASTER, uint(spec.master, 32, "link master"), true);
      present |= L.LN_HAS_MASTER;
    }
    if (spec.address !== undefined) {
      const a = spec.address;
      if (!(a instanceof Uint8Array) || a.length === 0 || a.length > 32) throw new RangeError(`link address: 1..32 bytes expected`);
      this.u8.set(a, s + L.LN_ADDRESS);
      dv.setUint8(s + L.LN_ADDRESS_LEN, a.length);
      present |= L.LN_HAS_ADDRESS;
    }
    if (spec.netnsFd !== undefined) {
      dv.setInt32(s + L.LN_NET_NS_FD, int32(spec.netnsFd, "link netnsFd"), true);
      present |= L.LN_HAS_NET_NS_FD;
    }
    if (spec.kind !== undefined) {
      this.putStr(s + L.LN_KIND, spec.kind, "link kind");
      present |= L.LN_HAS_KIND;
      if (spec.mode !== undefined) {
        dv.setUint32(s + L.LN_MODE, uint(spec.mode, 32, "link mode"), true);
        present |= L.LN_HAS_MODE;
      }
      if (spec.vrfTable !== undefined) {
        dv.setUint32(s + L.LN_VRF_TABLE, uint(spec.vrfTable, 32, "link vrfTable"), true);
        present |= L.LN_HAS_VRF_TABLE;
      }
      if (spec.ipvlanFlags !== undefined) {
        dv.setUint16(s + L.LN_IPVLAN_FLAGS, uint(spec.ipvlanFlags, 16, "link ipvlanFlags"), true);
        present |= L.LN_HAS_IPVLAN_FLAGS;
      }
    } else if (spec.mode !== undefined || spec.vrfTable !== undefined || spec.ipvlanFlags !== undefined) {
      throw new RangeError("link mode/vrfTable/ipvlanFlags need a kind");
    }
    dv.setUint32(s + L.LN_PRESENT, present, true);
    return this.done(this.x!.encodeLink(), "encodeLink");
  }

  /** Encodes an RTM_*ADDR request; returns its length in the request region. */
  encodeAddr(type: number, nlFlags: number, seq: number, spec: AddrSpec): number {
    const s = this.scratch();
    const dv = this.dv;
    this.header(s, type, nlFlags, seq);
    const family = uint(spec.family, 8, "addr family");
    const alen = addrLen(family);
    dv.setUint8(s + L.AD_FAMILY, family);
    dv.setUint8(s + L.AD_PREFIXLEN, uint(spec.prefixlen, 8, "addr prefixlen"));
    dv.setUint8(s + L.AD_IFA_FLAGS, uint(spec.ifaFlags, 8, "addr ifaFlags"));
    dv.setUint8(s + L.AD_SCOPE, uint(spec.scope, 8, "addr scope"));
    dv.setUint32(s + L.AD_INDEX, uint(spec.index, 32, "addr index"), true);
    let present = 0;
    if (spec.address !== undefined) {
      this.putAddr(s + L.AD_ADDRESS, spec.address, alen, "addr address");
      present |= L.AD_HAS_ADDRESS;
    }
    if (spec.local !== undefined) {
      this.putAddr(s + L.AD_LOCAL, spec.local, alen, "addr local");
      present |= L.AD_HAS_LOCAL;
    }
    if (spec.broadcast !== undefined) {
      this.putAddr(s + L.AD_BROADCAST, spec.broadcast, alen, "addr broadcast");
      present |= L.AD_HAS_BROADCAST;
    }
    if (spec.label !== undefined) {
      this.putStr(s + L.AD_LABEL, spec.label, "addr label");
      present |= L.AD_HAS_LABEL;
    }
    if (spec.flags !== undefined) {
      dv.setUint32(s + L.AD_FLAGS, uint(spec.flags, 32, "addr flags"), true);
      present |= L.AD_HAS_FLAGS;
    }
    dv.setUint32(s + L.AD_PRESENT, present, true);
    return this.done(this.x!.encodeAddr(), "encodeAddr");
  }

  /** RTM_GETROUTE / RTM_GETLINK / RTM_GETADDR with NLM_F_REQUEST|NLM_F_DUMP. */
  encodeDump(type: number, seq: number, family: number): number {
    const n = this.ex().encodeDump(uint(type, 16, "dump type"), uint(seq, 32, "nlmsg_seq"), uint(family, 8, "dump family"));
    if (n === 0) throw new RangeError(`encodeDump: ${type} is not RTM_GETROUTE, RTM_GETLINK or RTM_GETADDR`);
    return n;
  }

  /** Re-emits parsed route row `i` into the request region; returns the length. */
  reencodeRoute(i: number): number {
    this.routes.row(i);
    return this.done(this.ex().reencodeRoute(i), "reencodeRoute");
  }

  reencodeLink(i: number): number {
    this.links.row(i);
    return this.done(this.ex().reencodeLink(i), "reencodeLink");
  }

  reencodeAddr(i: number): number {
    this.addrs.row(i);
    return this.done(this.ex().reencodeAddr(i), "reencodeAddr");
  }
}

function rangeCheck(i: number, count: number, what: string): void {
  if (!(i >= 0 && i < count) || !Number.isInteger(i)) throw new RangeError(`${what} row ${i} out of range (count ${count})`);
}

function cstr(u8: Uint8Array, p: number, max: number): string {
  let n = 0;
  while (n < max && u8[p + n] !== 0) n++;
  return utf8.decode(u8.subarray(p, p + n));
}

/** Route rows (struct rtmsg + attributes); nexthops of RTA_MULTIPATH by (row, k). */
export class RouteRows {
  constructor(private readonly c: Codec) {}

  get count(): number {
    return this.c.stateWord(L.ST_ROUTE_COUNT);
  }

  /** @internal address of row i */
  row(i: number): number {
    rangeCheck(i, this.count, "route");
    return this.c.routeBase + i * L.ROUTE_ROW;
  }

  private nh(i: number, k: number): number {
    const r = this.row(i);
    const dv = this.c.dv;
    const n = dv.getUint32(r + L.RT_NH_COUNT, true);
    if (!(k >= 0 && k < n) || !Number.isInteger(k)) throw new RangeError(`route ${i}: nexthop ${k} out of range (count ${n})`);
    return this.c.nhBase + (dv.getUint32(r + L.RT_NH_START, true) + k) * L.NEXTHOP_ROW;
  }

  private addr(p: number, family: number): Uint8Array {
    return this.c.u8.slice(p, p + addrLen(family));
  }

  /** nlmsg_type (RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE). */
  type(i: number): number { return this.c.dv.getUint16(this.row(i) + L.ROW_NLMSG_TYPE, true); }
  nlFlags(i: number): number { return this.c.dv.getUint16(this.row(i) + L.ROW_NLMSG_FLAGS, true); }
  seq(i: number): number { return this.c.dv.getUint32(this.row(i) + L.ROW_NLMSG_SEQ, true); }
  family(i: number): number { return this.c.u8[this.row(i) + L.RT_FAMILY]; }
  dstLen(i: number): number { return this.c.u8[this.row(i) + L.RT_DST_LEN]; }
  srcLen(i: number): number { return this.c.u8[this.row(i) + L.RT_SRC_LEN]; }
  tos(i: number): number { return this.c.u8[this.row(i) + L.RT_TOS]; }
  /** RTA_TABLE if present, else rtm_table. */
  table(i: number): number {
    const r = this.row(i);
    const dv = this.c.dv;
    return dv.getUint32(r + L.RT_PRESENT, true) & L.RT_HAS_TABLE ? dv.getUint32(r + L.RT_TABLE, true) : dv.getUint8(r + L.RT_TABLE_HDR);
  }
  protocol(i: number): number { return this.c.u8[this.row(i) + L.RT_PROTOCOL]; }
  scope(i: number): number { return this.c.u8[this.row(i) + L.RT_SCOPE]; }
  /** rtm_type (RTN_*). */
  routeType(i: number): number { return this.c.u8[this.row(i) + L.RT_TYPE]; }
  /** rtm_flags */
  flags(i: number): number { return this.c.dv.getUint32(this.row(i) + L.RT_FLAGS, true); }
  /** RT_HAS_* bits */
  present(i: number): number { return this.c.dv.getUint32(this.row(i) + L.RT_PRESENT, true); }
  /** RTA_PRIORITY, 0 if absent. */
  priority(i: number): number { return this.c.dv.getUint32(this.row(i) + L.RT_PRIORITY, true); }
  /** RTA_OIF, 0 if absent (multipath routes have none: see nhIfindex). */
  oif(i: number): number { return this.c.dv.getUint32(this.row(i) + L.RT_OIF, true); }
  /** RTA_DST; zero bytes (4 or 16) if absent. */
  dst(i: number): Uint8Array { const r = this.row(i); return this.addr(r + L.RT_DST, this.c.u8[r + L.RT_FAMILY]); }
  /** RTA_GATEWAY, or the address of RTA_VIA (see viaFamily). */
  gateway(i: number): Uint8Array | undefined {
    const r = this.row(i);
    const p = this.c.dv.getUint32(r + L.RT_PRESENT, true);
    if (p & L.RT_HAS_VIA) return this.addr(r + L.RT_GATEWAY, this.c.u8[r + L.RT_VIA_FAMILY]);
    if (p & L.RT_HAS_GATEWAY) return this.addr(r + L.RT_GATEWAY, this.c.u8[r + L.RT_FAMILY]);
    return undefined;
  }
  /** Family of RTA_VIA, 0 when the gateway came as RTA_GATEWAY or there is none. */
  viaFamily(i: number): number { return this.c.u8[this.row(i) + L.RT_VIA_FAMILY]; }
  pref(i: number): number { return this.c.u8[this.row(i) + L.RT_PREF]; }
  /** RTAX_MTU, 0 if unset. */
  mtu(i: number): number { return this.c.dv.getUint32(this.row(i) + L.RT_MTU, true); }
  /** RTAX_ADVMSS, 0 if unset. */
  advmss(i: number): number { return this.c.dv.getUint32(this.row(i) + L.RT_ADVMSS, true); }
  /** The RTA_METRICS payload as received, if it was kept (see RT_METRICS_CAP). */
  metricsRaw(i: number): Uint8Array | undefined {
    const r = this.row(i);
    const n = this.c.dv.getUint16(r + L.RT_METRICS_LEN, true);
    return n ? this.c.u8.slice(r + L.RT_METRICS_RAW, r + L.RT_METRICS_RAW + n) : undefined;
  }
  /** The message had attributes the row cannot hold: re-emitting it would lose them. */
  foreign(i: number): boolean { return (this.present(i) & L.RT_HAS_FOREIGN) !== 0; }
  prefsrc(i: number): Uint8Array | undefined {
    const r = this.row(i);
    if (!(this.c.dv.getUint32(r + L.RT_PRESENT, true) & L.RT_HAS_PREFSRC)) return undefined;
    return this.addr(r + L.RT_PREFSRC, this.c.u8[r + L.RT_FAMILY]);
  }
  /** Number of RTA_MULTIPATH nexthops (0 for a single-path route). */
  nexthopCount(i: number): number { return this.c.dv.getUint32(this.row(i) + L.RT_NH_COUNT, true); }
  nhIfindex(i: number, k: number): number { return this.c.dv.getInt32(this.nh(i, k) + L.NH_IFINDEX, true); }
  /** rtnh_hops + 1 */
  nhWeight(i: number, k: number): number { return this.c.u8[this.nh(i, k) + L.NH_HOPS] + 1; }
  /** RTNH_F_* */
  nhFlags(i: number, k: number): number { return this.c.u8[this.nh(i, k) + L.NH_FLAGS]; }
  nhGateway(i: number, k: number): Uint8Array | undefined {
    const p = this.nh(i, k);
    const f = this.c.u8[p + L.NH_GW_FAMILY];
    return f ? this.addr(p + L.NH_GATEWAY, f) : undefined;
  }
  /** Family of the nexthop's RTA_VIA, 0 when its gateway came as RTA_GATEWAY or there is none. */
  nhViaFamily(i: number, k: number): number {
    const p = this.nh(i, k);
    return this.c.u8[p + L.NH_IS_VIA] ? this.c.u8[p + L.NH_GW_FAMILY] : 0;
  }
  /** True when the route sends through `ifindex`: its RTA_OIF or any RTA_MULTIPATH nexthop. */
  usesIfindex(i: number, ifindex: number): boolean {
    // One row lookup, then the nexthops by address: vrf scans every row of a dump with this.
    const r = this.row(i);
    const dv = this.c.dv;
    const n = dv.getUint32(r + L.RT_NH_COUNT, true);
    if (n === 0) return this.oif(i) === ifindex;
    let p = this.c.nhBase + dv.getUint32(r + L.RT_NH_START, true) * L.NEXTHOP_ROW + L.NH_IFINDEX;
    for (let k = 0; k < n; k++, p += L.NEXTHOP_ROW) if (dv.getInt32(p, true) === ifindex) return true;
    return false;
  }
}

/** Link rows (struct ifinfomsg + attributes). */
export class LinkRows {
  constructor(private readonly c: Codec) {}

  get count(): number {
    return this.c.stateWord(L.ST_LINK_COUNT);
  }

  /** @internal */
  row(i: number): number {
    rangeCheck(i, this.count, "link");
    return this.c.linkBase + i * L.LINK_ROW;
  }

  /** nlmsg_seq of the message the row came from (which request it answers). */
  seq(i: number): number { return this.c.dv.getUint32(this.row(i) + L.ROW_NLMSG_SEQ, true); }

  type(i: number): number { return this.c.dv.getUint16(this.row(i) + L.ROW_NLMSG_TYPE, true); }
  family(i: number): number { return this.c.u8[this.row(i) + L.LN_FAMILY]; }
  index(i: number): number { return this.c.dv.getInt32(this.row(i) + L.LN_INDEX, true); }
  /** ifi_flags (IFF_*) */
  flags(i: number): number { return this.c.dv.getUint32(this.row(i) + L.LN_FLAGS, true); }
  change(i: number): number { return this.c.dv.getUint32(this.row(i) + L.LN_CHANGE, true); }
  /** ifi_type (ARPHRD_*) */
  ifiType(i: number): number { return this.c.dv.getUint16(this.row(i) + L.LN_TYPE, true); }
  mtu(i: number): number { return this.c.dv.getUint32(this.row(i) + L.LN_MTU, true); }
  /** IFLA_MASTER, 0 if none. */
  master(i: number): number { return this.c.dv.getUint32(this.row(i) + L.LN_MASTER, true); }
  /** IFLA_LINK (lower device / veth peer), 0 if absent. */
  link(i: number): number { return this.c.dv.getUint32(this.row(i) + L.LN_LINK, true); }
  /** IFLA_OPERSTATE (IF_OPER_*) */
  operstate(i: number): number { return this.c.u8[this.row(i) + L.LN_OPERSTATE]; }
  /** IFLA_ADDRESS, addr_len bytes (empty if absent). */
  address(i: number): Uint8Array {
    const r = this.row(i);
    return this.c.u8.slice(r + L.LN_ADDRESS, r + L.LN_ADDRESS + this.c.u8[r + L.LN_ADDRESS_LEN]);
  }
  ifname(i: number): string { return cstr(this.c.u8, this.row(i) + L.LN_IFNAME, 16); }
  /** IFLA_INFO_KIND, "" if none. */
  kind(i: number): string { return cstr(this.c.u8, this.row(i) + L.LN_KIND, 16); }
  /** IFLA_MACVLAN_MODE / IFLA_IPVLAN_MODE */
  mode(i: number): number { return this.c.dv.getUint32(this.row(i) + L.LN_MODE, true); }
  vrfTable(i: number): number { return this.c.dv.getUint32(this.row(i) + L.LN_VRF_TABLE, true); }
  ipvlanFlags(i: number): number { return this.c.dv.getUint16(this.row(i) + L.LN_IPVLAN_FLAGS, true); }
  /** IFLA_LINK_NETNSID, -1 if absent. */
  linkNetnsId(i: number): number {
    const r = this.row(i);
    return this.c.dv.getUint32(r + L.LN_PRESENT, true) & L.LN_HAS_LINK_NETNSID ? this.c.dv.getInt32(r + L.LN_LINK_NETNSID, true) : -1;
  }
  /** LN_HAS_* bits */
  present(i: number): number { return this.c.dv.getUint32(this.row(i) + L.LN_PRESENT, true); }
}

/** Address rows (struct ifaddrmsg + attributes). */
export class AddrRows {
  constructor(private readonly c: Codec) {}

  get count(): number {
    return this.c.stateWord(L.ST_ADDR_COUNT);
  }

  /** @internal */
  row(i: number): number {
    rangeCheck(i, this.count, "addr");
    return this.c.addrBase + i * L.ADDR_ROW;
  }

  private addr(i: number, off: number, bit: number): Uint8Array | undefined {
    const r = this.row(i);
    if (!(this.c.dv.getUint32(r + L.AD_PRESENT, true) & bit)) return undefined;
    return this.c.u8.slice(r + off, r + off + addrLen(this.c.u8[r + L.AD_FAMILY]));
  }

  type(i: number): number { return this.c.dv.getUint16(this.row(i) + L.ROW_NLMSG_TYPE, true); }
  family(i: number): number { return this.c.u8[this.row(i) + L.AD_FAMILY]; }
  prefixlen(i: number): number { return this.c.u8[this.row(i) + L.AD_PREFIXLEN]; }
  scope(i: number): number { return this.c.u8[this.row(i) + L.AD_SCOPE]; }
  index(i: number): number { return this.c.dv.getUint32(this.row(i) + L.AD_INDEX, true); }
  /** IFA_FLAGS if present, else ifa_flags. */
  flags(i: number): number {
    const r = this.row(i);
    const dv = this.c.dv;
    return dv.getUint32(r + L.AD_PRESENT, true) & L.AD_HAS_FLAGS ? dv.getUint32(r + L.AD_FLAGS, true) : dv.getUint8(r + L.AD_IFA_FLAGS);
  }
  /** ifa_flags (8-bit header field) */
  ifaFlags(i: number): number { return this.c.u8[this.row(i) + L.AD_IFA_FLAGS]; }
  address(i: number): Uint8Array | undefined { return this.addr(i, L.AD_ADDRESS, L.AD_HAS_ADDRESS); }
  local(i: number): Uint8Array | undefined { return this.addr(i, L.AD_LOCAL, L.AD_HAS_LOCAL); }
  broadcast(i: number): Uint8Array | undefined { return this.addr(i, L.AD_BROADCAST, L.AD_HAS_BROADCAST); }
  label(i: number): string { return cstr(this.c.u8, this.row(i) + L.AD_LABEL, 16); }
  /** IFA_PROTO (IFAPROT_*), 0 if absent. */
  proto(i: number): number { return this.c.u8[this.row(i) + L.AD_PROTO]; }
  /** struct ifa_cacheinfo: preferred and valid lifetimes in seconds (0xffffffff = forever). */
  lifetimes(i: number): { preferred: number; valid: number } | undefined {
    const r = this.row(i);
    const dv = this.c.dv;
    if (!(dv.getUint32(r + L.AD_PRESENT, true) & L.AD_HAS_CACHEINFO)) return undefined;
    return { preferred: dv.getUint32(r + L.AD_CACHEINFO, true), valid: dv.getUint32(r + L.AD_CACHEINFO + 4, true) };
  }
  /** AD_HAS_* bits */
  present(i: number): number { return this.c.dv.getUint32(this.row(i) + L.AD_PRESENT, true); }
}

/** The process-wide codec; the module is instantiated on first use. */
export const codec: Codec = new Codec();

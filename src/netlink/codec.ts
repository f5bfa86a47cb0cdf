// The rtnetlink codec: an AssemblyScript WebAssembly module (codec/) that encodes requests into
// its request region and parses received datagrams into row tables in its linear memory. This
// file puts the families together; like codec/ they are one file each under ./codec/: the shared
// base (instance, memory views, field descriptions), route, link, addr, neigh and error (the
// status of the last parse).
//
// Rows are read through RouteRows / LinkRows / AddrRows / NeighRows by index; no object is built
// per row.
//
// One codec per process (`codec` below), shared by every socket: nexthop is single-threaded and
// synchronous, a request or dump is parsed and its rows read before the next one is sent, and a
// second instance would cost its own wasm compile and memory (docs/codec.md has the figures).
import * as L from "../../codec/layout.ts";
import { encodeAddr, AddrRows, type AddrSpec } from "./codec/addr";
import { CodecStatus } from "./codec/error";
import { encodeLink, LinkRows, type LinkSpec } from "./codec/link";
import { encodeNeigh, NeighRows, type NeighSpec } from "./codec/neigh";
import { encodeRoute, RouteRows, setRouteFilter, type RouteDst, type RouteSpec } from "./codec/route";

export type { AddrSpec } from "./codec/addr";
export type { LinkSpec } from "./codec/link";
export type { NeighSpec } from "./codec/neigh";
export { MAX_NEXTHOPS, type NexthopSpec, type RouteDst, type RouteSpec } from "./codec/route";
export type { AddrRows } from "./codec/addr";
export type { LinkRows } from "./codec/link";
export type { NeighRows } from "./codec/neigh";
export type { RouteRows } from "./codec/route";

// ---- codec-specific constants (kernel message constants live in ./constants.ts) ----
export const STATUS_MORE = L.STATUS_MORE;
export const STATUS_DONE = L.STATUS_DONE;
export const STATUS_ERROR = L.STATUS_ERROR;
export const STATUS_ACK = L.STATUS_ACK;
export const STATUS_MALFORMED = L.STATUS_MALFORMED;
export const STATUS_NO_MEMORY = L.STATUS_NO_MEMORY;
export const RECV_SIZE = L.RECV_SIZE;
export const REQUEST_SIZE = L.REQUEST_SIZE;

export class Codec extends CodecStatus {
  readonly routes = new RouteRows(this);
  readonly links = new LinkRows(this);
  readonly addrs = new AddrRows(this);
  readonly neighs = new NeighRows(this);

  /** Encodes an RTM_*ROUTE request; returns its length in the request region. */
  encodeRoute(type: number, nlFlags: number, seq: number, spec: RouteSpec): number {
    return encodeRoute(this, type, nlFlags, seq, spec);
  }

  /** Encodes an RTM_*LINK request; returns its length in the request region. */
  encodeLink(type: number, nlFlags: number, seq: number, spec: LinkSpec): number {
    return encodeLink(this, type, nlFlags, seq, spec);
  }

  /** Encodes an RTM_*ADDR request; returns its length in the request region. */
  encodeAddr(type: number, nlFlags: number, seq: number, spec: AddrSpec): number {
    return encodeAddr(this, type, nlFlags, seq, spec);
  }

  /** Encodes an RTM_*NEIGH request; returns its length in the request region. */
  encodeNeigh(type: number, nlFlags: number, seq: number, spec: NeighSpec): number {
    return encodeNeigh(this, type, nlFlags, seq, spec);
  }

  /**
   * From now on, route messages become rows only if they are of `family` in `table` (0: any)
   * with one of the destinations `dsts` (codec/route.ts, "the route filter"); reset() keeps it.
   */
  setRouteFilter(family: number, table: number, dsts: readonly RouteDst[]): void {
    setRouteFilter(this, family, table, dsts);
  }

  /** Every route message becomes a row again. */
  clearRouteFilter(): void {
    this.wasm().clearRouteFilter();
  }

  /** Re-emits parsed route row `i` into the request region; returns the length. */
  reencodeRoute(i: number): number {
    return this.routes.reencode(i);
  }

  reencodeLink(i: number): number {
    return this.links.reencode(i);
  }

  reencodeAddr(i: number): number {
    return this.addrs.reencode(i);
  }

  reencodeNeigh(i: number): number {
    return this.neighs.reencode(i);
  }
}

/** The process-wide codec; the module is instantiated on first use. */
export const codec: Codec = new Codec();

// A NETLINK_ROUTE socket bound to one network namespace. Requests and dumps are encoded into and
// parsed from the codec's regions in wasm memory; rows of a dump stay in the codec's tables until
// the next request on any socket, so callers read what they need before sending again.
import { STATUS_ACK, STATUS_DONE, STATUS_ERROR, STATUS_MORE } from "../../codec/layout";
import { codec } from "./codec";
import {
  AF_NETLINK, EINTR, ENOBUFS, NETLINK_ADD_MEMBERSHIP, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK, NETLINK_ROUTE,
  RTA_OIF, RTA_TABLE, RTM_GETROUTE, SOCK_CLOEXEC, SOCK_RAW, SO_RCVBUFFORCE, SOL_NETLINK, SOL_SOCKET,
} from "./constants";
import { check, errno, libc, strerror, SyscallError } from "./libc";
import { withNetns } from "./netns";


/** A negative parse status: the reply could not be read (or wasm memory could not grow). */
function unreadable(status: number): Error {
  return new Error(status === -1 ? "malformed netlink reply" : `netlink reply could not be parsed (status ${status})`);
}

/** How often a dump is repeated when the kernel flags it inconsistent (NLM_F_DUMP_INTR). */
const DUMP_RETRIES = 5;

/** A request the kernel refused: errno from NLMSG_ERROR plus the extended-ack text, if any. */
export class NetlinkError extends Error {
  constructor(
    readonly errno: number,
    readonly extack: string,
  ) {
    super(extack ? `${strerror(errno)} (kernel: ${extack})` : strerror(errno));
  }
}

/** A dump the kernel kept interrupting because the table changed under it. */
export class DumpInterruptedError extends Error {
  constructor() {
    super(`netlink dump interrupted ${DUMP_RETRIES} times by concurrent changes`);
  }
}

/** One dump request as sent: what a caller asked the kernel for (tests count these). */
export interface DumpRequest {
  /** RTM_GETROUTE, RTM_GETLINK, ... */
  type: number;
  family: number;
  /** Route dumps: the table filter (RTA_TABLE, else rtm_table), 0 for none. */
  table: number;
  /** Route dumps: the device filter (RTA_OIF), 0 for none. */
  oif: number;
}

/** Reads the filters back out of the dump request at the start of `b`. */
function describeDump(b: Uint8Array): DumpRequest {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const type = dv.getUint16(4, true);
  const d: DumpRequest = { type, family: b[16] ?? 0, table: 0, oif: 0 };
  if (type !== RTM_GETROUTE || b.length < 28) return d;
  d.table = b[20];
  for (let a = 28; a + 8 <= b.length; ) {
    const len = dv.getUint16(a, true);
    if (len < 4) break;
    const t = dv.getUint16(a + 2, true);
    if (len === 8 && t === RTA_TABLE) d.table = dv.getUint32(a + 4, true);
    if (len === 8 && t === RTA_OIF) d.oif = dv.getUint32(a + 4, true);
    a += (len + 3) & ~3;
  }
  return d;
}

type DumpWatcher = (sock: NetlinkSocket, dump: DumpRequest) => void;
const watchers = new Set<DumpWatcher>();

let nextSeq = (Date.now() & 0xffff) << 8;

function setIntOption(fd: number, level: number, name: number, value: number): void {
  const v = new Int32Array([value]);
  check("setsockopt", () => libc().setsockopt(fd, level, name, v, 4));
}

export class NetlinkSocket {
  /** Every dump request this socket sent, in order (a repeated interrupted dump counts again). */
  readonly dumps: DumpRequest[] = [];

  private constructor(private fd: number) {}

  /**
   * Calls `fn` for every dump request any socket sends from now on, until the returned function
   * is called (tests count the dumps of a command that opens its own sockets).
   */
  static watchDumps(fn: DumpWatcher): () => void {
    watchers.add(fn);
    return () => watchers.delete(fn);
  }

  /**
   * Opens a socket in the current namespace, or inside the namespace at `netnsPath` (the socket
   * keeps talking to that namespace after the thread has returned to its own).
   */
  static open(netnsPath?: string, groups: readonly number[] = []): NetlinkSocket {
    const create = () => {
      const fd = check("socket(AF_NETLINK)", () => libc().socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
      try {
        setIntOption(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
        setIntOption(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);
        // Large dumps (100k routes) arrive faster than they are parsed.
        try {
          setIntOption(fd, SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20);
        } catch {
          // Needs CAP_NET_ADMIN; the default buffer still works, dumps just wait on the kernel.
        }
        const sa = new Uint8Array(12);
        new DataView(sa.buffer).setUint16(0, AF_NETLINK, true);
        check("bind(AF_NETLINK)", () => libc().bind(fd, sa, 12));
        for (const g of groups) setIntOption(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, g);
        return new NetlinkSocket(fd);
      } catch (e) {
        libc().close(fd);
        throw e;
      }
    };
    return netnsPath ? withNetns(netnsPath, create) : create();
  }

  close(): void {
    if (this.fd >= 0) libc().close(this.fd);
    this.fd = -1;
  }

  /**
   * Sends one request built by `encode(seq)` (which returns its length) and waits for the ACK.
   * Replies that precede the ACK (e.g. the RTM_NEWLINK of a GETLINK) are appended to the codec's
   * tables; the tables are not reset here. Returns the request's sequence number, which its
   * reply rows carry.
   */
  request(encode: (seq: number) => number): number {
    const seq = this.send(encode);
    for (;;) {
      const status = this.receive();
      if ((status === STATUS_ACK || status === STATUS_ERROR) && codec.errorSeq() === seq) {
        if (status === STATUS_ERROR) throw new NetlinkError(-codec.errorCode(), codec.extAckMessage());
        return seq;
      }
      if (status < 0) throw unreadable(status);
    }
  }

  /**
   * Runs a dump built by `encode(seq)`; afterwards the codec's tables hold one row per object.
   * A dump the kernel marks inconsistent is repeated.
   */
  dump(encode: (seq: number) => number): void {
    for (let attempt = 0; attempt < DUMP_RETRIES; attempt++) {
      codec.reset();
      this.send(encode, true);
      for (;;) {
        const status = this.receive();
        if (status === STATUS_DONE) break;
        if (status === STATUS_ERROR) throw new NetlinkError(-codec.errorCode(), codec.extAckMessage());
        if (status < 0) throw unreadable(status);
      }
      if (!codec.dumpInterrupted()) return;
    }
    throw new DumpInterruptedError();
  }

  /**
   * Waits up to `timeoutMs` for messages (e.g. multicast notifications) and parses what arrives
   * into the codec's tables (after a reset). Returns false on timeout.
   */
  waitMessages(timeoutMs: number): boolean {
    const pfd = new Int32Array([this.fd, 1 /* POLLIN */]);
    const n = check("poll", () => libc().poll(pfd, 1, Math.max(0, Math.ceil(timeoutMs))));
    if (n === 0) return false;
    codec.reset();
    try {
      this.receive();
    } catch (e) {
      // Notifications overflowed the socket: something changed, which is all a waiter needs.
      if (!(e instanceof SyscallError && e.errno === ENOBUFS)) throw e;
    }
    return true;
  }

  private send(encode: (seq: number) => number, isDump = false): number {
    const seq = (nextSeq = (nextSeq + 1) >>> 0);
    const len = encode(seq);
    const buf = codec.requestView(len);
    if (isDump) {
      const d = describeDump(buf);
      this.dumps.push(d);
      for (const w of watchers) w(this, d);
    }
    const sa = new Uint8Array(12);
    new DataView(sa.buffer).setUint16(0, AF_NETLINK, true);
    const sent = check("sendto(netlink)", () => libc().sendto(this.fd, buf, len, 0, sa, 12));
    if (sent !== len) throw new SyscallError("sendto(netlink): short write", 0);
    return seq;
  }

  /** Receives one datagram into the codec's receive region and parses it. */
  private receive(): number {
    for (;;) {
      const view = codec.recvView();
      const n = Number(libc().recvfrom(this.fd, view, view.length, 0, null, null));
      if (n < 0) {
        const e = errno();
        if (e === EINTR) continue;
        throw new SyscallError("recvfrom(netlink)", e);
      }
      const status = codec.parse(n);
      if (status === STATUS_MORE && n === 0) throw new Error("netlink socket closed");
      return status;
    }
  }
}

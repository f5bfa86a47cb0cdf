// One route dump of a netns as the kernel sends it (the datagrams, unparsed), for tests that
// parse the same bytes more than once: a raw NETLINK_ROUTE socket with the options
// NetlinkSocket.open sets, an RTM_GETROUTE dump of `family` (every table), received to NLMSG_DONE.
import * as L from "../../codec/layout.ts";
import {
  AF_NETLINK, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK, NETLINK_ROUTE, NLMSG_DONE, NLMSG_ERROR, RTM_GETROUTE,
  SOCK_CLOEXEC, SOCK_RAW, SOL_NETLINK, SOL_SOCKET, SO_RCVBUFFORCE,
} from "../../src/netlink/constants";
import { check, errno, libc, SyscallError } from "../../src/netlink/libc";
import { withNetns } from "../../src/netlink/netns";

const SA = new Uint8Array(12);
new DataView(SA.buffer).setUint16(0, AF_NETLINK, true);

export function captureDump(netnsPath: string, family: number): Uint8Array[] {
  const fd = withNetns(netnsPath, () => check("socket", () => libc().socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)));
  try {
    const opt = (level: number, name: number, v: number) => check("setsockopt", () => libc().setsockopt(fd, level, name, new Int32Array([v]), 4));
    opt(SOL_NETLINK, NETLINK_EXT_ACK, 1);
    opt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);
    opt(SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20);
    check("bind", () => libc().bind(fd, SA, 12));
    const req = new Uint8Array(28);
    const q = new DataView(req.buffer);
    q.setUint32(0, req.length, true);
    q.setUint16(4, RTM_GETROUTE, true);
    q.setUint16(6, 0x301, true); // NLM_F_REQUEST | NLM_F_DUMP
    q.setUint32(8, 1, true);
    req[16] = family;
    check("sendto", () => libc().sendto(fd, req, req.length, 0, SA, 12));
    const buf = new Uint8Array(L.RECV_SIZE);
    const dv = new DataView(buf.buffer);
    const out: Uint8Array[] = [];
    for (;;) {
      const got = Number(libc().recvfrom(fd, buf, buf.length, 0, null, null));
      if (got < 0) {
        if (errno() === 4) continue;
        throw new SyscallError("recvfrom", errno());
      }
      out.push(buf.slice(0, got));
      for (let off = 0; off + 16 <= got; off += (dv.getUint32(off, true) + 3) & ~3) {
        const t = dv.getUint16(off + 4, true);
        if (t === NLMSG_ERROR) throw new Error(`route dump failed: ${dv.getInt32(off + 16, true)}`);
        if (t === NLMSG_DONE) return out;
        if (dv.getUint32(off, true) < 16) throw new Error("bad nlmsg_len");
      }
    }
  } finally {
    libc().close(fd);
  }
}

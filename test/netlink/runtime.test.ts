// What nexthop relies on from Bun and the kernel when the JS thread enters another network
// namespace, and from WebAssembly memory handed to FFI (docs/bun.md). Root only: each test
// makes its own netns and deletes it.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { AF_NETLINK, NETLINK_ROUTE, SOCK_CLOEXEC, SOCK_RAW } from "../../src/netlink/constants";
import { check, errno, libc } from "../../src/netlink/libc";
import { withNetns } from "../../src/netlink/netns";
import { createNetns, sh, type Netns } from "../lib/netns";

const made: Netns[] = [];
afterEach(() => {
  for (const ns of made.splice(0)) ns.delete();
});

const TTL = "/proc/sys/net/ipv4/ip_default_ttl";

/** A netns whose ip_default_ttl differs from the host's, and both values. */
function ttlLab(): { ns: Netns; host: string; inside: string } {
  const ns = createNetns();
  made.push(ns);
  const host = readFileSync(TTL, "utf8").trim();
  const inside = host === "99" ? "98" : "99";
  sh(["ip", "netns", "exec", ns.name, "sh", "-c", `echo ${inside} > ${TTL}`]);
  return { ns, host, inside };
}

describe("the JS thread inside another netns", () => {
  test("synchronous fs calls follow the thread: /proc/sys/net is the pod's (src/net/sysctl.ts)", () => {
    const { ns, host, inside } = ttlLab();
    expect(withNetns(ns.path, () => readFileSync(TTL, "utf8").trim())).toBe(inside);
    expect(readFileSync(TTL, "utf8").trim()).toBe(host);
  });

  test("asynchronous fs calls do not: they run on pool threads that stayed in the host netns", async () => {
    const { ns, host, inside } = ttlLab();
    await readFile(TTL, "utf8"); // the pool exists now, created in the host netns
    let pending: Promise<string> | undefined;
    withNetns(ns.path, () => {
      pending = readFile(TTL, "utf8");
      Bun.sleepSync(100); // the pool thread does the read while the JS thread is still inside
    });
    const seen = (await pending!).trim();
    expect(seen).toBe(host);
    expect(seen).not.toBe(inside);
  });

  test("a socket opened inside keeps talking to that netns after the thread returns", () => {
    const ns = createNetns();
    made.push(ns);
    sh(["ip", "-n", ns.name, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1"]);
    const fd = withNetns(ns.path, () => check("socket", () => libc().socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)));
    try {
      // The link exists only in the netns; the socket sees the netns' link table from the host.
      expect(linkNames(fd)).toContain("probe0");
    } finally {
      libc().close(fd);
    }
  });
});

/** The link names an RTM_GETLINK dump on `fd` returns (a tiny parser: IFLA_IFNAME only). */
function linkNames(fd: number): string[] {
  const req = new Uint8Array(32);
  const dv = new DataView(req.buffer);
  dv.setUint32(0, 32, true); // nlmsg_len
  dv.setUint16(4, 18, true); // RTM_GETLINK
  dv.setUint16(6, 0x301, true); // NLM_F_REQUEST | NLM_F_DUMP
  dv.setUint8(16, 0); // ifi_family AF_UNSPEC
  check("sendto", () => libc().sendto(fd, req, req.length, 0, null, 0));
  const names: string[] = [];
  const buf = new Uint8Array(1 << 16);
  for (;;) {
    const n = check("recvfrom", () => libc().recvfrom(fd, buf, buf.length, 0, null, null));
    const v = new DataView(buf.buffer, 0, n);
    for (let off = 0; off + 16 <= n; ) {
      const len = v.getUint32(off, true);
      const type = v.getUint16(off + 4, true);
      if (type === 3 /* NLMSG_DONE */ || type === 2 /* NLMSG_ERROR */) return names;
      for (let a = off + 16 + 16; a + 4 <= off + len; ) {
        const alen = v.getUint16(a, true);
        if (alen < 4) break;
        if (v.getUint16(a + 2, true) === 3 /* IFLA_IFNAME */) {
          names.push(new TextDecoder().decode(buf.subarray(a + 4, a + alen)).replace(/\0.*$/, ""));
        }
        a += (alen + 3) & ~3;
      }
      off += (len + 3) & ~3;
    }
  }
}

describe("WebAssembly memory handed to FFI", () => {
  test("memory.grow detaches old views, and a detached view passed as a pointer becomes NULL (EFAULT)", () => {
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 4 });
    const view = new Uint8Array(mem.buffer, 0, 64);
    mem.grow(1);
    expect(view.byteLength).toBe(0);
    const fd = check("socket", () => libc().socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    try {
      // No exception from the FFI call: the kernel is handed NULL and says EFAULT.
      const rc = Number(libc().sendto(fd, view, 64, 0, null, 0));
      expect([rc, errno()]).toEqual([-1, 14]);
      // A fresh view of the grown memory works.
      const fresh = new Uint8Array(mem.buffer, 0, 20);
      new DataView(mem.buffer).setUint32(0, 20, true);
      new DataView(mem.buffer).setUint16(4, 18, true); // RTM_GETLINK
      new DataView(mem.buffer).setUint16(6, 0x301, true);
      expect(Number(libc().sendto(fd, fresh, 20, 0, null, 0))).toBe(20);
    } finally {
      libc().close(fd);
    }
  });
});

// The netlink layer against this machine's kernel: sockets opened inside a test netns, requests
// encoded by the wasm codec, results read back with `ip -j` and through the codec.
import { afterEach, describe, expect, test } from "bun:test";
import { readlinkSync, writeFileSync } from "node:fs";
import { parseIP } from "../../src/ip";
import { addAddr, listAddrs } from "../../src/netlink/addr";
import { codec } from "../../src/netlink/codec";
import { AF_INET, AF_INET6, RTM_GETROUTE } from "../../src/netlink/constants";
import { linkByName, setLinkUp } from "../../src/netlink/link";
import { withNetns } from "../../src/netlink/netns";
import type { RouteKey } from "../../src/netlink/key";
import { deleteRoute, listRoutes, writeRoute } from "../../src/netlink/route";
import { NetlinkError, NetlinkSocket } from "../../src/netlink/socket";
import { cidr, ip, net, shown } from "../lib/addr";
import { createNetns, ipJson, sh, type Netns } from "../lib/netns";

const made: Netns[] = [];
afterEach(() => {
  for (const ns of made.splice(0)) ns.delete();
});

/** A netns with veth pairs a0/b0 and a1/b1 (peers in the same netns), addresses, up. */
function lab(): { ns: Netns; sock: NetlinkSocket; a0: number; a1: number } {
  const ns = createNetns();
  made.push(ns);
  const ip = (...a: string[]) => sh(["ip", "-n", ns.name, ...a]);
  ip("link", "add", "a0", "type", "veth", "peer", "name", "b0");
  ip("link", "add", "a1", "type", "veth", "peer", "name", "b1");
  for (const l of ["a0", "b0", "a1", "b1"]) ip("link", "set", l, "up");
  ip("addr", "add", "192.0.2.10/24", "dev", "a0");
  ip("addr", "add", "198.51.100.10/24", "dev", "a1");
  ip("addr", "add", "2001:db8:1::10/64", "dev", "a0", "nodad");
  ip("addr", "add", "2001:db8:2::10/64", "dev", "a1", "nodad");
  const sock = NetlinkSocket.open(ns.path);
  return { ns, sock, a0: linkByName(sock, "a0")!.index, a1: linkByName(sock, "a1")!.index };
}

const key4: RouteKey = { family: AF_INET, table: 1000, dst: net("203.0.113.0/24"), priority: 5, tos: 0, scope: 0 };
const key6: RouteKey = { family: AF_INET6, table: 1000, dst: net("2001:db8:ff::/48"), priority: 7, tos: 0, scope: 0 };

describe("netlink socket in a netns", () => {
  test("the thread returns to its own netns after opening a socket inside another", () => {
    const before = readlinkSync("/proc/thread-self/ns/net");
    const { sock } = lab();
    expect(readlinkSync("/proc/thread-self/ns/net")).toBe(before);
    // ...and the socket still talks to the test netns: it sees a0, the host does not.
    expect(linkByName(sock, "a0")).toBeDefined();
    const host = NetlinkSocket.open();
    try {
      expect(linkByName(host, "a0")).toBeUndefined();
    } finally {
      host.close();
    }
    sock.close();
  });

  test("withNetns runs inside and always comes back, also on a throw", () => {
    const { ns, sock } = lab();
    sock.close();
    const before = readlinkSync("/proc/thread-self/ns/net");
    const inside = withNetns(ns.path, () => readlinkSync("/proc/thread-self/ns/net"));
    expect(inside).not.toBe(before);
    expect(() => withNetns(ns.path, () => { throw new Error("boom"); })).toThrow("boom");
    expect(readlinkSync("/proc/thread-self/ns/net")).toBe(before);
  });

  test("the kernel accepts weighted multipath routes built by the codec (IPv4 and IPv6, table > 255)", () => {
    const { ns, sock, a0, a1 } = lab();
    writeRoute(sock, "create", key4, [
      { gateway: ip("192.0.2.1"), ifindex: a0, weight: 1 },
      { gateway: ip("198.51.100.1"), ifindex: a1, weight: 3 },
    ]);
    writeRoute(sock, "create", key6, [
      { gateway: ip("2001:db8:1::1"), ifindex: a0, weight: 2 },
      { gateway: ip("2001:db8:2::1"), ifindex: a1, weight: 1 },
    ]);
    const v4 = ipJson(["-4", "route", "show", "table", "1000"], ns.name) as any[];
    expect(v4).toEqual([{
      dst: "203.0.113.0/24", metric: 5, flags: [],
      nexthops: [
        { gateway: "192.0.2.1", dev: "a0", weight: 1, flags: [] },
        { gateway: "198.51.100.1", dev: "a1", weight: 3, flags: [] },
      ],
    }]);
    const v6 = (ipJson(["-6", "route", "show", "table", "1000"], ns.name) as any[]).map((r) => ({
      dst: r.dst, metric: r.metric, nexthops: r.nexthops.map((n: any) => [n.gateway, n.dev, n.weight]),
    }));
    expect(v6).toEqual([{ dst: "2001:db8:ff::/48", metric: 7, nexthops: [["2001:db8:1::1", "a0", 2], ["2001:db8:2::1", "a1", 1]] }]);
    // The codec reads back what it wrote.
    const routes = listRoutes(sock).filter((r) => r.table === 1000);
    expect(shown(routes.map((r) => [r.dst, r.priority, r.nexthops.map((n) => [n.gateway, n.ifindex, n.weight])]))).toEqual([
      ["203.0.113.0/24", 5, [["192.0.2.1", a0, 1], ["198.51.100.1", a1, 3]]],
      ["2001:db8:ff::/48", 7, [["2001:db8:1::1", a0, 2], ["2001:db8:2::1", a1, 1]]],
    ]);
    deleteRoute(sock, key4);
    expect(ipJson(["-4", "route", "show", "table", "1000"], ns.name)).toEqual([]);
    sock.close();
  });

  test("a refused request carries errno and the kernel's extended-ack text", () => {
    const { sock, a0 } = lab();
    let err: unknown;
    try {
      writeRoute(sock, "create", { ...key4, table: 254 }, [{ gateway: ip("10.99.0.1"), ifindex: a0, weight: 1 }]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetlinkError);
    expect((err as NetlinkError).errno).toBe(101); // ENETUNREACH
    expect((err as NetlinkError).extack).toBe("Nexthop has invalid gateway");
    expect((err as Error).message).toBe("Network is unreachable (kernel: Nexthop has invalid gateway)");
    writeRoute(sock, "create", key4, [{ gateway: ip("192.0.2.1"), ifindex: a0, weight: 1 }]);
    expect(() => writeRoute(sock, "create", key4, [{ gateway: ip("192.0.2.1"), ifindex: a0, weight: 1 }])).toThrow("File exists");
    sock.close();
  });

  test("addresses and link state through the codec", () => {
    const { ns, sock } = lab();
    sh(["ip", "-n", ns.name, "link", "add", "c0", "type", "veth", "peer", "name", "d0"]);
    const c0 = linkByName(sock, "c0")!;
    expect(c0.kind).toBe("veth");
    addAddr(sock, c0.index, parseIP("10.20.30.40")!, 28);
    setLinkUp(sock, c0.index);
    expect(shown(listAddrs(sock, AF_INET, c0.index).map((a) => [a.ip, a.prefixlen]))).toEqual([["10.20.30.40", 28]]);
    const l = (ipJson(["link", "show", "c0"], ns.name) as any[])[0];
    expect(l.flags).toContain("UP");
    sock.close();
  });

  test("a dump of many routes arrives whole (several datagrams)", () => {
    const { ns, sock } = lab();
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) lines.push(`route add 10.${(i >> 8) & 255}.${i & 255}.0/24 via 192.0.2.1 table 77`);
    const file = `/tmp/${ns.name}.batch`;
    writeFileSync(file, `${lines.join("\n")}\n`);
    sh(["ip", "-n", ns.name, "-batch", file]);
    sh(["rm", "-f", file]);
    sock.dump((seq) => codec.encodeDump(RTM_GETROUTE, seq, AF_INET));
    let inTable = 0;
    for (let i = 0; i < codec.routes.count; i++) if (codec.routes.table(i) === 77) inTable++;
    expect(inTable).toBe(3000);
    sock.close();
  });
});

// What src/net/routes.ts and src/netlink/route.ts rely on, proven on this kernel through the
// codec; docs/kernel.md lists them with these tests.
describe("kernel facts the route code builds on", () => {
  const slotKey = (dst: string, scope = 0): RouteKey => ({ family: AF_INET, table: 254, dst: net(dst), priority: 0, tos: 0, scope });

  test("IPv4 REPLACE acts on the first route with the same table, dst, tos and metric, whatever its scope", () => {
    const { sock, a0, a1 } = lab();
    writeRoute(sock, "create", slotKey("10.9.0.0/16", 253), [{ ifindex: a0, weight: 1 }]);
    writeRoute(sock, "append", slotKey("10.9.0.0/16"), [{ gateway: ip("192.0.2.1"), ifindex: a0, weight: 1 }]);
    writeRoute(sock, "replace", slotKey("10.9.0.0/16"), [{ gateway: ip("198.51.100.1"), ifindex: a1, weight: 1 }]);
    const slot = listRoutes(sock, AF_INET, { allTypes: true }).filter((r) => shown(r.dst) === "10.9.0.0/16");
    expect(shown(slot.map((r) => [r.scope, r.nexthops[0].gateway]))).toEqual([[0, "198.51.100.1"], [0, "192.0.2.1"]]);
    sock.close();
  });

  test("one nexthop of an IPv4 multipath route cannot be deleted alone", () => {
    const { sock, a0, a1 } = lab();
    const nhs = [{ gateway: ip("192.0.2.1"), ifindex: a0, weight: 1 }, { gateway: ip("198.51.100.1"), ifindex: a1, weight: 1 }];
    writeRoute(sock, "create", slotKey("10.8.0.0/16"), nhs);
    let err: unknown;
    try {
      deleteRoute(sock, slotKey("10.8.0.0/16"), [nhs[1]]);
    } catch (e) {
      err = e;
    }
    expect((err as NetlinkError).errno).toBe(3); // ESRCH
    expect(listRoutes(sock, AF_INET).find((r) => shown(r.dst) === "10.8.0.0/16")?.nexthops).toHaveLength(2);
    sock.close();
  });

  test("IPv6 routes keep no scope; a gateway-less route and a gateway route with one key stay two routes", () => {
    const { sock, a0 } = lab();
    const key = (dst: string, scope = 0): RouteKey => ({ family: AF_INET6, table: 254, dst: net(dst), priority: 0, tos: 0, scope });
    writeRoute(sock, "create", key("2001:db8:9::/48", 253), [{ gateway: ip("2001:db8:1::1"), ifindex: a0, weight: 1 }]);
    expect(listRoutes(sock, AF_INET6).find((r) => shown(r.dst) === "2001:db8:9::/48")?.scope).toBe(0);
    writeRoute(sock, "create", key("2001:db8:7::/48"), [{ ifindex: a0, weight: 1 }]);
    writeRoute(sock, "prepend", key("2001:db8:7::/48"), [{ gateway: ip("2001:db8:1::1"), ifindex: a0, weight: 1 }]);
    expect(listRoutes(sock, AF_INET6).filter((r) => shown(r.dst) === "2001:db8:7::/48").map((r) => r.nexthops.length)).toEqual([1, 1]);
    sock.close();
  });

  test("an IPv6 delete with metric 0 matches a route of any metric (so deletes send the stored one)", () => {
    const { ns, sock } = lab();
    sh(["ip", "-n", ns.name, "-6", "route", "add", "2001:db8:8::/48", "via", "2001:db8:1::1", "dev", "a0", "metric", "2048"]);
    sh(["ip", "-n", ns.name, "-6", "route", "del", "2001:db8:8::/48", "via", "2001:db8:1::1", "dev", "a0", "metric", "0"]);
    expect(ipJson(["-6", "route", "show", "2001:db8:8::/48"], ns.name)).toEqual([]);
    sock.close();
  });


  test("a destination with host bits: IPv4 is refused (EINVAL + ext-ack), IPv6 is masked silently", () => {
    const { ns, sock, a0 } = lab();
    const key = (family: number, dst: string): RouteKey => ({ family, table: 254, dst: cidr(dst), priority: 0, tos: 0, scope: 0 });
    let err: unknown;
    try {
      writeRoute(sock, "create", key(AF_INET, "10.7.0.5/16"), [{ gateway: ip("192.0.2.1"), ifindex: a0, weight: 1 }]);
    } catch (e) {
      err = e;
    }
    expect([(err as NetlinkError).errno, (err as NetlinkError).extack]).toEqual([22, "Invalid prefix for given prefix length"]);
    expect(listRoutes(sock, AF_INET).filter((r) => shown(r.dst).startsWith("10.7."))).toEqual([]);
    writeRoute(sock, "create", key(AF_INET6, "2001:db8:5::5/48"), [{ gateway: ip("2001:db8:1::1"), ifindex: a0, weight: 1 }]);
    expect((ipJson(["-6", "route", "show", "2001:db8:5::/48"], ns.name) as { dst: string }[]).map((r) => r.dst)).toEqual(["2001:db8:5::/48"]);
    sock.close();
  });

  test("an IPv6 route written with metric 0 is stored with metric 1024", () => {
    const { ns, sock } = lab();
    // iproute2 sends the 0 as written (writeRoute would already send 1024: effectiveMetric).
    sh(["ip", "-n", ns.name, "-6", "route", "add", "2001:db8:6::/48", "via", "2001:db8:1::1", "dev", "a0", "metric", "0"]);
    expect(listRoutes(sock, AF_INET6).filter((r) => shown(r.dst) === "2001:db8:6::/48").map((r) => r.priority)).toEqual([1024]);
    sock.close();
  });
});

// configureInterface (nexthop's ConfigureIface) in-process against this machine's kernel: every
// case of upstream's pkg/ipam/ipam_linux_test.go (docs/upstream.md), plus the reverted
// #1248 ECMP case in nexthop's form. Upstream's dummy eth0 is a veth eth0 here (no dummy on
// 6.18) whose peer sits up in the same netns, so eth0 has a carrier. Kernel state is read with
// `ip -j` and compared as structures; routes are listed without an OIF filter, so multipath
// routes (no top-level dev/gateway, docs/kernel.md §6) are seen through their nexthops.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { CniError } from "../../src/cni/errors";
import type { Result, Route } from "../../src/cni/types";
import { configureInterface } from "../../src/net/configure";
import type { Ecmp } from "../../src/net/plan";
import { UndoLog } from "../../src/net/undo";
import { NetlinkSocket } from "../../src/netlink/socket";
import { createNetns, ipJson, sh, type Netns } from "../lib/netns";

const IFNAME = "eth0";

let ns: Netns;
let sock: NetlinkSocket;
/** The undo log configureInterface is handed, counting what it records. */
class CountingLog extends UndoLog {
  recorded = 0;
  override push(what: string, undo: () => void): void {
    this.recorded++;
    super.push(what, undo);
  }
}
let log: CountingLog;
let result: Result;

beforeEach(() => {
  ns = createNetns();
  const ip = (...a: string[]) => sh(["ip", "-n", ns.name, ...a]);
  // DAD off before the devices exist (`default` applies to new ones), so it does not dominate.
  sh(["ip", "netns", "exec", ns.name, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]);
  ip("link", "add", IFNAME, "type", "veth", "peer", "name", "peer0");
  ip("link", "set", "peer0", "up");
  sock = NetlinkSocket.open(ns.path);
  log = new CountingLog();
  // Upstream's BeforeEach result (its routev4 is 15.5.6.8/24 through net.ParseCIDR, i.e. 15.5.6.0/24).
  result = {
    cniVersion: "1.1.0",
    interfaces: [
      { name: "eth0", mac: "00:11:22:33:44:55", sandbox: "/proc/3553/ns/net" },
      { name: "fake0", mac: "00:33:44:55:66:77", sandbox: "/proc/1234/ns/net" },
    ],
    ips: [
      { interface: 0, address: "1.2.3.30/24", gateway: "1.2.3.1" },
      { interface: 0, address: "abcd:1234:ffff::cdde/64", gateway: "abcd:1234:ffff::1" },
    ],
    routes: [
      { dst: "15.5.6.0/24", gw: "1.2.3.5" },
      { dst: "1111:dddd::/80", gw: "abcd:1234:ffff::10" },
      { dst: "15.5.6.0/24", gw: "1.2.3.5", table: 5000 },
      { dst: "1.2.3.4/32", scope: 200 },
    ],
  };
});

afterEach(() => {
  sock.close();
  ns.delete();
});

function configure(ifname = IFNAME, ecmp: Ecmp = "merge"): void {
  configureInterface(ns.path, sock, ifname, result, ecmp, log);
}

/** Addresses of eth0 in one family (iproute2 may add lifetime-only entries; only addresses count). */
function addrs(family: "-4" | "-6"): { local: string; prefixlen: number; scope: string }[] {
  const links = ipJson([family, "addr", "show", "dev", IFNAME], ns.name) as any[];
  return (links[0]?.addr_info ?? [])
    .filter((a: any) => a.local)
    .map((a: any) => ({ local: a.local, prefixlen: a.prefixlen, scope: a.scope }));
}

interface Hop {
  gateway?: string;
  dev: string;
}
interface Shape {
  dst: string;
  table: string;
  scope: string;
  /** The route's nexthops: its RTA_MULTIPATH entries, or its single top-level gateway/device. */
  hops: Hop[];
  multipath: boolean;
}

/** Every route of a family in every table (no OIF filter), reduced to what the tests compare. */
function routes(family: "-4" | "-6"): Shape[] {
  return (ipJson([family, "route", "show", "table", "all"], ns.name) as any[])
    .filter((r) => r.type === undefined || r.type === "unicast")
    .map((r) => ({
      dst: r.dst,
      table: r.table ?? "main",
      scope: r.scope ?? "global",
      multipath: r.nexthops !== undefined,
      hops: r.nexthops
        ? r.nexthops.map((n: any) => hop(n))
        : [hop(r)],
    }));
}

function hop(r: any): Hop {
  return r.gateway ? { gateway: r.gateway, dev: r.dev } : { dev: r.dev };
}

function routesTo(family: "-4" | "-6", dst: string, table = "main"): Shape[] {
  return routes(family).filter((r) => r.dst === dst && r.table === table);
}

/** configureInterface's error as {code, msg}; fails the test when it does not throw a CniError. */
function errorOf(fn: () => void): { code: number; msg: string } {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof CniError)) throw e;
    return { code: e.code, msg: e.message };
  }
  throw new Error("expected configureInterface to fail");
}

/** Nothing configured: no address on eth0, eth0 still down, no route through it. */
function expectUntouched(): void {
  expect(addrs("-4")).toEqual([]);
  expect(addrs("-6")).toEqual([]);
  const link = (ipJson(["link", "show", "dev", IFNAME], ns.name) as any[])[0];
  expect(link.flags).not.toContain("UP");
  expect(routes("-4").filter((r) => r.hops.some((h) => h.dev === IFNAME))).toEqual([]);
  expect(log.recorded).toBe(0);
}

describe("configureInterface: upstream's ConfigureIface tests", () => {
  test("configures a link with addresses and routes", () => {
    configure();
    expect(addrs("-4")).toEqual([{ local: "1.2.3.30", prefixlen: 24, scope: "global" }]);
    // The configured address plus the link-local one.
    const v6 = addrs("-6");
    expect(v6).toHaveLength(2);
    expect(v6).toContainEqual({ local: "abcd:1234:ffff::cdde", prefixlen: 64, scope: "global" });
    expect(v6.filter((a) => a.scope === "link")).toHaveLength(1);
    expect(routesTo("-4", "15.5.6.0/24")).toEqual([
      { dst: "15.5.6.0/24", table: "main", scope: "global", multipath: false, hops: [{ gateway: "1.2.3.5", dev: IFNAME }] },
    ]);
    expect(routesTo("-6", "1111:dddd::/80")).toEqual([
      { dst: "1111:dddd::/80", table: "main", scope: "global", multipath: false, hops: [{ gateway: "abcd:1234:ffff::10", dev: IFNAME }] },
    ]);
    // No gw on the route: ConfigureIface gives it the address's gateway of its family, as upstream.
    expect(routesTo("-4", "1.2.3.4")).toEqual([
      { dst: "1.2.3.4", table: "main", scope: "site", multipath: false, hops: [{ gateway: "1.2.3.1", dev: IFNAME }] },
    ]);
    expect(routesTo("-4", "15.5.6.0/24", "5000")).toEqual([
      { dst: "15.5.6.0/24", table: "5000", scope: "global", multipath: false, hops: [{ gateway: "1.2.3.5", dev: IFNAME }] },
    ]);
  });

  test("keeps IPv6 addresses after the interface is brought down", () => {
    configure();
    sh(["ip", "-n", ns.name, "link", "set", IFNAME, "down"]);
    expect(addrs("-6").map((a) => a.local)).toEqual(["abcd:1234:ffff::cdde"]);
    const keep = sh(["ip", "netns", "exec", ns.name, "sysctl", "-n", `net.ipv6.conf.${IFNAME}.keep_addr_on_down`]).trim();
    expect(keep).toBe("1");
  });

  test("configures a link with routes using address gateways", () => {
    delete result.routes![0].gw;
    delete result.routes![1].gw;
    configure();
    expect(routesTo("-4", "15.5.6.0/24")).toEqual([
      { dst: "15.5.6.0/24", table: "main", scope: "global", multipath: false, hops: [{ gateway: "1.2.3.1", dev: IFNAME }] },
    ]);
    expect(routesTo("-6", "1111:dddd::/80")).toEqual([
      { dst: "1111:dddd::/80", table: "main", scope: "global", multipath: false, hops: [{ gateway: "abcd:1234:ffff::1", dev: IFNAME }] },
    ]);
    // Upstream meant to look this one up in table 5000, but a shadowed variable made its filter
    // table 0 (all tables) and it matched the main-table route above (docs/upstream.md).
    // Here the table-5000 route itself, which kept its own gw, is checked in table 5000.
    expect(routesTo("-4", "15.5.6.0/24", "5000")).toEqual([
      { dst: "15.5.6.0/24", table: "5000", scope: "global", multipath: false, hops: [{ gateway: "1.2.3.5", dev: IFNAME }] },
    ]);
  });

  test.each([
    ["doesn't match the link name", 1],
    ["is too big", 2],
    ["is too small", -1],
  ])("returns an error when the interface index %s (%d)", (_what, index) => {
    result.ips![0].interface = index;
    expect(errorOf(() => configure())).toEqual({ code: 999, msg: 'failed to add IP addr 1.2.3.30/24 to "eth0": invalid interface index' });
    expectUntouched();
  });

  test("returns an error when there are no interfaces to configure", () => {
    result.interfaces = [];
    expect(errorOf(() => configure())).toEqual({ code: 999, msg: "no interfaces to configure" });
    expectUntouched();
  });

  test("returns an error when configuring the wrong interface", () => {
    expect(errorOf(() => configure("asdfasdf"))).toEqual({ code: 999, msg: 'failed to lookup "asdfasdf": Link not found' });
    expectUntouched();
  });

  test("does not panic when interface is not specified", () => {
    result = {
      cniVersion: "1.1.0",
      interfaces: result.interfaces,
      ips: [
        { address: "1.2.3.30/24", gateway: "1.2.3.1" },
        { address: "abcd:1234:ffff::cdde/64", gateway: "abcd:1234:ffff::1" },
      ],
    };
    configure();
    // IPs without an interface index are skipped entirely, as upstream: no address is added.
    expect(addrs("-4")).toEqual([]);
    expect(addrs("-6").filter((a) => a.scope === "global")).toEqual([]);
  });
});

// Upstream's #1248 test (reverted by #1251) counted "N routes with the same dst" as ECMP, and its
// OIF filter could never see a real multipath route. nexthop's form: ECMP is ONE route carrying
// RTA_MULTIPATH with N nexthops, per family (docs/kernel.md §1). README "Differences from
// upstream", row "same-key routes": one multipath route in both families; "ecmp": "upstream"
// restores upstream's IPv4 separate routes (the last configured first) and IPv6 merge.
describe("configureInterface: routes with the same destination (ECMP, #1248 in nexthop's form)", () => {
  const v4: Route[] = [
    { dst: "15.5.6.0/24", gw: "1.2.3.5" },
    { dst: "15.5.6.0/24", gw: "1.2.3.6" },
  ];
  const v6: Route[] = [
    { dst: "1111:dddd::/80", gw: "abcd:1234:ffff::10" },
    { dst: "1111:dddd::/80", gw: "abcd:1234:ffff::11" },
  ];

  test("merge (default): exactly one IPv4 route with 2 nexthops", () => {
    result.routes = v4;
    configure();
    expect(routesTo("-4", "15.5.6.0/24")).toEqual([{
      dst: "15.5.6.0/24", table: "main", scope: "global", multipath: true,
      hops: [{ gateway: "1.2.3.5", dev: IFNAME }, { gateway: "1.2.3.6", dev: IFNAME }],
    }]);
  });

  test("merge (default): exactly one IPv6 route with 2 nexthops", () => {
    result.routes = v6;
    configure();
    expect(routesTo("-6", "1111:dddd::/80")).toEqual([{
      dst: "1111:dddd::/80", table: "main", scope: "global", multipath: true,
      hops: [{ gateway: "abcd:1234:ffff::10", dev: IFNAME }, { gateway: "abcd:1234:ffff::11", dev: IFNAME }],
    }]);
  });

  test('"ecmp": "upstream": two separate IPv4 routes, the later-configured one first; IPv6 merged by the kernel', () => {
    result.routes = [...v4, ...v6];
    configure(IFNAME, "upstream");
    expect(routesTo("-4", "15.5.6.0/24")).toEqual([
      { dst: "15.5.6.0/24", table: "main", scope: "global", multipath: false, hops: [{ gateway: "1.2.3.6", dev: IFNAME }] },
      { dst: "15.5.6.0/24", table: "main", scope: "global", multipath: false, hops: [{ gateway: "1.2.3.5", dev: IFNAME }] },
    ]);
    expect(routesTo("-6", "1111:dddd::/80")).toEqual([{
      dst: "1111:dddd::/80", table: "main", scope: "global", multipath: true,
      hops: [{ gateway: "abcd:1234:ffff::10", dev: IFNAME }, { gateway: "abcd:1234:ffff::11", dev: IFNAME }],
    }]);
  });
});

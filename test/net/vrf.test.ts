// The pure parts of the vrf plugin: which table a new VRF gets, which nexthops move where, and
// what the result says afterwards. The kernel side is test/plugins/vrf.vm.test.ts.
import { describe, expect, test } from "bun:test";
import { CniError } from "../../src/cni/errors";
import { AF_INET, AF_INET6, RTPROT_BOOT, RTPROT_KERNEL, RTN_UNICAST } from "../../src/netlink/constants";
import type { Link } from "../../src/netlink/link";
import type { KernelRoute } from "../../src/netlink/route";
import { markMoved, planMoves } from "../../src/net/move";
import { freeTable } from "../../src/net/vrf";
import { ip, net, shown } from "../lib/addr";

const link = (kind: string, vrfTable = 0): Link => ({ index: 1, name: "x", flags: 0, mtu: 1500, master: 0, kind, mode: 0, vrfTable, mac: "" });
const vrfs = (...tables: number[]) => tables.map((t) => link("vrf", t));

describe("freeTable (upstream's findFreeRoutingTableID cases, then nexthop's skips)", () => {
  test("{1,2,3,5} gives 4", () => expect(freeTable(vrfs(1, 2, 3, 5), new Set())).toBe(4));
  test("non-VRF links are ignored: {1,2,dummy,5} gives 3", () => expect(freeTable([...vrfs(1, 2), link("dummy"), ...vrfs(5)], new Set())).toBe(3));
  test("no VRF gives 1", () => expect(freeTable([], new Set())).toBe(1));
  test("1..999 gives 1000", () => expect(freeTable(vrfs(...Array.from({ length: 999 }, (_, i) => i + 1)), new Set())).toBe(1000));
  test("tables that hold routes are skipped", () => expect(freeTable(vrfs(1), new Set([2, 3, 254, 255]))).toBe(4));
  test("253, 254 and 255 are never chosen", () => expect(freeTable(vrfs(...Array.from({ length: 252 }, (_, i) => i + 1)), new Set())).toBe(256));
});

/** A kernel route written with text addresses (dst, gateways, prefsrc). */
type TextRoute = Omit<Partial<KernelRoute>, "dst" | "nexthops" | "prefsrc"> & {
  dst: string;
  nexthops: { gateway?: string; ifindex: number; weight: number; flags?: number }[];
  prefsrc?: string;
};

function route(r: TextRoute): KernelRoute {
  const family = r.dst.includes(":") ? AF_INET6 : AF_INET;
  const { dst, nexthops, prefsrc, ...rest } = r;
  const out: KernelRoute = {
    family, table: 254, priority: family === AF_INET6 ? 1024 : 0, tos: 0, scope: 0, protocol: RTPROT_BOOT, type: RTN_UNICAST, foreign: false, ...rest,
    dst: net(dst), nexthops: nexthops.map(({ gateway, ...nh }) => (gateway === undefined ? nh : { ...nh, gateway: ip(gateway) })),
  };
  if (prefsrc !== undefined) out.prefsrc = ip(prefsrc);
  return out;
}

describe("planMoves", () => {
  const eth0 = 2, net1 = 3;
  test("single-path and multipath legs through the interface move out of main, others stay untouched", () => {
    const routes = [
      route({ dst: "0.0.0.0/0", nexthops: [{ gateway: "192.0.2.1", ifindex: eth0, weight: 1 }, { gateway: "198.51.100.1", ifindex: net1, weight: 3, flags: 4 }], prefsrc: "198.51.100.10" }),
      route({ dst: "::/0", nexthops: [{ gateway: "fe80::1", ifindex: eth0, weight: 1 }, { gateway: "2001:db8:1::1", ifindex: net1, weight: 1 }] }),
      route({ dst: "10.0.0.0/8", nexthops: [{ gateway: "198.51.100.7", ifindex: net1, weight: 1 }], priority: 50 }),
      route({ dst: "192.0.2.0/24", nexthops: [{ ifindex: eth0, weight: 1 }], protocol: RTPROT_KERNEL, scope: 253 }),
      route({ dst: "198.51.100.0/24", nexthops: [{ ifindex: net1, weight: 1 }], protocol: RTPROT_KERNEL, scope: 253 }),
      route({ dst: "172.16.0.0/12", table: 100, nexthops: [{ gateway: "198.51.100.9", ifindex: net1, weight: 1 }] }),
    ];
    const moves = planMoves(routes, net1, 1001);
    expect(shown(moves.map((m) => [m.from.dst, m.from.table, m.to.table, m.leave, m.nexthops]))).toEqual([
      ["0.0.0.0/0", 254, 1001, true, [{ gateway: "198.51.100.1", ifindex: net1, weight: 3, flags: 4 }]],
      ["::/0", 254, 1001, true, [{ gateway: "2001:db8:1::1", ifindex: net1, weight: 1 }]],
      ["10.0.0.0/8", 254, 1001, true, [{ gateway: "198.51.100.7", ifindex: net1, weight: 1 }]],
      // Another table: the route stays there (re-installed if the enslave flushed it).
      ["172.16.0.0/12", 100, 100, false, [{ gateway: "198.51.100.9", ifindex: net1, weight: 1 }]],
    ]);
    expect(shown(moves[2].to)).toEqual({ family: AF_INET, table: 1001, dst: "10.0.0.0/8", priority: 50, tos: 0, scope: 0 });
  });

  test("device routes are moved before gateway routes (a gateway may be reachable only through one)", () => {
    const moves = planMoves([
      route({ dst: "10.40.0.0/16", nexthops: [{ gateway: "10.50.0.1", ifindex: net1, weight: 1 }] }),
      route({ dst: "10.50.0.0/16", nexthops: [{ ifindex: net1, weight: 1 }], scope: 253 }),
    ], net1, 1001);
    expect(shown(moves.map((m) => m.from.dst))).toEqual(["10.50.0.0/16", "10.40.0.0/16"]);
  });

  test("a route nexthop cannot write back is refused before any change", () => {
    const e = (() => {
      try {
        planMoves([route({ dst: "0.0.0.0/0", nexthops: [{ ifindex: 3, weight: 1 }], foreign: true })], 3, 1001);
      } catch (err) {
        return err as CniError;
      }
    })();
    expect(e).toBeInstanceOf(CniError);
    expect(e!.message).toContain("cannot move route 0.0.0.0/0 table 254");
  });
});

describe("markMoved", () => {
  test("routes whose nexthops moved say table; others are untouched", () => {
    const moves = planMoves([
      route({ dst: "0.0.0.0/0", nexthops: [{ gateway: "198.51.100.1", ifindex: 3, weight: 1 }] }),
      route({ dst: "::/0", nexthops: [{ gateway: "2001:db8:1::1", ifindex: 3, weight: 1 }] }),
    ], 3, 1001);
    expect(markMoved([
      { dst: "0.0.0.0/0", gw: "198.51.100.1" },
      { dst: "::/0", gw: "2001:db8:1:0::1" },
      { dst: "::/0", gw: "2001:db8:1::2" },
      { dst: "10.0.0.0/8", gw: "198.51.100.1" },
      { dst: "0.0.0.0/0", gw: "198.51.100.1", table: 100 },
    ], moves, 1001)).toEqual([
      { dst: "0.0.0.0/0", gw: "198.51.100.1", table: 1001 },
      { dst: "::/0", gw: "2001:db8:1:0::1", table: 1001 },
      { dst: "::/0", gw: "2001:db8:1::2" },
      { dst: "10.0.0.0/8", gw: "198.51.100.1" },
      { dst: "0.0.0.0/0", gw: "198.51.100.1", table: 100 },
    ]);
  });
});

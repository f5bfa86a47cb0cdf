// The plan is pure: a result and a kernel state in, the interface's desired state and the writes
// that reach it out. No kernel needed.
import { describe, expect, test } from "bun:test";
import { CniError } from "../../src/cni/errors";
import type { Result, Route } from "../../src/cni/types";
import { AF_INET, AF_INET6, RTN_UNICAST } from "../../src/netlink/constants";
import type { KernelRoute } from "../../src/netlink/key";
import { difference, union } from "../../src/net/nexthops";
import { planAddresses, planInterface, planRoutes, type KernelState, type PlanInput } from "../../src/net/plan";
import { ip, net, shown } from "../lib/addr";

function result(routes: Route[]): Result {
  return {
    cniVersion: "1.1.0",
    interfaces: [{ name: "net1" }],
    ips: [
      { address: "198.51.100.10/24", gateway: "198.51.100.1", interface: 0 },
      { address: "2001:db8:a::10/64", gateway: "2001:db8:a::1", interface: 0 },
    ],
    routes,
  };
}

function planError(routes: Route[]): string {
  try {
    planRoutes(result(routes), "net1", 7, "merge");
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    expect((e as CniError).code).toBe(7);
    return (e as Error).message;
  }
  throw new Error("expected a plan error");
}

describe("planRoutes, merge mode", () => {
  test("same-destination routes form one nexthop set per family", () => {
    const writes = planRoutes(
      result([
        { dst: "0.0.0.0/0", gw: "198.51.100.1" },
        { dst: "0.0.0.0/0", gw: "198.51.100.2", weight: 3 },
        { dst: "::/0", gw: "2001:db8:a::1" },
        { dst: "::/0", gw: "2001:db8:a::2" },
      ]),
      "net1", 7, "merge",
    );
    expect(writes).toHaveLength(2);
    expect(shown(writes[0])).toEqual({
      how: "join",
      set: {
        key: { family: AF_INET, table: 254, dst: "0.0.0.0/0", priority: 0, tos: 0, scope: 0 },
        nexthops: [{ gateway: "198.51.100.1", ifindex: 7, weight: 1 }, { gateway: "198.51.100.2", ifindex: 7, weight: 3 }],
        mtu: undefined, advmss: undefined,
      },
      routes: [0, 1],
    });
    expect(shown(writes[1].set.key)).toEqual({ family: AF_INET6, table: 254, dst: "::/0", priority: 0, tos: 0, scope: 0 });
    expect(shown(writes[1].set.nexthops.map((n) => n.gateway))).toEqual(["2001:db8:a::1", "2001:db8:a::2"]);
  });

  test("the key includes table, metric and scope; IPv6 metric 0 equals 1024", () => {
    const writes = planRoutes(
      result([
        { dst: "10.0.0.0/8", gw: "198.51.100.1" },
        { dst: "10.0.0.0/8", gw: "198.51.100.2", table: 100 },
        { dst: "10.0.0.0/8", gw: "198.51.100.3", priority: 10 },
        { dst: "10.0.0.0/8", gw: "198.51.100.4", scope: 253 },
        { dst: "2001:db8:1::/48", gw: "2001:db8:a::1" },
        { dst: "2001:db8:1::/48", gw: "2001:db8:a::2", priority: 1024 },
      ]),
      "net1", 7, "merge",
    );
    expect(writes.map((w) => w.routes)).toEqual([[0], [1], [2], [3], [4, 5]]);
  });

  test("routes without gw take the first gateway of their family; dst host bits are cleared", () => {
    const [v4, v6] = planRoutes(result([{ dst: "10.1.2.3/16" }, { dst: "2001:db8:1::5/48" }]), "net1", 7, "merge");
    expect(shown(v4.set.key.dst)).toBe("10.1.0.0/16");
    expect(shown(v4.set.nexthops[0].gateway)).toBe("198.51.100.1");
    expect(shown(v6.set.key.dst)).toBe("2001:db8:1::/48");
    expect(shown(v6.set.nexthops[0].gateway)).toBe("2001:db8:a::1");
  });

  test("bad input names the field and the value", () => {
    expect(planError([{ dst: "0.0.0.0/0", gw: "2001:db8::1" }])).toBe('routes[0].gw: gateway "2001:db8::1" is IPv6 but dst "0.0.0.0/0" is IPv4');
    expect(planError([{ dst: "10.0.0.0/33" }])).toBe('routes[0].dst: invalid CIDR "10.0.0.0/33"');
    expect(planError([{ dst: "10.0.0.0/8", table: 2 ** 32 }])).toBe("routes[0].table: 4294967296 is out of range [0, 4294967295]");
    expect(planError([{ dst: "10.0.0.0/8", priority: -1 }])).toBe("routes[0].priority: -1 is out of range [0, 4294967295]");
    expect(planError([{ dst: "10.0.0.0/8", weight: 257 }])).toBe("routes[0].weight: expected an integer from 1 to 256, got 257");
    expect(planError([{ dst: "0.0.0.0/0", gw: "198.51.100.1" }, { dst: "0.0.0.0/0", gw: "198.51.100.1" }])).toBe(
      'routes[1].gw: duplicate gateway "198.51.100.1"',
    );
  });
});

describe("planRoutes reads gws in results (cni #1190)", () => {
  test("gw is merged into gws without duplicates; each gateway is a nexthop of one set", () => {
    const [w] = planRoutes(result([{ dst: "0.0.0.0/0", gw: "198.51.100.1", gws: ["198.51.100.2", "198.51.100.1"] }]), "net1", 7, "upstream");
    expect(w.how).toBe("join");
    expect(shown(w.set.nexthops.map((n) => n.gateway))).toEqual(["198.51.100.1", "198.51.100.2"]);
    expect(w.routes).toEqual([0]);
  });
  test("a gws entry of the other family names the entry", () => {
    expect(planError([{ dst: "::/0", gws: ["2001:db8:a::1", "198.51.100.1"] }])).toBe('routes[0].gws[1]: gateway "198.51.100.1" is IPv4 but dst "::/0" is IPv6');
  });
});

describe("planRoutes, upstream mode", () => {
  test("plain routes are prepended one by one; gws groups stay multipath", () => {
    const writes = planRoutes(
      result([
        { dst: "0.0.0.0/0", gw: "198.51.100.1" },
        { dst: "0.0.0.0/0", gw: "198.51.100.2" },
        { dst: "10.0.0.0/8", gw: "198.51.100.1", weight: 1 },
        { dst: "10.0.0.0/8", gw: "198.51.100.2", weight: 2 },
      ]),
      "net1", 7, "upstream",
    );
    expect(writes.map((w) => [w.how, w.routes])).toEqual([["upstream", [0]], ["upstream", [1]], ["join", [2, 3]]]);
  });
});

describe("nexthop sets", () => {
  const a = { gateway: ip("192.0.2.1"), ifindex: 2, weight: 1 };
  const b = { gateway: ip("198.51.100.1"), ifindex: 3, weight: 1 };
  const b2 = { gateway: ip("198.51.100.1"), ifindex: 3, weight: 5 };
  test("union keeps what is there and adds what is new, by gateway and device", () => {
    expect(union([a], [b])).toEqual([a, b]);
    expect(union([a, b], [b2])).toEqual([a, b]);
  });
  test("difference removes by gateway and device", () => {
    expect(difference([a, b], [b2])).toEqual([a]);
  });
});

// ---- planInterface: the whole interface as a value, against a kernel state given as data -------

/** A kernel state from a list of routes (any table, any type), as the planner reads one. */
function kernel(routes: KernelRoute[]): KernelState & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    routes(family: number, table: number) {
      reads.push(`${family}/${table}`);
      return routes.filter((r) => r.family === family && r.table === table);
    },
  };
}

/** A kernel route written with text addresses (dst, gateways). */
function kroute(over: Omit<Partial<KernelRoute>, "dst" | "nexthops"> & Pick<KernelRoute, "family"> & { dst: string; nexthops: { gateway?: string; ifindex: number; weight: number }[] }): KernelRoute {
  const { dst, nexthops, ...rest } = over;
  return {
    table: 254, priority: 0, tos: 0, scope: 0, protocol: 3, type: RTN_UNICAST, foreign: false, ...rest,
    dst: net(dst), nexthops: nexthops.map(({ gateway, ...nh }) => (gateway === undefined ? nh : { ...nh, gateway: ip(gateway) })),
  };
}

/** eth0 (ifindex 2) holds the pod's default routes in both families. */
const eth0Defaults = [
  kroute({ family: AF_INET, dst: "0.0.0.0/0", nexthops: [{ gateway: "192.0.2.1", ifindex: 2, weight: 1 }] }),
  kroute({ family: AF_INET6, dst: "::/0", priority: 1024, nexthops: [{ gateway: "2001:db8:e::1", ifindex: 2, weight: 1 }] }),
];

function planFor(routes: Route[], state: KernelState, opts: Partial<PlanInput> = {}) {
  return planInterface({ ifname: "net1", ifindex: 0, result: result(routes), ecmp: "merge", kernel: state, routesAt: "ipam.routes", ...opts });
}

describe("planInterface", () => {
  test("a join into eth0's existing defaults: IPv4 by REPLACE with the union, IPv6 as siblings", () => {
    const plan = planFor([{ dst: "0.0.0.0/0", gw: "198.51.100.1" }, { dst: "::/0", gw: "2001:db8:a::1" }], kernel(eth0Defaults));
    expect(plan.link).toEqual({ ifname: "net1", ifindex: 0, up: true });
    expect(plan.addresses.map((a) => [a.address, a.cidr?.ip.family, a.cidr?.prefix])).toEqual([["198.51.100.10/24", 4, 24], ["2001:db8:a::10/64", 6, 64]]);
    expect(plan.settle).toBe(true);
    expect(shown(plan.routes.map((r) => ({ dst: r.key.dst, before: r.before, after: r.after, ops: r.writes.map((w) => w.op), refused: r.writes.map((w) => w.refused) })))).toEqual([
      {
        dst: "0.0.0.0/0", ops: ["replace"], refused: [undefined],
        before: [{ gateway: "192.0.2.1", ifindex: 2, weight: 1 }],
        after: [{ gateway: "192.0.2.1", ifindex: 2, weight: 1 }, { gateway: "198.51.100.1", ifindex: 0, weight: 1 }],
      },
      {
        dst: "::/0", ops: ["join"], refused: [undefined],
        before: [{ gateway: "2001:db8:e::1", ifindex: 2, weight: 1 }],
        after: [{ gateway: "2001:db8:e::1", ifindex: 2, weight: 1 }, { gateway: "2001:db8:a::1", ifindex: 0, weight: 1 }],
      },
    ]);
    expect(shown(plan.writes.map((w) => w.adds))).toEqual([[{ gateway: "198.51.100.1", ifindex: 0, weight: 1 }], [{ gateway: "2001:db8:a::1", ifindex: 0, weight: 1 }]]);
  });

  test("an empty pod: every key is created; only the tables written are read", () => {
    const state = kernel([]);
    const plan = planFor([{ dst: "10.0.0.0/8", gw: "198.51.100.1", table: 100 }], state, { ifindex: 7 });
    expect(shown(plan.writes.map((w) => [w.op, w.set.key.table]))).toEqual([["create", 100]]);
    expect(shown(plan.routes[0].before)).toEqual([]);
    expect(shown(plan.routes[0].after)).toEqual([{ gateway: "198.51.100.1", ifindex: 7, weight: 1 }]);
    expect([...new Set(state.reads)]).toEqual([`${AF_INET}/100`]);
  });

  test("the sysctls ADD writes: notify first (best effort), IPv6 on before the first IPv6 address", () => {
    const plan = planFor([], kernel([]));
    expect(plan.sysctls).toEqual([
      { key: "net/ipv4/conf/net1/arp_notify", value: "1", device: "net1", purpose: "notify", fatal: false, onlyIfDifferent: false, before: 0 },
      { key: "net/ipv6/conf/net1/ndisc_notify", value: "1", device: "net1", purpose: "notify", fatal: false, onlyIfDifferent: false, before: 0 },
      { key: "net/ipv6/conf/lo/disable_ipv6", value: "0", device: "lo", purpose: "enable-ipv6", fatal: true, onlyIfDifferent: true, before: 1 },
      { key: "net/ipv6/conf/net1/disable_ipv6", value: "0", device: "net1", purpose: "enable-ipv6", fatal: true, onlyIfDifferent: true, before: 1 },
      { key: "net/ipv6/conf/net1/keep_addr_on_down", value: "1", device: "net1", purpose: "keep-addr-on-down", fatal: true, onlyIfDifferent: false, before: 1 },
    ]);
    // A gateway on an IPv6 address is enough for DAD to settle, even without IPv6 routes.
    expect(plan.settle).toBe(true);
    const v4only: Result = { ...result([]), ips: [{ address: "198.51.100.10/24", interface: 0 }] };
    const p4 = planInterface({ ifname: "net1", ifindex: 0, result: v4only, ecmp: "merge", kernel: kernel([]) });
    expect(p4.settle).toBe(false);
    expect(p4.sysctls.map((s) => s.purpose)).toEqual(["notify", "notify"]);
  });

  test("refusals: another scope in the IPv4 slot, a route nexthop cannot write back", () => {
    const state = kernel([
      kroute({ family: AF_INET, dst: "10.0.0.0/8", scope: 253, nexthops: [{ ifindex: 2, weight: 1 }] }),
      kroute({ family: AF_INET, dst: "10.1.0.0/16", foreign: true, nexthops: [{ gateway: "192.0.2.1", ifindex: 2, weight: 1 }] }),
    ]);
    const plan = planFor([{ dst: "10.0.0.0/8", gw: "198.51.100.1" }, { dst: "10.1.0.0/16", gw: "198.51.100.1" }], state);
    expect(plan.writes.map((w) => w.refused)).toEqual([
      "cannot join route 10.0.0.0/8 table 254 metric 0 scope 0: the kernel holds a route of type 1, scope 253 with the same table, destination, metric and tos (IPv4 tells routes apart by these only); use another priority for this route",
      "cannot join route 10.1.0.0/16 table 254 metric 0 scope 0: the existing route has attributes nexthop cannot write back (nexthop object, encapsulation, realms or many metrics)",
    ]);
    // A refused write changes nothing.
    expect(shown(plan.routes.map((r) => r.after))).toEqual([[], [{ gateway: "192.0.2.1", ifindex: 2, weight: 1 }]]);
  });

  test("the kernel's own prefix routes of the addresses are there when routes are written", () => {
    const plan = planFor([{ dst: "198.51.100.0/24" }, { dst: "198.51.100.0/24", scope: 253 }], kernel([]), { ifindex: 7 });
    // A gateway route to the address's own subnet meets the link-scope prefix route in its slot.
    expect(plan.writes[0].refused).toContain("the kernel holds a route of type 1, scope 253");
    // A direct link-scope route to it is the prefix route: nothing to write.
    expect(shown([plan.writes[1].op, plan.writes[1].adds])).toEqual(["none", []]);
    expect(shown(plan.routes[1].before)).toEqual([]);
    expect(shown(plan.routes[1].after)).toEqual([{ ifindex: 7, weight: 1 }]);
  });

  test("an IPv6 /128 address brings its prefix route too (docs/kernel.md §15), an IPv4 /32 none", () => {
    const r: Result = {
      ...result([{ dst: "2001:db8:b::10/128", priority: 256 }, { dst: "198.51.100.10/32", scope: 253 }]),
      ips: [{ address: "2001:db8:b::10/128", interface: 0 }, { address: "198.51.100.10/32", interface: 0 }],
    };
    const plan = planInterface({ ifname: "net1", ifindex: 7, result: r, ecmp: "merge", kernel: kernel([]), routesAt: "ipam.routes" });
    // The direct route to the /128 at metric 256 is the kernel's own prefix route: nothing to write.
    expect(shown(plan.routes.map((x) => [x.key.dst, x.writes.map((w) => w.op)]))).toEqual([["2001:db8:b::10/128", ["none"]], ["198.51.100.10/32", ["create"]]]);
  });

  test('"ecmp": "upstream": IPv4 routes go in front of the slot one by one; a gws join then rewrites the first', () => {
    const plan = planFor(
      [{ dst: "0.0.0.0/0", gw: "198.51.100.1" }, { dst: "0.0.0.0/0", gw: "198.51.100.2" }, { dst: "0.0.0.0/0", gws: ["198.51.100.3"] }],
      kernel(eth0Defaults), { ecmp: "upstream", ifindex: 7 },
    );
    expect(plan.writes.map((w) => w.op)).toEqual(["upstream", "upstream", "replace"]);
    expect(plan.routes).toHaveLength(1);
    expect(shown(plan.routes[0].after.map((nh) => nh.gateway))).toEqual(["198.51.100.2", "198.51.100.3", "198.51.100.1", "192.0.2.1"]);
  });

  test("a second join of the same nexthops is a no-op", () => {
    const state = kernel([kroute({ family: AF_INET6, dst: "::/0", priority: 1024, nexthops: [{ gateway: "2001:db8:a::1", ifindex: 7, weight: 1 }] })]);
    const plan = planFor([{ dst: "::/0", gw: "2001:db8:a::1" }], state, { ifindex: 7 });
    expect(plan.writes.map((w) => w.op)).toEqual(["none"]);
  });

  test("ADD validates routes, then addresses; CHECK skips other interfaces and keeps an unparsable address", () => {
    const bad: Result = { ...result([]), ips: [{ address: "198.51.100.10/33", interface: 0 }, { address: "192.0.2.9/24", interface: 5 }] };
    expect(() => planInterface({ ifname: "net1", ifindex: 0, result: bad, ecmp: "merge", kernel: kernel([]) })).toThrow('ips: invalid CIDR "198.51.100.10/33"');
    expect(() => planInterface({ ifname: "net1", ifindex: 0, result: { ...bad, routes: [{ dst: "x" }] }, ecmp: "merge", kernel: kernel([]) })).toThrow('routes[0].dst: invalid CIDR "x"');
    expect(planAddresses(bad, "net1", "check")).toEqual([{ address: "198.51.100.10/33" }]);
    expect(() => planInterface({ ifname: "net1", ifindex: 0, result: { ...bad, interfaces: [] }, ecmp: "merge", kernel: kernel([]) })).toThrow("no interfaces to configure");
  });
});

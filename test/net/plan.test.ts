// The plan is pure: config routes in, nexthop sets out. No kernel needed.
import { describe, expect, test } from "bun:test";
import { CniError } from "../../src/cni/errors";
import type { Result, Route } from "../../src/cni/types";
import { AF_INET, AF_INET6 } from "../../src/netlink/constants";
import { difference, union } from "../../src/net/nexthops";
import { planRoutes } from "../../src/net/plan";

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
    expect(writes[0]).toEqual({
      how: "join",
      set: {
        key: { family: AF_INET, table: 254, dst: "0.0.0.0/0", priority: 0, tos: 0, scope: 0 },
        nexthops: [{ gateway: "198.51.100.1", ifindex: 7, weight: 1 }, { gateway: "198.51.100.2", ifindex: 7, weight: 3 }],
        mtu: undefined, advmss: undefined,
      },
      routes: [0, 1],
    });
    expect(writes[1].set.key).toEqual({ family: AF_INET6, table: 254, dst: "::/0", priority: 0, tos: 0, scope: 0 });
    expect(writes[1].set.nexthops.map((n) => n.gateway)).toEqual(["2001:db8:a::1", "2001:db8:a::2"]);
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
    expect(v4.set.key.dst).toBe("10.1.0.0/16");
    expect(v4.set.nexthops[0].gateway).toBe("198.51.100.1");
    expect(v6.set.key.dst).toBe("2001:db8:1::/48");
    expect(v6.set.nexthops[0].gateway).toBe("2001:db8:a::1");
  });

  test("bad input names the field and the value", () => {
    expect(planError([{ dst: "0.0.0.0/0", gw: "2001:db8::1" }])).toBe('routes[0].gw: gateway "2001:db8::1" is IPv6 but dst "0.0.0.0/0" is IPv4');
    expect(planError([{ dst: "10.0.0.0/33" }])).toBe('routes[0].dst: invalid CIDR "10.0.0.0/33"');
    expect(planError([{ dst: "10.0.0.0/8", table: 2 ** 32 }])).toBe("routes[0].table: 4294967296 is out of range [0, 4294967295]");
    expect(planError([{ dst: "10.0.0.0/8", priority: -1 }])).toBe("routes[0].priority: -1 is out of range [0, 4294967295]");
    expect(planError([{ dst: "10.0.0.0/8", weight: 257 }])).toBe("routes[0].weight: 257 is out of range [1, 256]");
    expect(planError([{ dst: "0.0.0.0/0", gw: "198.51.100.1" }, { dst: "0.0.0.0/0", gw: "198.51.100.1" }])).toBe(
      'routes[1].gw: duplicate gateway "198.51.100.1" for dst "0.0.0.0/0"',
    );
  });
});

describe("planRoutes reads gws in results (cni #1190)", () => {
  test("gw is merged into gws without duplicates; each gateway is a nexthop of one set", () => {
    const [w] = planRoutes(result([{ dst: "0.0.0.0/0", gw: "198.51.100.1", gws: ["198.51.100.2", "198.51.100.1"] }]), "net1", 7, "upstream");
    expect(w.how).toBe("join");
    expect(w.set.nexthops.map((n) => n.gateway)).toEqual(["198.51.100.1", "198.51.100.2"]);
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
  const a = { gateway: "192.0.2.1", ifindex: 2, weight: 1 };
  const b = { gateway: "198.51.100.1", ifindex: 3, weight: 1 };
  const b2 = { gateway: "198.51.100.1", ifindex: 3, weight: 5 };
  test("union keeps what is there and adds what is new, by gateway and device", () => {
    expect(union([a], [b])).toEqual([a, b]);
    expect(union([a, b], [b2])).toEqual([a, b]);
  });
  test("difference removes by gateway and device", () => {
    expect(difference([a, b], [b2])).toEqual([a]);
  });
});

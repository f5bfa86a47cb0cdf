// docs/kernel.md §15, which the planner relies on (src/net/plan.ts counts these routes when it
// plans the route writes, which come after the link is up): an address brings a route to its
// prefix. IPv4: main table, scope link, metric 0, protocol kernel, added once the link is up
// (none while it is down), none for a /32. IPv6: metric 256, protocol kernel, for a /128 too.
// Read back as iproute2's JSON of the pod's routes.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { cleanupNetns, createNetns, ipJson, sh, type Netns } from "../lib/netns";

interface RouteJson { dst: string; dev?: string; protocol?: string; scope?: string; metric?: number; table?: string; type?: string }

let pod: Netns;

beforeEach(() => {
  pod = createNetns();
  // A veth whose peer stays in the same netns: the link has no carrier until both are up.
  sh(["ip", "-n", pod.name, "link", "add", "a0", "type", "veth", "peer", "name", "a0p"]);
});

afterEach(() => cleanupNetns());

const routes = (family: "-4" | "-6"): RouteJson[] =>
  ipJson([family, "route", "show", "table", "main", "dev", "a0"], pod.name) as RouteJson[];

const addAddr = (cidr: string, ...flags: string[]) => sh(["ip", "-n", pod.name, "addr", "add", cidr, "dev", "a0", ...flags]);

describe("an address brings its prefix route (docs/kernel.md §15)", () => {
  test("IPv4: none while the link is down; at link up, scope link, metric 0, protocol kernel, in the main table", () => {
    addAddr("198.51.100.10/24");
    expect(routes("-4")).toEqual([]);
    sh(["ip", "-n", pod.name, "link", "set", "a0", "up"]);
    const [r, ...rest] = routes("-4");
    expect(rest).toEqual([]);
    expect(r).toMatchObject({ dst: "198.51.100.0/24", protocol: "kernel", scope: "link" });
    // iproute2 omits a metric of 0.
    expect(r.metric ?? 0).toBe(0);
  });

  test("IPv4: none for a /32", () => {
    sh(["ip", "-n", pod.name, "link", "set", "a0", "up"]);
    addAddr("198.51.100.10/32");
    expect(routes("-4")).toEqual([]);
  });

  test("IPv6: metric 256, protocol kernel, for a /64 and for a /128", () => {
    sh(["ip", "-n", pod.name, "link", "set", "a0", "up"]);
    addAddr("2001:db8:a::10/64", "nodad");
    addAddr("2001:db8:b::10/128", "nodad");
    const global = routes("-6").filter((r) => !r.dst.startsWith("fe80")).sort((a, b) => a.dst.localeCompare(b.dst));
    expect(global).toEqual([
      expect.objectContaining({ dst: "2001:db8:a::/64", protocol: "kernel", metric: 256 }),
      expect.objectContaining({ dst: "2001:db8:b::10", protocol: "kernel", metric: 256 }),
    ]);
  });
});

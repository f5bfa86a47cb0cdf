// `nexthop plan` against this machine's kernel, through dist/nexthop: what it prints for a pod
// whose eth0 holds the defaults (the join is shown), for refused writes and for an IPAM it cannot
// run; that what it predicts is what a real ADD then does (same nexthops, same error); and that
// it changes nothing: links, addresses, routes of every table and the sysctls ADD touches,
// dumped as structures before and after, are equal.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { binary, pluginDir, runCni } from "../lib/cni";
import { createNetns, ipJson, sh, type Netns } from "../lib/netns";
import { macvlanPod, type Pod } from "../lib/pod";

let bin: ReturnType<typeof pluginDir>;
beforeAll(() => {
  bin = pluginDir();
});
afterAll(() => bin.dispose());

const made: Netns[] = [];
afterEach(() => {
  for (const ns of made.splice(0)) ns.delete();
});

/** A pod whose eth0 holds both default routes, and a macvlan master in the host (veth into "lan"). */
const setup = (): Pod => macvlanPod(made, { eth0: true });

function conf(p: Pod, routes: unknown[], ipam: Record<string, unknown> = {}) {
  return {
    cniVersion: "1.1.0",
    name: "nh-plan",
    type: "macvlan",
    master: p.parent,
    ipam: {
      type: "static",
      addresses: [
        { address: "198.51.100.10/24", gateway: "198.51.100.1" },
        { address: "2001:db8:a::10/64", gateway: "2001:db8:a::1" },
      ],
      routes,
      ...ipam,
    },
  };
}

function plan(args: string[], config: unknown) {
  const r = Bun.spawnSync([binary, "plan", ...args], { stdin: Buffer.from(JSON.stringify(config)), stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  const stdout = r.stdout.toString();
  let json: any;
  try {
    json = JSON.parse(stdout);
  } catch {}
  return { exitCode: r.exitCode, stdout, stderr: r.stderr.toString(), json };
}

const planJson = (p: Pod, config: unknown, ifname = "net1") => plan(["macvlan", "--netns", p.pod.path, "--ifname", ifname, "--json"], config);

/** The sysctls an ADD reads or writes in the pod (the new device's inherit the defaults). */
const SYSCTLS = [
  "net.ipv6.conf.lo.disable_ipv6", "net.ipv6.conf.default.disable_ipv6", "net.ipv6.conf.all.disable_ipv6",
  "net.ipv6.conf.default.keep_addr_on_down", "net.ipv4.conf.default.arp_notify", "net.ipv6.conf.default.ndisc_notify",
  "net.ipv6.conf.eth0.disable_ipv6", "net.ipv4.conf.eth0.arp_notify",
];

/** Everything a plan could change, as structures: the pod's links, addresses, routes, sysctls; the master. */
function state(p: Pod) {
  const links = (ipJson(["-d", "link", "show"], p.pod.name) as any[]).map((l) => ({
    ifname: l.ifname, ifindex: l.ifindex, flags: l.flags, mtu: l.mtu, address: l.address, kind: l.linkinfo?.info_kind, operstate: l.operstate,
  }));
  const addrs = (ipJson(["addr", "show"], p.pod.name) as any[]).map((l) => ({
    ifname: l.ifname,
    addrs: (l.addr_info ?? []).map((a: any) => ({ family: a.family, local: a.local, prefixlen: a.prefixlen, scope: a.scope, flags: [a.nodad, a.tentative, a.dadfailed] })),
  }));
  const routes = ["-4", "-6"].map((f) => ipJson([f, "route", "show", "table", "all"], p.pod.name));
  const sysctls = Object.fromEntries(SYSCTLS.map((k) => [k, sh(["ip", "netns", "exec", p.pod.name, "sysctl", "-n", k]).trim()]));
  const master = (ipJson(["-d", "link", "show", "dev", p.parent]) as any[]).map((l) => ({ ifname: l.ifname, flags: l.flags, mtu: l.mtu, address: l.address }));
  // No macvlan left in the host under a temporary name (nh + 12 hex digits).
  const strays = (ipJson(["link", "show"]) as any[]).filter((l) => /^nh[0-9a-f]{12}$/.test(l.ifname)).map((l) => l.ifname);
  return { links, addrs, routes, sysctls, master, strays };
}

/** The plan's route with this dst, as the JSON form has it. */
const routeOf = (json: any, dst: string) => json.routes.find((r: any) => r.dst === dst);

/** A kernel route's nexthops as {gateway, dev}, multipath or not. */
function hopsOf(netns: string, family: "-4" | "-6", dst: string): { gateway?: string; dev: string }[] {
  const r = (ipJson([family, "route", "show", dst], netns) as any[])[0];
  return (r.nexthops ?? [r]).map((n: any) => ({ gateway: n.gateway, dev: n.dev }));
}

describe("nexthop plan", () => {
  test("a pod with eth0's defaults: the join is shown, nothing changes, and ADD then does what was shown", () => {
    const p = setup();
    const config = conf(p, [{ dst: "0.0.0.0/0" }, { dst: "::/0" }]);
    const before = state(p);
    const out = planJson(p, config);
    expect(state(p)).toEqual(before);
    expect(out.stderr).toBe("");
    expect(out.exitCode).toBe(0);
    const j = out.json;
    expect([j.schema, j.plugin, j.netns, j.ifname, j.addWouldSucceed, j.refusals]).toEqual(["nexthop-plan/v1", "macvlan", p.pod.path, "net1", true, []]);
    expect(j.link).toEqual({ ifname: "net1", kind: "macvlan", master: p.parent, masterIn: "host", mode: "bridge", mtu: 0, nameTaken: false, leftover: null, up: true });
    expect(j.addresses).toEqual(["198.51.100.10/24", "2001:db8:a::10/64"]);
    expect(j.dadWait).toBe(true);
    expect(j.sysctls.map((s: any) => [s.key, s.value, s.write])).toEqual([
      ["net.ipv4.conf.net1.arp_notify", "1", true],
      ["net.ipv6.conf.net1.ndisc_notify", "1", true],
      ["net.ipv6.conf.lo.disable_ipv6", "0", false],
      ["net.ipv6.conf.net1.disable_ipv6", "0", false],
      ["net.ipv6.conf.net1.keep_addr_on_down", "1", true],
    ]);
    expect(j.sysctls[3]).toMatchObject({ current: "0", currentFrom: "net.ipv6.conf.default.disable_ipv6" });
    expect(routeOf(j, "0.0.0.0/0")).toEqual({
      family: 4, table: 254, dst: "0.0.0.0/0", metric: 0, tos: 0, scope: 0,
      before: [{ gateway: "192.0.2.1", dev: "eth0", weight: 1 }],
      after: [{ gateway: "192.0.2.1", dev: "eth0", weight: 1 }, { gateway: "198.51.100.1", dev: "net1", weight: 1 }],
      writes: [{ op: "replace", join: true, nexthops: [{ gateway: "198.51.100.1", dev: "net1", weight: 1 }], refused: null }],
    });
    expect(routeOf(j, "::/0")).toEqual({
      family: 6, table: 254, dst: "::/0", metric: 1024, tos: 0, scope: 0,
      before: [{ gateway: "2001:db8:0:1::1", dev: "eth0", weight: 1 }],
      after: [{ gateway: "2001:db8:0:1::1", dev: "eth0", weight: 1 }, { gateway: "2001:db8:a::1", dev: "net1", weight: 1 }],
      writes: [{ op: "join", join: true, nexthops: [{ gateway: "2001:db8:a::1", dev: "net1", weight: 1 }], refused: null }],
    });
    // The text form says the same for people, and changes nothing either.
    const text = plan(["macvlan", "--netns", p.pod.path, "--ifname", "net1"], config);
    expect(text.exitCode).toBe(0);
    expect(text.stdout.split("\n")[0]).toBe(`nexthop plan: macvlan ADD of net1 in ${p.pod.path} (nothing was changed)`);
    expect(state(p)).toEqual(before);
    // The real ADD leaves what the plan said it would.
    const add = runCni({ dir: bin.dir, plugin: "macvlan", command: "ADD", config, netns: p.pod.path, ifname: "net1" });
    expect(add.exitCode).toBe(0);
    const hops = (r: any) => r.after.map((h: any) => ({ gateway: h.gateway, dev: h.dev }));
    expect(hopsOf(p.pod.name, "-4", "default")).toEqual(hops(routeOf(j, "0.0.0.0/0")));
    expect(hopsOf(p.pod.name, "-6", "default")).toEqual(hops(routeOf(j, "::/0")));
    // Planned again now: the name is taken, and ADD would say so (still changing nothing).
    const added = state(p);
    const again = planJson(p, config);
    expect(state(p)).toEqual(added);
    expect(again.exitCode).toBe(3);
    expect(again.json.link.nameTaken).toBe(true);
    expect(again.json.refusals).toEqual([`CNI_IFNAME "net1": an interface with this name already exists in netns ${p.pod.path}`]);
    expect(runCni({ dir: bin.dir, plugin: "macvlan", command: "DEL", config, netns: p.pod.path, ifname: "net1" }).exitCode).toBe(0);
  });

  test("refusals: a route into the slot of another scope, predicted with the address's own prefix route; ADD fails with the same error", () => {
    const p = setup();
    sh(["ip", "-n", p.pod.name, "route", "add", "10.0.0.0/8", "dev", "eth0", "scope", "link"]);
    // 10.0.0.0/8 meets eth0's link-scope route; 198.51.100.0/24 meets the prefix route of net1's
    // own address, which the kernel adds when the address is added.
    const config = conf(p, [{ dst: "198.51.100.0/24" }, { dst: "10.0.0.0/8" }]);
    const before = state(p);
    const out = planJson(p, config);
    expect(state(p)).toEqual(before);
    expect(out.exitCode).toBe(3);
    expect(out.json.addWouldSucceed).toBe(false);
    const why = (dst: string) =>
      `cannot join route ${dst} table 254 metric 0 scope 0: the kernel holds a route of type 1, scope 253 with the same table, destination, metric and tos (IPv4 tells routes apart by these only); use another priority for this route`;
    expect(out.json.refusals).toEqual([
      `failed to add route '198.51.100.0/24 via 198.51.100.1 dev net1 metric 0 (Scope: 0, Table: 254)': ${why("198.51.100.0/24")}`,
      `failed to add route '10.0.0.0/8 via 198.51.100.1 dev net1 metric 0 (Scope: 0, Table: 254)': ${why("10.0.0.0/8")}`,
    ]);
    expect(routeOf(out.json, "10.0.0.0/8")).toMatchObject({ before: [], after: [], writes: [{ op: "replace", join: false, refused: why("10.0.0.0/8") }] });
    // The ADD reports the first refusal, and leaves the pod as it was.
    const add = runCni({ dir: bin.dir, plugin: "macvlan", command: "ADD", config, netns: p.pod.path, ifname: "net1" });
    expect(add.exitCode).toBe(1);
    expect(add.json).toEqual({ code: 7, msg: out.json.refusals[0] });
    expect(state(p)).toEqual(before);
  });

  test("an IPAM other than static is refused without running it", () => {
    const p = setup();
    const config = { ...conf(p, []), ipam: { type: "host-local", ranges: [[{ subnet: "198.51.100.0/24" }]] } };
    const before = state(p);
    const out = planJson(p, config);
    expect(state(p)).toEqual(before);
    expect(out.exitCode).toBe(1);
    expect(out.stdout).toBe("");
    expect(out.stderr).toBe(`nexthop plan: cannot plan with IPAM type "host-local": only nexthop's own "static" IPAM runs without side effects (any other IPAM would allocate an address)\n`);
  });

  test("static alone prints the result its ADD would return", () => {
    const config = { cniVersion: "1.0.0", name: "nh-plan", ipam: { type: "static", addresses: [{ address: "198.51.100.10/24", gateway: "198.51.100.1" }], routes: [{ dst: "0.0.0.0/0" }] } };
    const out = plan(["static", "--json"], config);
    expect(out.exitCode).toBe(0);
    const ns = createNetns();
    made.push(ns);
    const add = runCni({ dir: bin.dir, plugin: "static", command: "ADD", config, netns: ns.path, ifname: "net1" });
    expect(add.stdout).toStartWith("{");
    expect(add.exitCode).toBe(0);
    expect(out.json).toEqual({ schema: "nexthop-plan/v1", plugin: "static", cniVersion: "1.0.0", result: add.json });
  });

  test("ipvlan is planned the same way (no ipvlan device is needed: nothing is created)", () => {
    const p = setup();
    const config = { ...conf(p, [{ dst: "0.0.0.0/0" }]), type: "ipvlan", mode: "l3" };
    const before = state(p);
    const out = plan(["ipvlan", "--netns", p.pod.path, "--ifname", "net1", "--json"], config);
    expect(state(p)).toEqual(before);
    expect(out.exitCode).toBe(0);
    expect(out.json.link).toMatchObject({ kind: "ipvlan", mode: "l3", master: p.parent });
    expect(routeOf(out.json, "0.0.0.0/0").writes).toEqual([{ op: "replace", join: true, nexthops: [{ gateway: "198.51.100.1", dev: "net1", weight: 1 }], refused: null }]);
  });

  test("bad usage exits 2", () => {
    expect(plan(["macvlan", "--json"], {}).exitCode).toBe(2);
    expect(plan(["bridge", "--netns", "/x", "--ifname", "y"], {}).exitCode).toBe(2);
  });
});

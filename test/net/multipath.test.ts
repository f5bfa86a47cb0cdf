// The `multipath` option with real traffic (docs/multipath.md): UDP flows from the pod to a
// destination behind two routers on net1's L2 network (and a third on eth0 for joined defaults),
// counted per flow and per router at the destination. Both families.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { ipJson, sh } from "../lib/netns";
import { pluginDir, runCni } from "../lib/cni";
import { join } from "node:path";
import { netnsCookie, STATE_DIR } from "../../src/net/multipath-state";
import {
  buildTopology, failoverFigures, flowsOf, net1Ipam, routerLink, spread, startTraffic, GW4, GW6, type Topology,
} from "./topology";

let bin: ReturnType<typeof pluginDir>;
beforeAll(() => {
  bin = pluginDir();
});
afterAll(() => bin.dispose());

let topo: Topology | undefined;
afterEach(() => {
  // A test that failed before its DEL leaves the pod's state file: remove it with the pod.
  if (topo) rmSync(join(STATE_DIR, `${netnsCookie(topo.pod.path)}.json`), { force: true });
  topo?.delete();
  topo = undefined;
});

const stateFile = (t: Topology) => join(STATE_DIR, `${netnsCookie(t.pod.path)}.json`);

function conf(t: Topology, multipath: unknown, joined = false, extra: Record<string, unknown> = {}) {
  return {
    cniVersion: "1.1.0", name: "nh-mp", type: "macvlan", master: t.parent,
    ...(multipath === undefined ? {} : { multipath }), ...extra, ipam: net1Ipam(joined),
  };
}

function cni(t: Topology, command: string, config: unknown, ifname = "net1", containerId = "nh-mp") {
  return runCni({ dir: bin.dir, plugin: "macvlan", command, config, netns: t.pod.path, ifname, containerId });
}

function add(t: Topology, config: unknown, ifname = "net1", containerId = "nh-mp") {
  const r = cni(t, "ADD", config, ifname, containerId);
  if (r.exitCode !== 0) throw new Error(`ADD failed: ${r.stdout} ${r.stderr}`);
  return r.json;
}

const sysctl = (t: Topology, key: string) => sh(["ip", "netns", "exec", t.pod.name, "sysctl", "-n", key]).trim();


const fmt = (n: number) => n.toFixed(2);

describe("hash policy, with traffic", () => {
  for (const joined of [false, true]) {
    const how = joined ? "net1's defaults joined with eth0's (three routers)" : "routes to the destination via net1's two routers";
    test(`${how}: l4 spreads 64 flows over the routers, l3 keeps them on one; DEL restores the pod's policy`, async () => {
      topo = buildTopology({ eth0: joined });
      const t = topo;
      for (const policy of ["l4", "l3"] as const) {
        // A non-default value before: DEL must give it back.
        sh(["ip", "netns", "exec", t.pod.name, "sysctl", "-qw", "net.ipv4.fib_multipath_hash_policy=2", "net.ipv6.fib_multipath_hash_policy=2"]);
        const c = conf(t, { hashPolicy: policy }, joined);
        add(t, c);
        const want = policy === "l4" ? "1" : "0";
        expect([sysctl(t, "net.ipv4.fib_multipath_hash_policy"), sysctl(t, "net.ipv6.fib_multipath_hash_policy")]).toEqual([want, want]);
        const traffic = await startTraffic(t, { seconds: 1.5 });
        const { flows } = await traffic.done;
        for (const fam of ["v4", "v6"] as const) {
          const n = spread(flowsOf(flows, fam));
          console.log(`hashPolicy ${policy} ${fam}${joined ? " (joined)" : ""}: flows per router r0=${n[0]} r1=${n[1]} r2=${n[2]}`);
          expect(n[0] + n[1] + n[2]).toBe(64);
          const used = n.filter((x) => x > 0).length;
          if (policy === "l3") expect(used).toBe(1);
          else {
            for (const k of joined ? [0, 1, 2] : [1, 2]) expect(n[k]).toBeGreaterThanOrEqual(6);
          }
        }
        const del = cni(t, "DEL", c);
        expect(del.exitCode).toBe(0);
        expect([sysctl(t, "net.ipv4.fib_multipath_hash_policy"), sysctl(t, "net.ipv6.fib_multipath_hash_policy")]).toEqual(["2", "2"]);
      }
    }, 30000);
  }
});

describe("failover, with traffic", () => {
  test("joined eth0+net1 defaults, failover: a dead router's flows move within seconds and come back", async () => {
    topo = buildTopology({ eth0: true });
    const t = topo;
    const c = conf(t, { hashPolicy: "l4", failover: true }, true);
    const result = add(t, c);
    expect(sysctl(t, "net.ipv4.fib_multipath_use_neigh")).toBe("1");
    // The kernel holds one managed entry per gateway of net1, both families.
    const neigh = ipJson(["neigh", "show", "dev", "net1"], t.pod.name) as any[];
    for (const gw of [...GW4, ...GW6]) expect(neigh.find((n) => n.dst === gw)).toMatchObject({ managed: null, extern_learn: null });
    const check = cni(t, "CHECK", { ...c, prevResult: result });
    expect(check.stdout).toBe("");
    expect(check.exitCode).toBe(0);
    const traffic = await startTraffic(t, { seconds: 22 });
    await Bun.sleep(3000);
    const down = routerLink(t, 1, "down");
    await Bun.sleep(9000);
    const up = routerLink(t, 1, "up");
    const { flows } = await traffic.done;
    for (const fam of ["v4", "v6"] as const) {
      const f = flowsOf(flows, fam);
      const fig = failoverFigures(f, 1, down, up);
      console.log(`failover ${fam} (joined, failover): ${fig.affected} flows on r1; all moved within ${fmt(fig.failover)} s; ${fig.returned} back within ${fmt(fig.failback)} s of its return; before: ${spread(f, 0, down).join("/")} (r0/r1/r2)`);
      expect(fig.affected).toBeGreaterThan(0);
      expect(fig.recovered).toBe(fig.affected);
      // No flow is lost for longer than the failover target (failoverMs 3000) plus 2 s of slack
      // (50 ms packet spacing, a loaded machine); the outage itself lasts 9 s.
      expect(fig.failover).toBeLessThan(5);
      expect(fig.returned).toBe(fig.affected);
      // Each packet carried the address of the interface it left by (eth0 via r0, net1 via r1/r2).
      const srcOf = (r: number) => (r === 0 ? (fam === "v4" ? "10.77.2.10" : "2001:db8:77:2::10") : fam === "v4" ? "10.77.1.10" : "2001:db8:77:1::10");
      const wrong = f.flat().filter((a) => a[2] !== srcOf(Number(a[1].slice(1))));
      expect(wrong.length).toBe(0);
    }
    expect(cni(t, "DEL", c).exitCode).toBe(0);
    expect(sysctl(t, "net.ipv4.fib_multipath_use_neigh")).toBe("0");
    expect(existsSync(stateFile(t))).toBe(false);
  }, 60000);

  test("without failover the dead router blackholes its IPv4 flows (the kernel's default)", async () => {
    topo = buildTopology();
    const t = topo;
    const c = conf(t, { hashPolicy: "l4" });
    add(t, c);
    const traffic = await startTraffic(t, { seconds: 15 });
    await Bun.sleep(3000);
    const down = routerLink(t, 1, "down");
    await Bun.sleep(8000);
    const up = routerLink(t, 1, "up");
    const { flows } = await traffic.done;
    const v4 = failoverFigures(flowsOf(flows, "v4"), 1, down, up);
    const v6 = failoverFigures(flowsOf(flows, "v6"), 1, down, up);
    console.log(`no failover v4: ${v4.affected} flows on r1, ${v4.recovered} reached the destination while it was down (${fmt(up - down)} s); ${v4.returned} back after its return`);
    console.log(`no failover v6: ${v6.affected} flows on r1, ${v6.recovered} moved (within ${fmt(v6.failover)} s); ${v6.returned} back within the ${fmt(4)} s after its return`);
    expect(v4.affected).toBeGreaterThan(0);
    expect(v4.recovered).toBe(0);
    expect(cni(t, "DEL", c).exitCode).toBe(0);
  }, 60000);
});

describe("config, CHECK and DEL", () => {
  test("kernel: a pod namespace has no neigh.default sysctls, so failback pacing cannot be tuned from it", () => {
    // docs/multipath.md §3: managed entries are re-probed at the table's default
    // interval_probe_time_ms, which only the initial namespace exposes.
    topo = buildTopology();
    const t = topo;
    const listing = (family: string) =>
      sh(["ip", "netns", "exec", t.pod.name, "sh", "-c", `ls /proc/sys/net/${family}/neigh`]).split("\n").filter(Boolean).sort();
    for (const family of ["ipv4", "ipv6"]) {
      const dirs = listing(family);
      expect(dirs).not.toContain("default");
      expect(dirs).toContain("lo");
      // The host has the table's defaults, with the knob the managed work reads.
      expect(sh(["cat", `/proc/sys/net/${family}/neigh/default/interval_probe_time_ms`]).trim()).toMatch(/^[0-9]+$/);
    }
  });

  test("kernel: a carrier flap of the master flushes the managed entries; CHECK reports it", () => {
    topo = buildTopology();
    const t = topo;
    const c = conf(t, { failover: true });
    const result = add(t, c);
    const managed = () => (ipJson(["neigh", "show", "dev", "net1"], t.pod.name) as any[]).filter((n) => "managed" in n).map((n) => n.dst).sort();
    expect(managed()).toEqual([...GW4, ...GW6].sort());
    sh(["ip", "link", "set", t.parent, "down"]);
    sh(["ip", "link", "set", t.parent, "up"]);
    expect(managed()).toEqual([]);
    const r = cni(t, "CHECK", { ...c, prevResult: result });
    expect(r.exitCode).toBe(1);
    expect(r.json.msg).toBe(`multipath.failover: no managed neighbour entry for gateway ${GW4[0]} on "net1"`);
    expect(cni(t, "DEL", c).exitCode).toBe(0);
  });

  test("bad input names the field and the value; nothing is left in the pod", () => {
    topo = buildTopology();
    const t = topo;
    const cases: [unknown, RegExp][] = [
      [{ hashPolicy: "l5" }, /multipath\.hashPolicy.*"l5"/],
      [{ hashPolicy: 4 }, /multipath\.hashPolicy.*4/],
      [{ failover: "yes" }, /multipath\.failover.*"yes"/],
      [{ failover: true, failoverMs: 100 }, /multipath\.failoverMs.*100/],
      [{ failoverMs: 5000 }, /multipath\.failoverMs: needs "failover": true/],
      [{ hashPolicy: "custom" }, /multipath\.hashFields: required/],
      [{ hashPolicy: "l4", hashFields: ["srcIp"] }, /multipath\.hashFields: needs "hashPolicy": "custom"/],
      [{ hashPolicy: "custom", hashFields: ["srcMac"] }, /multipath\.hashFields\[0\].*"srcMac"/],
      [{ hashpolicy: "l4" }, /multipath.*hashpolicy/],
    ];
    for (const [mp, re] of cases) {
      const r = cni(t, "ADD", conf(t, mp));
      expect(r.exitCode).toBe(1);
      expect(r.json.code).toBe(7);
      expect(r.json.msg).toMatch(re);
    }
    expect((ipJson(["link", "show"], t.pod.name) as any[]).map((l) => l.ifname)).toEqual(["lo"]);
    expect(existsSync(stateFile(t))).toBe(false);
  });

  test("policy 3: custom hash fields are written to both families", () => {
    topo = buildTopology();
    const t = topo;
    const c = conf(t, { hashPolicy: "custom", hashFields: ["srcIp", "dstIp", "dstPort"] });
    add(t, c);
    expect(sysctl(t, "net.ipv4.fib_multipath_hash_policy")).toBe("3");
    expect([sysctl(t, "net.ipv4.fib_multipath_hash_fields"), sysctl(t, "net.ipv6.fib_multipath_hash_fields")]).toEqual(["35", "35"]);
    expect(cni(t, "DEL", c).exitCode).toBe(0);
    expect(sysctl(t, "net.ipv4.fib_multipath_hash_fields")).toBe("7");
  });

  test("a second attachment asking for another value fails with code 7; equal values are fine; the last DEL restores", () => {
    topo = buildTopology();
    const t = topo;
    const c1 = conf(t, { hashPolicy: "l4", failover: true });
    add(t, c1);
    const c2 = { ...conf(t, { hashPolicy: "l3" }), ipam: { ...net1Ipam(false, "10.77.1.20", "2001:db8:77:1::20"), routes: [] } };
    const bad = cni(t, "ADD", c2, "net2");
    expect(bad.exitCode).toBe(1);
    expect(bad.json.code).toBe(7);
    expect(bad.json.msg).toContain(`multipath.hashPolicy: "l3" conflicts with "l4", already in force in this pod`);
    expect((ipJson(["link", "show"], t.pod.name) as any[]).map((l) => l.ifname).sort()).toEqual(["lo", "net1"]);
    const c3 = { ...conf(t, { hashPolicy: "l4", failover: true }), ipam: c2.ipam };
    add(t, c3, "net2");
    expect(cni(t, "DEL", c1).exitCode).toBe(0);
    expect(sysctl(t, "net.ipv4.fib_multipath_hash_policy")).toBe("1"); // net2 still needs it
    expect(cni(t, "DEL", c3, "net2").exitCode).toBe(0);
    expect([sysctl(t, "net.ipv4.fib_multipath_hash_policy"), sysctl(t, "net.ipv4.fib_multipath_use_neigh")]).toEqual(["0", "0"]);
    expect(existsSync(stateFile(t))).toBe(false);
    // A second DEL: nothing to do, no error.
    expect(cni(t, "DEL", c3, "net2").exitCode).toBe(0);
  });

  test("CHECK finds a missing managed entry and a changed sysctl; DEL without the state file leaves the values", () => {
    topo = buildTopology();
    const t = topo;
    const c = conf(t, { hashPolicy: "l4", failover: true });
    const result = add(t, c);
    expect(cni(t, "CHECK", { ...c, prevResult: result }).exitCode).toBe(0);
    sh(["ip", "-n", t.pod.name, "neigh", "del", GW4[1], "dev", "net1"]);
    const r1 = cni(t, "CHECK", { ...c, prevResult: result });
    expect(r1.json.msg).toBe(`multipath.failover: no managed neighbour entry for gateway ${GW4[1]} on "net1"`);
    sh(["ip", "-n", t.pod.name, "neigh", "add", GW4[1], "dev", "net1", "managed", "extern_learn"]);
    sh(["ip", "netns", "exec", t.pod.name, "sysctl", "-qw", "net.ipv6.fib_multipath_hash_policy=0"]);
    const r2 = cni(t, "CHECK", { ...c, prevResult: result });
    expect(r2.json.msg).toContain(`multipath.hashPolicy: expected "l4"`);
    rmSync(stateFile(t));
    expect(cni(t, "DEL", c).exitCode).toBe(0);
    expect(sysctl(t, "net.ipv4.fib_multipath_hash_policy")).toBe("1");
  });

  test("a failure after the multipath changes rolls them back (sysctls, state, device); IPv6 forwarding is refused", () => {
    topo = buildTopology();
    const t = topo;
    // The pod-wide values are written first; failover then refuses IPv6 forwarding (the kernel
    // ignores neighbour state in IPv6 lookups then), and everything is undone.
    sh(["ip", "netns", "exec", t.pod.name, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]);
    const r = cni(t, "ADD", conf(t, { hashPolicy: "l4", failover: true }));
    expect(r.exitCode).toBe(1);
    expect(r.json.code).toBe(7);
    expect(r.json.msg).toContain("multipath.failover: IPv6 failover needs net.ipv6.conf.all.forwarding=0 in the pod (it is 1)");
    expect(sysctl(t, "net.ipv4.fib_multipath_hash_policy")).toBe("0");
    expect(sysctl(t, "net.ipv4.fib_multipath_use_neigh")).toBe("0");
    expect((ipJson(["link", "show"], t.pod.name) as any[]).map((l) => l.ifname)).toEqual(["lo"]);
    expect(existsSync(stateFile(t))).toBe(false);
  });
});

describe("source address of flows leaving via net1 (joined IPv6 defaults)", () => {
  test("kernel: a socket bound to eth0's address is hashed over every sibling, net1's too", async () => {
    topo = buildTopology({ eth0: true });
    const t = topo;
    sh(["ip", "netns", "exec", t.pod.name, "sysctl", "-qw", "net.ipv4.fib_multipath_hash_policy=1", "net.ipv6.fib_multipath_hash_policy=1"]);
    const c = conf(t, undefined, true);
    add(t, c);
    const traffic = await startTraffic(t, { seconds: 1.5, rate: 10, bind4: ETH0_4, bind6: ETH0_6 });
    const { flows } = await traffic.done;
    const v4 = spread(flowsOf(flows, "v4"));
    const v6 = spread(flowsOf(flows, "v6"));
    console.log(`bound to eth0's address: flows per router r0/r1/r2 IPv4 ${v4.join("/")}, IPv6 ${v6.join("/")}`);
    // IPv6 hashes a flow over every sibling whatever its source; IPv4 (6.18) keeps it on a
    // nexthop whose device holds the source.
    expect(v6[1] + v6[2]).toBeGreaterThan(0);
    expect(v4[1] + v4[2]).toBe(0);
    expect(cni(t, "DEL", c).exitCode).toBe(0);
    // The way out: net1's routes at their own metric never join eth0's default.
    const own = conf(t, { metric: 2048 }, true);
    const result = add(t, own);
    expect(result.routes.every((r: any) => r.priority === 2048)).toBe(true);
    const defaults = ipJson(["-6", "route", "show", "default"], t.pod.name) as any[];
    expect(defaults.map((r) => [r.metric, r.dev ?? (r.nexthops ?? []).map((n: any) => n.dev).join(",")])).toEqual([[1024, "eth0"], [2048, "net1,net1"]]);
    const again = await startTraffic(t, { seconds: 1.5, rate: 10, bind4: ETH0_4, bind6: ETH0_6 });
    const after = (await again.done).flows;
    expect(spread(flowsOf(after, "v6"))).toEqual([64, 0, 0]);
    expect(cni(t, "CHECK", { ...own, prevResult: result }).exitCode).toBe(0);
    expect(cni(t, "DEL", own).exitCode).toBe(0);
  }, 30000);

  const ETH0_6 = "2001:db8:77:2::10";
  const ETH0_4 = "10.77.2.10";
  /** Packets that reached the destination through r1/r2 (net1) carrying eth0's address. */
  const wrongVia = (flows: ReturnType<typeof flowsOf>, eth0: string, from = -Infinity, to = Infinity) =>
    flows.flat().filter((a) => a[1] !== "d0" && a[2] === eth0 && a[0] >= from && a[0] < to).length;
  const dad = (t: Topology) =>
    sh(["ip", "netns", "exec", t.pod.name, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=1", "net.ipv6.conf.default.dad_transmits=3", "net.ipv4.fib_multipath_hash_policy=1", "net.ipv6.fib_multipath_hash_policy=1"]);

  test("kernel: while net1's global address is tentative and its link-local is not, flows hashed to net1 leave with eth0's IPv6 source", async () => {
    topo = buildTopology({ eth0: true });
    const t = topo;
    dad(t);
    sh(["ip", "link", "add", `${t.parent}m`, "link", t.parent, "netns", t.pod.name, "type", "macvlan", "mode", "bridge"]);
    const p = (...a: string[]) => sh(["ip", "-n", t.pod.name, ...a]);
    p("link", "set", `${t.parent}m`, "name", "net1");
    p("addr", "add", "10.77.1.10/24", "dev", "net1");
    p("link", "set", "net1", "up");
    // The link-local address finishes DAD first (bounded wait), then the global one starts it.
    const tentative = () => (ipJson(["-6", "addr", "show", "dev", "net1"], t.pod.name) as any[])[0]?.addr_info?.some((a: any) => a.tentative) ?? true;
    for (let i = 0; i < 100 && tentative(); i++) await Bun.sleep(100);
    expect(tentative()).toBe(false);
    p("addr", "add", "2001:db8:77:1::10/64", "dev", "net1");
    p("route", "replace", "default", "nexthop", "via", "10.77.2.1", "dev", "eth0", "nexthop", "via", GW4[0], "dev", "net1", "nexthop", "via", GW4[1], "dev", "net1");
    for (const gw of GW6) p("-6", "route", "append", "default", "via", gw, "dev", "net1");
    expect(tentative()).toBe(true);
    const traffic = await startTraffic(t, { seconds: 6, rate: 10 });
    const { flows } = await traffic.done;
    expect(tentative()).toBe(false);
    const v6 = flowsOf(flows, "v6");
    const first = Math.min(...v6.flat().map((a) => a[0]));
    const early = wrongVia(v6, ETH0_6, first, first + 1.5);
    const late = wrongVia(v6, ETH0_6, first + 4.5);
    console.log(`tentative global address on net1: ${early} IPv6 packets left via net1 with eth0's source in the first 1.5 s, ${late} after DAD (flows per router r0/r1/r2 after DAD: ${spread(v6, first + 4.5).join("/")}); IPv4: ${wrongVia(flowsOf(flows, "v4"), ETH0_4)}`);
    expect(early).toBeGreaterThan(0);
    expect(late).toBe(0);
    expect(wrongVia(flowsOf(flows, "v4"), ETH0_4)).toBe(0);
  }, 30000);

  test("plugin: routes wait for DAD, so no flow leaves via net1 with eth0's source", async () => {
    topo = buildTopology({ eth0: true });
    const t = topo;
    dad(t);
    const c = conf(t, { hashPolicy: "l4" }, true);
    add(t, c);
    const traffic = await startTraffic(t, { seconds: 2, rate: 10 });
    const { flows } = await traffic.done;
    const v6 = flowsOf(flows, "v6");
    const first = Math.min(...v6.flat().map((a) => a[0]));
    // From the first second on, net1's routers carry flows (the addresses were usable at once).
    const early = spread(v6, first, first + 1);
    expect(early[1] + early[2]).toBeGreaterThan(0);
    expect(wrongVia(v6, ETH0_6)).toBe(0);
    expect(wrongVia(flowsOf(flows, "v4"), ETH0_4)).toBe(0);
    expect(cni(t, "DEL", c).exitCode).toBe(0);
  }, 30000);
});

// ipvlan + static on the VM's kernel (this machine's has no ipvlan), through dist/nexthop.
// The seed case of nexthop: an ipvlan secondary interface with two IPv4 and two IPv6 default
// gateways gives exactly one multipath default per family. Plus upstream's ipvlan test list
// (docs/upstream.md), linkInContainer false and true.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { pluginDir, runCni } from "../lib/cni";
import { createNetns, defaultRoutes, ipJson, linkNames, sh, type Netns } from "../lib/netns";

const inVm = existsSync("/run/vmtest");
const T = 60_000; // each process start is 20-50x slower under TCG

let bin: ReturnType<typeof pluginDir>;
const made: Netns[] = [];
const hostLinks: string[] = [];
beforeAll(() => {
  if (inVm) bin = pluginDir();
});
afterAll(() => bin?.dispose());
afterEach(() => {
  for (const ns of made.splice(0)) ns.delete();
  for (const l of hostLinks.splice(0)) Bun.spawnSync(["ip", "link", "del", l], { stderr: "ignore" });
});

function pod(): Netns {
  const ns = createNetns();
  made.push(ns);
  sh(["ip", "netns", "exec", ns.name, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]);
  return ns;
}

/** A dummy master in the VM's root netns (or inside `ns`). */
function master(ns?: Netns): string {
  const name = ns ? "eth1" : `nhd${Math.random().toString(16).slice(2, 10)}`;
  sh(["ip", ...(ns ? ["-n", ns.name] : []), "link", "add", name, "type", "dummy"]);
  sh(["ip", ...(ns ? ["-n", ns.name] : []), "link", "set", name, "up"]);
  if (!ns) hostLinks.push(name);
  return name;
}

function run(ns: Netns, command: string, config: unknown, ifname = "net1") {
  return runCni({ dir: bin.dir, plugin: "ipvlan", command, config, netns: ns.path, ifname });
}

const defaults = (ns: Netns, family: "-4" | "-6") => defaultRoutes(ns.name, family);

describe.skipIf(!inVm)("ipvlan: one multipath default per family (seed case)", () => {
  test("two IPv4 and two IPv6 default gateways with weights, next to eth0's defaults; DEL keeps eth0's", () => {
    const p = pod();
    const m = master();
    sh(["ip", "-n", p.name, "link", "add", "eth0", "type", "dummy"]);
    sh(["ip", "-n", p.name, "addr", "add", "192.0.2.10/24", "dev", "eth0"]);
    sh(["ip", "-n", p.name, "addr", "add", "2001:db8:0:1::10/64", "dev", "eth0", "nodad"]);
    sh(["ip", "-n", p.name, "link", "set", "eth0", "up"]);
    sh(["ip", "-n", p.name, "route", "add", "default", "via", "192.0.2.1", "dev", "eth0"]);
    sh(["ip", "-n", p.name, "-6", "route", "add", "default", "via", "2001:db8:0:1::1", "dev", "eth0"]);
    const conf = {
      cniVersion: "1.1.0", name: "seed", type: "ipvlan", master: m, mode: "l2",
      ipam: {
        type: "static",
        addresses: [{ address: "198.51.100.10/24" }, { address: "2001:db8:a::10/64" }],
        routes: [
          { dst: "0.0.0.0/0", gws: [{ gw: "198.51.100.1", weight: 1 }, { gw: "198.51.100.2", weight: 3 }] },
          { dst: "::/0", gws: [{ gw: "2001:db8:a::1", weight: 2 }, "2001:db8:a::2"] },
        ],
      },
    };
    const add = run(p, "ADD", conf);
    expect(add.stderr).toBe("");
    expect(add.exitCode).toBe(0);
    expect(defaults(p, "-4")).toEqual([{ nexthops: [
      { gateway: "192.0.2.1", dev: "eth0", weight: 1 },
      { gateway: "198.51.100.1", dev: "net1", weight: 1 },
      { gateway: "198.51.100.2", dev: "net1", weight: 3 },
    ] }]);
    expect(defaults(p, "-6")).toEqual([{ nexthops: [
      { gateway: "2001:db8:0:1::1", dev: "eth0", weight: 1 },
      { gateway: "2001:db8:a::1", dev: "net1", weight: 2 },
      { gateway: "2001:db8:a::2", dev: "net1", weight: 1 },
    ] }]);
    const check = run(p, "CHECK", { ...conf, prevResult: add.json });
    expect([check.exitCode, check.stdout]).toEqual([0, ""]);
    expect(run(p, "DEL", conf).exitCode).toBe(0);
    expect(defaults(p, "-4")).toEqual([{ gateway: "192.0.2.1", dev: "eth0" }]);
    expect(defaults(p, "-6")).toEqual([{ gateway: "2001:db8:0:1::1", dev: "eth0" }]);
    expect(linkNames(p.name)).toEqual(["eth0", "lo"]);
  }, T);

  test("kernel fact: deleting a device removes a whole IPv4 multipath route (why DEL detaches first)", () => {
    // The kernel fact the DEL ordering exists for: deleting a device removes a whole IPv4
    // multipath route, including eth0's nexthop (docs/kernel.md §5).
    const p = pod();
    sh(["ip", "-n", p.name, "link", "add", "eth0", "type", "dummy"]);
    sh(["ip", "-n", p.name, "link", "add", "d1", "type", "dummy"]);
    sh(["ip", "-n", p.name, "addr", "add", "192.0.2.10/24", "dev", "eth0"]);
    sh(["ip", "-n", p.name, "addr", "add", "198.51.100.10/24", "dev", "d1"]);
    sh(["ip", "-n", p.name, "link", "set", "eth0", "up"]);
    sh(["ip", "-n", p.name, "link", "set", "d1", "up"]);
    sh(["ip", "-n", p.name, "route", "add", "default", "nexthop", "via", "192.0.2.1", "dev", "eth0", "nexthop", "via", "198.51.100.1", "dev", "d1"]);
    sh(["ip", "-n", p.name, "link", "del", "d1"]);
    expect(defaults(p, "-4")).toEqual([]);
  }, T);
});

for (const linkInContainer of [false, true]) {
  describe.skipIf(!inVm)(`ipvlan upstream cases [1.0.0] linkInContainer=${linkInContainer}`, () => {
    const base = (p: Netns) => ({
      cniVersion: "1.0.0", name: "mynet", type: "ipvlan", master: linkInContainer ? master(p) : master(),
      linkInContainer,
    });
    const hostLocal = { type: "host-local", subnet: "10.1.2.0/24", dataDir: "/tmp/nh-host-local" };

    test("creates an ipvlan link in a non-default namespace", () => {
      const p = pod();
      const r = run(p, "ADD", { ...base(p), ipam: { type: "static", addresses: [{ address: "10.1.2.2/24" }] } }, "foobar0");
      expect(r.exitCode).toBe(0);
      const l = (ipJson(["-d", "link", "show", "foobar0"], p.name) as any[])[0];
      expect(l.linkinfo.info_kind).toBe("ipvlan");
    }, T);

    test.skipIf(!existsSync("/usr/lib/cni/host-local"))("configures and deconfigures an ipvlan link with ADD/CHECK/DEL (host-local)", () => {
      const p = pod();
      const conf = { ...base(p), ipam: hostLocal };
      const add = runCni({ dir: bin.dir, cniPath: `${bin.dir}:/usr/lib/cni`, plugin: "ipvlan", command: "ADD", config: conf, netns: p.path, ifname: "eth0", containerId: `c${p.name}` });
      expect(add.stderr).toBe("");
      expect(add.exitCode).toBe(0);
      expect(add.json.interfaces).toHaveLength(1);
      expect(add.json.ips).toHaveLength(1);
      const l = (ipJson(["-d", "addr", "show", "eth0"], p.name) as any[])[0];
      expect(l.address).toBe(add.json.interfaces[0].mac);
      expect(l.addr_info.filter((a: any) => a.family === "inet")).toHaveLength(1);
      const check = runCni({ dir: bin.dir, cniPath: `${bin.dir}:/usr/lib/cni`, plugin: "ipvlan", command: "CHECK", config: { ...conf, prevResult: add.json }, netns: p.path, ifname: "eth0", containerId: `c${p.name}` });
      expect([check.exitCode, check.stdout]).toEqual([0, ""]);
      const del = runCni({ dir: bin.dir, cniPath: `${bin.dir}:/usr/lib/cni`, plugin: "ipvlan", command: "DEL", config: conf, netns: p.path, ifname: "eth0", containerId: `c${p.name}` });
      expect(del.exitCode).toBe(0);
      expect(linkNames(p.name)).toEqual(linkInContainer ? ["eth1", "lo"] : ["lo"]);
    }, T);

    test("configures and deconfigures an ipvlan link with ADD/DEL when chained", () => {
      const p = pod();
      const m = linkInContainer ? master(p) : master();
      const conf = {
        cniVersion: "1.0.0", name: "mynet", type: "ipvlan", linkInContainer,
        prevResult: {
          cniVersion: "1.0.0", interfaces: [{ name: m }],
          ips: [{ address: "10.1.2.2/24", gateway: "10.1.2.1", interface: 0 }], routes: [],
        },
      };
      const add = run(p, "ADD", conf, "eth0");
      expect(add.stderr).toBe("");
      expect(add.exitCode).toBe(0);
      expect(add.json.interfaces).toEqual([{ name: "eth0", mac: expect.any(String), sandbox: p.path }]);
      expect(add.json.ips).toEqual([{ address: "10.1.2.2/24", gateway: "10.1.2.1", interface: 0 }]);
      const check = run(p, "CHECK", { ...conf, prevResult: add.json }, "eth0");
      expect([check.exitCode, check.stdout]).toEqual([0, ""]);
      expect(run(p, "DEL", conf, "eth0").exitCode).toBe(0);
      expect(linkNames(p.name)).not.toContain("eth0");
    }, T);

    test("deconfigures an unconfigured ipvlan link with DEL", () => {
      const p = pod();
      const r = run(p, "DEL", { ...base(p), ipam: { type: "static", addresses: [{ address: "10.1.2.2/24" }] } }, "eth0");
      expect([r.exitCode, r.stdout]).toEqual([0, ""]);
    }, T);

    test("configures and deconfigures an ipvlan link with ADD/DEL, without master config", () => {
      const p = pod();
      // The default route's device becomes the master: in the VM's root netns, or in the pod.
      const where = linkInContainer ? p : undefined;
      const m = master(where);
      const ipn = (...a: string[]) => sh(["ip", ...(where ? ["-n", where.name] : []), ...a]);
      ipn("addr", "add", "192.0.0.1/24", "dev", m);
      ipn("route", "add", "default", "via", "192.0.0.254", "dev", m);
      try {
        const conf = { cniVersion: "1.0.0", name: "mynet", type: "ipvlan", linkInContainer, ipam: { type: "static", addresses: [{ address: "10.1.2.2/24" }] } };
        const add = run(p, "ADD", conf, "eth0");
        expect(add.stderr).toBe("");
        expect(add.exitCode).toBe(0);
        const l = (ipJson(["-d", "link", "show", "eth0"], p.name) as any[])[0];
        expect(l.linkinfo.info_kind).toBe("ipvlan");
        expect(run(p, "DEL", conf, "eth0").exitCode).toBe(0);
      } finally {
        if (!where) Bun.spawnSync(["ip", "route", "del", "default", "via", "192.0.0.254"], { stderr: "ignore" });
      }
    }, T);
  });
}

describe.skipIf(!inVm)("ipvlan: the multipath option (docs/multipath.md) on the VM's kernel", () => {
  test("hashPolicy and failover: sysctls, managed entries for every gateway, CHECK, DEL restores", () => {
    const p = pod();
    const m = master();
    const conf = {
      cniVersion: "1.1.0", name: "mp", type: "ipvlan", master: m, mode: "l2",
      multipath: { hashPolicy: "l4", failover: true },
      ipam: {
        type: "static",
        addresses: [{ address: "198.51.100.10/24" }, { address: "2001:db8:a::10/64" }],
        routes: [{ dst: "0.0.0.0/0", gws: ["198.51.100.1", "198.51.100.2"] }, { dst: "::/0", gws: ["2001:db8:a::1", "2001:db8:a::2"] }],
      },
    };
    const sysctl = (k: string) => sh(["ip", "netns", "exec", p.name, "sysctl", "-n", k]).trim();
    const add = run(p, "ADD", conf);
    expect(add.stdout).toContain('"interfaces"');
    expect(add.exitCode).toBe(0);
    expect([sysctl("net.ipv4.fib_multipath_hash_policy"), sysctl("net.ipv6.fib_multipath_hash_policy"), sysctl("net.ipv4.fib_multipath_use_neigh")]).toEqual(["1", "1", "1"]);
    const managed = (ipJson(["neigh", "show", "dev", "net1"], p.name) as any[]).filter((n) => "managed" in n).map((n) => n.dst).sort();
    expect(managed).toEqual(["198.51.100.1", "198.51.100.2", "2001:db8:a::1", "2001:db8:a::2"]);
    expect(run(p, "CHECK", { ...conf, prevResult: JSON.parse(add.stdout) }).exitCode).toBe(0);
    expect(run(p, "DEL", conf).exitCode).toBe(0);
    expect([sysctl("net.ipv4.fib_multipath_hash_policy"), sysctl("net.ipv4.fib_multipath_use_neigh")]).toEqual(["0", "0"]);
  }, T);
});

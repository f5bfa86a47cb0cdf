// macvlan + static on this machine's kernel (macvlan over a veth parent), through dist/nexthop.
// Kernel state is read with `ip -j` and compared as structures.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultRoutes, ipJson, linkNames, sh, type Netns } from "../lib/netns";
import { pluginDir, runCni } from "../lib/cni";
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

const setup = (opts: { eth0?: boolean; dad?: boolean } = {}): Pod => macvlanPod(made, opts);

function conf(p: Pod, extra: Record<string, unknown> = {}, routes?: unknown[]) {
  return {
    cniVersion: "1.1.0",
    name: "nh-test",
    type: "macvlan",
    master: p.parent,
    ...extra,
    ipam: {
      type: "static",
      addresses: [
        { address: "198.51.100.10/24", gateway: "198.51.100.1" },
        { address: "203.0.113.10/24", gateway: "203.0.113.1" },
        { address: "2001:db8:a::10/64", gateway: "2001:db8:a::1" },
      ],
      routes: routes ?? [
        { dst: "0.0.0.0/0", gw: "198.51.100.1" },
        { dst: "0.0.0.0/0", gw: "203.0.113.1" },
        { dst: "::/0", gw: "2001:db8:a::1" },
        { dst: "::/0", gw: "2001:db8:a::2" },
      ],
    },
  };
}

function cni(p: Pod, command: string, config: unknown, ifname = "net1") {
  return runCni({ dir: bin.dir, plugin: "macvlan", command, config, netns: p.pod.path, ifname });
}

const defaults = (p: Pod, family: "-4" | "-6") => defaultRoutes(p.pod.name, family);
const links = (p: Pod) => linkNames(p.pod.name);

describe("macvlan ADD: one multipath route per family", () => {
  test("same-destination routes become one multipath default in IPv4 and IPv6", () => {
    const p = setup();
    const r = cni(p, "ADD", conf(p));
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(defaults(p, "-4")).toEqual([{ nexthops: [
      { gateway: "198.51.100.1", dev: "net1", weight: 1 },
      { gateway: "203.0.113.1", dev: "net1", weight: 1 },
    ] }]);
    expect(defaults(p, "-6")).toEqual([{ nexthops: [
      { gateway: "2001:db8:a::1", dev: "net1", weight: 1 },
      { gateway: "2001:db8:a::2", dev: "net1", weight: 1 },
    ] }]);
    // The result keeps one standard route entry per nexthop (libcni parses nothing else).
    expect(r.json.routes).toEqual([
      { dst: "0.0.0.0/0", gw: "198.51.100.1" },
      { dst: "0.0.0.0/0", gw: "203.0.113.1" },
      { dst: "::/0", gw: "2001:db8:a::1" },
      { dst: "::/0", gw: "2001:db8:a::2" },
    ]);
    expect(r.json.interfaces[0]).toMatchObject({ name: "net1", sandbox: p.pod.path });
    expect(r.json.ips.map((i: any) => i.interface)).toEqual([0, 0, 0]);
  });

  test("gws with weights, both families", () => {
    const p = setup();
    const r = cni(p, "ADD", conf(p, {}, [
      { dst: "0.0.0.0/0", gws: ["198.51.100.1", { gw: "203.0.113.1", weight: 3 }] },
      { dst: "::/0", gw: "2001:db8:a::1", gws: [{ gw: "2001:db8:a::2", weight: 2 }] },
    ]));
    expect(r.exitCode).toBe(0);
    expect(defaults(p, "-4")).toEqual([{ nexthops: [
      { gateway: "198.51.100.1", dev: "net1", weight: 1 },
      { gateway: "203.0.113.1", dev: "net1", weight: 3 },
    ] }]);
    expect(defaults(p, "-6")).toEqual([{ nexthops: [
      { gateway: "2001:db8:a::1", dev: "net1", weight: 1 },
      { gateway: "2001:db8:a::2", dev: "net1", weight: 2 },
    ] }]);
  });

  test("new nexthops join the pod's existing eth0 default in both families; DEL leaves eth0's", () => {
    const p = setup({ eth0: true });
    expect(cni(p, "ADD", conf(p)).exitCode).toBe(0);
    expect(defaults(p, "-4")).toEqual([{ nexthops: [
      { gateway: "192.0.2.1", dev: "eth0", weight: 1 },
      { gateway: "198.51.100.1", dev: "net1", weight: 1 },
      { gateway: "203.0.113.1", dev: "net1", weight: 1 },
    ] }]);
    expect(defaults(p, "-6")).toEqual([{ nexthops: [
      { gateway: "2001:db8:0:1::1", dev: "eth0", weight: 1 },
      { gateway: "2001:db8:a::1", dev: "net1", weight: 1 },
      { gateway: "2001:db8:a::2", dev: "net1", weight: 1 },
    ] }]);
    const del = cni(p, "DEL", conf(p));
    expect(del.exitCode).toBe(0);
    expect(defaults(p, "-4")).toEqual([{ gateway: "192.0.2.1", dev: "eth0" }]);
    expect(defaults(p, "-6")).toEqual([{ gateway: "2001:db8:0:1::1", dev: "eth0" }]);
    expect(links(p)).toEqual(["eth0", "lo"]);
  });

  test('"ecmp": "upstream" keeps upstream\'s behaviour: separate IPv4 routes, last first; IPv6 merged', () => {
    const p = setup();
    expect(cni(p, "ADD", conf(p, { ecmp: "upstream" })).exitCode).toBe(0);
    expect(defaults(p, "-4")).toEqual([
      { gateway: "203.0.113.1", dev: "net1" },
      { gateway: "198.51.100.1", dev: "net1" },
    ]);
    expect(defaults(p, "-6")).toEqual([{ nexthops: [
      { gateway: "2001:db8:a::1", dev: "net1", weight: 1 },
      { gateway: "2001:db8:a::2", dev: "net1", weight: 1 },
    ] }]);
    expect(cni(p, "DEL", conf(p, { ecmp: "upstream" })).exitCode).toBe(0);
    expect(links(p)).toEqual(["lo"]);
  });

  test("IPv6 DAD is waited for through notifications (DAD on)", () => {
    const p = setup({ dad: true });
    const r = cni(p, "ADD", conf(p));
    expect(r.exitCode).toBe(0);
    // iproute2 may add lifetime-only objects to addr_info; only address entries count.
    const addrs = (ipJson(["-6", "addr", "show", "dev", "net1", "scope", "global"], p.pod.name) as any[])[0].addr_info.filter((a: any) => a.local);
    expect(addrs.map((a: any) => [a.local, a.tentative ?? false])).toEqual([["2001:db8:a::10", false]]);
  });
});

describe("macvlan ADD is all-or-nothing", () => {
  test("a route the kernel refuses: error names the step and the kernel's reason; nothing is left", () => {
    const p = setup({ eth0: true });
    const before4 = defaults(p, "-4");
    const r = cni(p, "ADD", conf(p, {}, [
      { dst: "0.0.0.0/0", gw: "198.51.100.1" },
      { dst: "10.9.0.0/16", gw: "192.168.77.1" },
    ]));
    expect(r.exitCode).toBe(1);
    expect(r.json.code).toBe(999);
    expect(r.json.msg).toStartWith("failed to add route '10.9.0.0/16 via 192.168.77.1 dev net1");
    expect(r.json.msg).toContain("Network is unreachable");
    expect(links(p)).toEqual(["eth0", "lo"]);
    expect(defaults(p, "-4")).toEqual(before4);
  });

  test.each([
    ["gateway of another family", { routes: [{ dst: "0.0.0.0/0", gw: "2001:db8:a::1" }] }, 7, 'ipam.routes[0].gw: gateway "2001:db8:a::1" is IPv6 but dst "0.0.0.0/0" is IPv4'],
    ["gws mixing families", { routes: [{ dst: "0.0.0.0/0", gws: ["198.51.100.1", "2001:db8:a::1"] }] }, 7, "gws"],
    ["duplicate gateways", { routes: [{ dst: "0.0.0.0/0", gws: ["198.51.100.1", "198.51.100.1"] }] }, 7, "duplicate"],
    ["weight out of range", { routes: [{ dst: "0.0.0.0/0", gws: [{ gw: "198.51.100.1", weight: 0 }] }] }, 7, "weight"],
    ["table out of range", { routes: [{ dst: "10.0.0.0/8", gw: "198.51.100.1", table: 4294967296 }] }, 7, "ipam.routes[0].table: 4294967296"],
    // Upstream's static fails decoding with a plain error (code 999); the message names the field.
    ["malformed CIDR", { routes: [{ dst: "10.0.0.0/99", gw: "198.51.100.1" }] }, 999, "ipam.routes[0].dst: invalid CIDR address: 10.0.0.0/99"],
  ])("bad route input: %s", (_name, ipamRoutes, code, text) => {
    const p = setup();
    const c = conf(p, {}, (ipamRoutes as any).routes);
    const r = cni(p, "ADD", c);
    expect(r.exitCode).toBe(1);
    expect(r.json.code).toBe(code);
    expect(r.json.msg).toContain(text);
    expect(links(p)).toEqual(["lo"]);
  });

  test("IPAM DEL runs when IPAM ADD fails and when a later step fails; its error code passes through", () => {
    const p = setup({ eth0: true });
    const dir = mkdtempSync(join(tmpdir(), "nh-fake-ipam-"));
    try {
      const calls = join(dir, "calls");
      // An exec'd IPAM (not one of nexthop's): logs every command; fails ADD when asked to; its
      // route has an unreachable gateway, so the route step fails after IPAM ADD succeeded.
      writeFileSync(join(dir, "nh-fake-ipam"), `#!/bin/sh
echo "$CNI_COMMAND" >> ${calls}
cat > /dev/null
if [ "$CNI_COMMAND" = ADD ]; then
  if [ -n "$NH_FAKE_FAIL" ]; then echo '{"code":11,"msg":"pool exhausted"}'; exit 1; fi
  echo '{"cniVersion":"1.0.0","ips":[{"address":"198.51.100.10/24"}],"routes":[{"dst":"10.9.0.0/16","gw":"192.168.77.1"}]}'
fi
`, { mode: 0o755 });
      const c = { ...conf(p), ipam: { type: "nh-fake-ipam" } };
      const run = (env: Record<string, string>) =>
        runCni({ dir: bin.dir, cniPath: `${bin.dir}:${dir}`, plugin: "macvlan", command: "ADD", config: c, netns: p.pod.path, extraEnv: env });
      const failed = run({ NH_FAKE_FAIL: "1" });
      expect(failed.json).toEqual({ code: 11, msg: "pool exhausted" });
      expect(readFileSync(calls, "utf8").split("\n").filter(Boolean)).toEqual(["ADD", "DEL"]);
      expect(links(p)).toEqual(["eth0", "lo"]);
      rmSync(calls);
      const routeFails = run({});
      expect(routeFails.json.msg).toStartWith("failed to add route '10.9.0.0/16 via 192.168.77.1 dev net1");
      expect(readFileSync(calls, "utf8").split("\n").filter(Boolean)).toEqual(["ADD", "DEL"]);
      expect(links(p)).toEqual(["eth0", "lo"]);
      expect(defaults(p, "-4")).toEqual([{ gateway: "192.0.2.1", dev: "eth0" }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("unknown mode", () => {
    const p = setup();
    const r = cni(p, "ADD", conf(p, { mode: "fancy" }));
    expect(r.json).toEqual({ code: 999, msg: 'unknown macvlan mode: "fancy"' });
    expect(links(p)).toEqual(["lo"]);
  });

  test("absent master", () => {
    const p = setup();
    const r = cni(p, "ADD", conf(p, { master: "nh-nosuchdev" }));
    expect(r.exitCode).toBe(1);
    expect(r.json.msg).toBe('failed to lookup master "nh-nosuchdev": Link not found');
    expect(links(p)).toEqual(["lo"]);
  });

  test("missing master: no master configured and no default route to take one from", () => {
    const p = setup();
    const r = cni(p, "ADD", { ...conf(p, { linkInContainer: true }), master: undefined });
    expect(r.exitCode).toBe(1);
    expect(r.json).toEqual({ code: 999, msg: "no default route interface found" });
    expect(links(p)).toEqual(["lo"]);
  });

  test("interface name already taken in the netns", () => {
    const p = setup({ eth0: true });
    const r = cni(p, "ADD", conf(p), "eth0");
    expect(r.exitCode).toBe(1);
    expect(r.json.code).toBe(4);
    expect(r.json.msg).toContain('CNI_IFNAME "eth0"');
    expect(links(p)).toEqual(["eth0", "lo"]);
  });
});

describe("macvlan CHECK and DEL", () => {
  test("CHECK passes on what ADD made and fails when a nexthop is gone", () => {
    const p = setup();
    const c = conf(p);
    const add = cni(p, "ADD", c);
    expect(add.exitCode).toBe(0);
    const chained = { ...c, prevResult: add.json };
    const ok = cni(p, "CHECK", chained);
    expect([ok.exitCode, ok.stdout]).toEqual([0, ""]);
    sh(["ip", "-n", p.pod.name, "route", "replace", "default", "via", "198.51.100.1", "dev", "net1"]);
    const bad = cni(p, "CHECK", chained);
    expect(bad.exitCode).toBe(1);
    expect(bad.json.msg).toContain("Expected Route 0.0.0.0/0");
  });

  test("CHECK accepts a prevResult that carries the multipath route as gws (cni #1190)", () => {
    const p = setup();
    const c = conf(p);
    const add = cni(p, "ADD", c);
    expect(add.exitCode).toBe(0);
    const withGws = { ...add.json, routes: [
      { dst: "0.0.0.0/0", gws: ["198.51.100.1", "203.0.113.1"] },
      { dst: "::/0", gw: "2001:db8:a::1", gws: ["2001:db8:a::2"] },
    ] };
    const ok = cni(p, "CHECK", { ...c, prevResult: withGws });
    expect([ok.exitCode, ok.stdout]).toEqual([0, ""]);
    const missing = { ...withGws, routes: [{ dst: "0.0.0.0/0", gws: ["198.51.100.1"] }, withGws.routes[1]] };
    expect(cni(p, "CHECK", { ...c, prevResult: missing }).json.msg).toBe(
      "Expected Route 0.0.0.0/0 (table 254) via [198.51.100.1] dev net1, kernel has [198.51.100.1, 203.0.113.1]",
    );
  });

  test("CHECK fails like upstream on a different MAC, a missing master and an MTU above the master's", () => {
    const p = setup();
    const c = conf(p);
    const add = cni(p, "ADD", c);
    expect(add.exitCode).toBe(0);
    const mac = add.json.interfaces[0].mac;
    const other = mac === "02:00:00:00:00:01" ? "02:00:00:00:00:02" : "02:00:00:00:00:01";
    const wrongMac = { ...add.json, interfaces: [{ ...add.json.interfaces[0], mac: other }] };
    expect(cni(p, "CHECK", { ...c, prevResult: wrongMac }).json.msg).toBe(`interface net1 Mac ${other} doesn't match container Mac: ${mac}`);
    expect(cni(p, "CHECK", { ...c, master: "nh-nosuch0", prevResult: add.json }).json.msg).toBe('failed to lookup master "nh-nosuch0": Link not found');
    expect(cni(p, "CHECK", { ...c, mtu: 9999, prevResult: add.json }).json.msg).toBe("invalid MTU 9999, must be [0, master MTU(1500)]");
  });

  test("DEL is idempotent and succeeds when the netns is gone", () => {
    const p = setup();
    const c = conf(p);
    expect(cni(p, "ADD", c).exitCode).toBe(0);
    expect(cni(p, "DEL", c).exitCode).toBe(0);
    expect(cni(p, "DEL", c).exitCode).toBe(0);
    expect(links(p)).toEqual(["lo"]);
    p.pod.delete();
    expect(cni(p, "DEL", c).exitCode).toBe(0);
  });

  test("master defaults to the device of a multipath default route (linkInContainer)", () => {
    const p = setup({ eth0: true });
    sh(["ip", "-n", p.pod.name, "route", "replace", "default", "nexthop", "via", "192.0.2.1", "dev", "eth0", "nexthop", "via", "192.0.2.2", "dev", "eth0"]);
    const c = { ...conf(p, { linkInContainer: true }), master: undefined };
    const r = cni(p, "ADD", c);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    const net1 = (ipJson(["-d", "link", "show", "net1"], p.pod.name) as any[])[0];
    expect(net1.linkinfo.info_kind).toBe("macvlan");
    expect(net1.link).toBe("eth0");
  });
});

describe("macvlan STATUS and GC go to IPAM", () => {
  test.each(["STATUS", "GC"])("%s is forwarded to the IPAM plugin named in the config", (command) => {
    const base = { cniVersion: "1.1.0", name: "nh-test", type: "macvlan", "cni.dev/valid-attachments": [] };
    const ok = runCni({ dir: bin.dir, plugin: "macvlan", command, config: { ...base, ipam: { type: "static" } } });
    expect([ok.exitCode, ok.stdout]).toEqual([0, ""]);
    const missing = runCni({ dir: bin.dir, plugin: "macvlan", command, config: { ...base, ipam: { type: "nh-nosuch" } } });
    expect(missing.exitCode).toBe(1);
    expect(missing.json.msg).toBe(`failed to find plugin "nh-nosuch" in path [${bin.dir}]`);
  });
});

describe("other devices' routes keep everything they had", () => {
  /** Full `ip -j -d` objects of a route listing, minus the kernel's live flags. */
  const full = (p: Pod, args: string[]) => ipJson(["-d", ...args], p.pod.name);

  test("joining eth0's default keeps its src, onlink, protocol and metrics; DEL restores it exactly", () => {
    const p = setup({ eth0: true });
    sh(["ip", "-n", p.pod.name, "route", "replace", "default", "via", "169.254.1.1", "dev", "eth0", "onlink", "src", "192.0.2.10", "proto", "static", "mtu", "1400", "initcwnd", "10"]);
    const before = full(p, ["-4", "route", "show", "default"]);
    const c = conf(p, {}, [{ dst: "0.0.0.0/0", gw: "198.51.100.1" }]);
    const add = cni(p, "ADD", c);
    expect(add.stderr).toBe("");
    expect(add.exitCode).toBe(0);
    const [joined] = full(p, ["-4", "route", "show", "default"]) as any[];
    expect(joined).toMatchObject({ protocol: "static", prefsrc: "192.0.2.10", metrics: [{ mtu: 1400, initcwnd: 10 }] });
    expect(joined.nexthops.map((n: any) => [n.gateway, n.dev, n.flags.includes("onlink")])).toEqual([
      ["169.254.1.1", "eth0", true],
      ["198.51.100.1", "net1", false],
    ]);
    expect(cni(p, "DEL", c).exitCode).toBe(0);
    expect(full(p, ["-4", "route", "show", "default"])).toEqual(before);
  });

  test("a route of another scope in the same IPv4 slot is not replaced: clear error, nothing changed", () => {
    const p = setup({ eth0: true });
    sh(["ip", "-n", p.pod.name, "route", "add", "10.9.0.0/16", "dev", "eth0", "scope", "link"]);
    sh(["ip", "-n", p.pod.name, "route", "append", "10.9.0.0/16", "via", "192.0.2.1", "dev", "eth0"]);
    const before = full(p, ["-4", "route", "show", "10.9.0.0/16"]);
    const r = cni(p, "ADD", conf(p, {}, [{ dst: "10.9.0.0/16", gw: "198.51.100.1" }]));
    expect(r.exitCode).toBe(1);
    expect(r.json.code).toBe(7);
    expect(r.json.msg).toContain("cannot join route 10.9.0.0/16 table 254 metric 0 scope 0: the kernel holds a route of type 1, scope 253");
    expect(full(p, ["-4", "route", "show", "10.9.0.0/16"])).toEqual(before);
    expect(links(p)).toEqual(["eth0", "lo"]);
  });

  test("a route using a nexthop object is never rewritten", () => {
    const p = setup({ eth0: true });
    sh(["ip", "-n", p.pod.name, "nexthop", "add", "id", "10", "via", "192.0.2.1", "dev", "eth0"]);
    sh(["ip", "-n", p.pod.name, "route", "replace", "default", "nhid", "10"]);
    const before = full(p, ["-4", "route", "show", "default"]);
    const r = cni(p, "ADD", conf(p, {}, [{ dst: "0.0.0.0/0", gw: "198.51.100.1" }]));
    expect(r.json.code).toBe(7);
    expect(r.json.msg).toContain("attributes nexthop cannot write back");
    expect(full(p, ["-4", "route", "show", "default"])).toEqual(before);
    expect(links(p)).toEqual(["eth0", "lo"]);
  });

  test("an IPv6 route with a scope in the config passes CHECK (the kernel keeps no IPv6 scope)", () => {
    const p = setup();
    const c = conf(p, {}, [{ dst: "2001:db8:9::/48", gw: "2001:db8:a::1", scope: 253 }]);
    const add = cni(p, "ADD", c);
    expect(add.exitCode).toBe(0);
    const check = cni(p, "CHECK", { ...c, prevResult: add.json });
    expect([check.exitCode, check.stdout]).toEqual([0, ""]);
  });
});

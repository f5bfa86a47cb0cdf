// vrf on the VM's kernel (this machine's has no vrf), through dist/nexthop: upstream's test list
// (dummies, as upstream's vrf_test.go), the multipath migration of upstream #1253 in both
// families with real traffic through a router namespace, weights, several interfaces and VRFs,
// table reuse under net.vrf.strict_mode 0 and 1, DEL semantics, bad input, and fault injection at
// every step of ADD (state compared as structured kernel state).
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pluginDir, repo, runCni } from "../lib/cni";
import { createNetns, ipJson, sh, type Netns } from "../lib/netns";
import { vrfAdd } from "../../src/plugins/vrf";

const inVm = existsSync("/run/vmtest");
const T = 90_000; // each process start is 20-50x slower under TCG

let bin: ReturnType<typeof pluginDir>;
let work: string;
const made: Netns[] = [];
const hostLinks: string[] = [];
beforeAll(() => {
  if (!inVm) return;
  bin = pluginDir();
  work = mkdtempSync(join(tmpdir(), "nh-vrf-"));
});
afterAll(() => {
  bin?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});
afterEach(() => {
  for (const ns of made.splice(0)) ns.delete();
  for (const l of hostLinks.splice(0)) Bun.spawnSync(["ip", "link", "del", l], { stderr: "ignore" });
});

function netns(): Netns {
  const ns = createNetns();
  made.push(ns);
  sh(["ip", "netns", "exec", ns.name, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]);
  return ns;
}

const ip = (ns: Netns, ...a: string[]) => sh(["ip", "-n", ns.name, ...a]);

function vrf(ns: Netns, command: string, config: object, ifname = "net1") {
  return runCni({ dir: bin.dir, plugin: "vrf", command, config, netns: ns.path, ifname });
}

/** Links, addresses and every table's routes of both families, as structures. */
function state(ns: Netns) {
  const links = (ipJson(["-d", "link", "show"], ns.name) as any[])
    .map((l) => ({ name: l.ifname, master: l.master ?? null, kind: l.linkinfo?.info_kind ?? null, table: l.linkinfo?.info_data?.table ?? null, up: l.flags.includes("UP") }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const addrs = (ipJson(["addr", "show"], ns.name) as any[]).flatMap((l) => l.addr_info.map((a: any) => `${l.ifname} ${a.local}/${a.prefixlen} ${a.scope}`)).sort();
  const routes = ["-4", "-6"].flatMap((f) =>
    (ipJson([f, "route", "show", "table", "all"], ns.name) as any[]).map((r) => {
      delete r.expires;
      return JSON.stringify(r);
    }),
  ).sort();
  return { links, addrs, routes };
}

/** Routes of one table and family as {dst, gateway, dev} or {dst, nexthops}. */
function table(ns: Netns, family: "-4" | "-6", t: number | string) {
  return (ipJson([family, "route", "show", "table", String(t)], ns.name) as any[])
    .filter((r) => r.protocol !== "kernel" && r.type !== "local" && r.type !== "broadcast" && r.type !== "multicast")
    .map((r) => r.nexthops
      ? { dst: r.dst, nexthops: r.nexthops.map((n: any) => ({ gateway: n.gateway, dev: n.dev, weight: n.weight })) }
      : { dst: r.dst, gateway: r.gateway, dev: r.dev });
}

const master = (ns: Netns, dev: string) => (ipJson(["link", "show", dev], ns.name) as any[])[0]?.master;
const linkKinds = (ns: Netns) => state(ns).links.map((l) => `${l.name}:${l.kind}`);

/** Upstream's fixture: dummy0/dummy1 up in the pod, a 0.3.1 config with a one-address prevResult. */
function upstreamPod(): Netns {
  const p = netns();
  for (const d of ["dummy0", "dummy1"]) {
    ip(p, "link", "add", d, "type", "dummy");
    ip(p, "link", "set", d, "up");
  }
  return p;
}
const upstreamConf = (vrfName: string, ifname: string, extra: object = {}) => ({
  cniVersion: "0.3.1", name: "testnet", type: "vrf", vrfName, ...extra,
  prevResult: { cniVersion: "0.3.1", interfaces: [{ name: ifname }], ips: [{ version: "4", address: "10.0.0.2/24", gateway: "10.0.0.1", interface: 0 }], routes: [] },
});

describe.skipIf(!inVm)("vrf: upstream's test list (vrf_test.go)", () => {
  test("passes prevResult through unchanged", () => {
    const p = upstreamPod();
    const r = vrf(p, "ADD", upstreamConf("vrf0", "dummy0"), "dummy0");
    expect([r.exitCode, r.stderr]).toEqual([0, ""]);
    expect(r.json).toEqual({ cniVersion: "0.3.1", interfaces: [{ name: "dummy0" }], ips: [{ version: "4", address: "10.0.0.2/24", gateway: "10.0.0.1", interface: 0 }], dns: {} });
  }, T);

  test("configures a VRF and adds the interface to it; the VRF is up and not in the result", () => {
    const p = upstreamPod();
    expect(vrf(p, "ADD", upstreamConf("vrf0", "dummy0"), "dummy0").exitCode).toBe(0);
    expect(master(p, "dummy0")).toBe("vrf0");
    const v = state(p).links.find((l) => l.name === "vrf0")!;
    expect([v.kind, v.up, v.table]).toEqual(["vrf", true, 1]);
  }, T);

  test("adds the interface and custom routing (with src) to a new VRF", () => {
    const p = upstreamPod();
    ip(p, "addr", "add", "10.0.0.2/24", "dev", "dummy0");
    ip(p, "addr", "add", "abcd:1234:ffff::cdde/64", "dev", "dummy0");
    ip(p, "route", "add", "10.10.10.0/24", "via", "10.0.0.1", "src", "10.0.0.2");
    ip(p, "-6", "route", "add", "1111:dddd::/80", "via", "abcd:1234:ffff::1", "src", "abcd:1234:ffff::cdde");
    const r = vrf(p, "ADD", upstreamConf("vrf0", "dummy0"), "dummy0");
    expect([r.exitCode, r.stderr]).toEqual([0, ""]);
    const v4 = ipJson(["-4", "route", "show", "table", "1"], p.name) as any[];
    const v6 = ipJson(["-6", "route", "show", "table", "1"], p.name) as any[];
    expect(v4.find((x) => x.dst === "10.10.10.0/24")).toMatchObject({ gateway: "10.0.0.1", dev: "dummy0", prefsrc: "10.0.0.2" });
    expect(v6.find((x) => x.dst === "1111:dddd::/80")).toMatchObject({ gateway: "abcd:1234:ffff::1", dev: "dummy0", prefsrc: "abcd:1234:ffff::cdde" });
    expect([...v4, ...v6].every((x) => x.dev === "dummy0")).toBe(true);
    // The global IPv6 address the enslave flushed (keep_addr_on_down is 0 here) is back.
    expect(state(p).addrs).toContain("dummy0 abcd:1234:ffff::cdde/64 global");
    // Nothing through dummy0 is left in main.
    expect(table(p, "-4", "main").concat(table(p, "-6", "main"))).toEqual([]);
  }, T);

  test("filters the correct routes to import to the new VRF", () => {
    const p = upstreamPod();
    ip(p, "addr", "add", "10.0.0.2/24", "dev", "dummy0");
    ip(p, "addr", "add", "10.0.1.2/24", "dev", "dummy1");
    ip(p, "addr", "add", "abcd:1234:ffff::cdde/64", "dev", "dummy0");
    ip(p, "addr", "add", "abcd:1234:fffe::cdde/64", "dev", "dummy1");
    ip(p, "route", "add", "10.10.10.0/24", "via", "10.0.0.1");
    ip(p, "-6", "route", "add", "1111:dddd::/80", "via", "abcd:1234:ffff::1");
    ip(p, "route", "add", "10.11.10.0/24", "via", "10.0.1.1", "src", "10.0.1.2", "metric", "100");
    ip(p, "-6", "route", "add", "1111:ddde::/80", "via", "abcd:1234:fffe::1", "src", "abcd:1234:fffe::cdde", "metric", "100");
    expect(vrf(p, "ADD", upstreamConf("vrf1", "dummy1"), "dummy1").exitCode).toBe(0);
    expect(table(p, "-4", 1)).toEqual([{ dst: "10.11.10.0/24", gateway: "10.0.1.1", dev: "dummy1" }]);
    expect(table(p, "-6", 1)).toEqual([{ dst: "1111:ddde::/80", gateway: "abcd:1234:fffe::1", dev: "dummy1" }]);
    expect((ipJson(["-6", "route", "show", "table", "1", "1111:ddde::/80"], p.name) as any[])[0].metric).toBe(100);
    expect(table(p, "-4", "main")).toEqual([{ dst: "10.10.10.0/24", gateway: "10.0.0.1", dev: "dummy0" }]);
    expect(table(p, "-6", "main")).toEqual([{ dst: "1111:dddd::/80", gateway: "abcd:1234:ffff::1", dev: "dummy0" }]);
  }, T);

  test("fails if the interface already has a master set, and changes nothing", () => {
    const p = upstreamPod();
    ip(p, "link", "add", "br0", "type", "bridge");
    ip(p, "link", "set", "dummy0", "master", "br0");
    const before = state(p);
    const r = vrf(p, "ADD", upstreamConf("vrf0", "dummy0"), "dummy0");
    expect(r.exitCode).toBe(1);
    expect(r.json.msg).toBe("cmdAdd failed: interface dummy0 has already a master set: br0");
    expect(state(p)).toEqual(before);
  }, T);

  for (const v6 of [false, true]) {
    for (const [label, vrf0, vrf1, sameIp] of [["same VRF", "vrf0", "vrf0", false], ["different VRFs", "vrf0", "vrf1", false], ["different VRFs with the same IP", "vrf0", "vrf1", true]] as const) {
      test(`handles two interfaces: ${label}${v6 ? " (IPv6)" : ""}`, () => {
        const p = upstreamPod();
        const [a0, a1] = v6 ? ["2A00:0C98:2060:A000:0001:0000:1d1e:ca75/64", sameIp ? "2A00:0C98:2060:A000:0001:0000:1d1e:ca75/64" : "2A00:0C98:2060:A000:0001:0000:1d1e:ca76/64"] : ["10.0.0.2/24", sameIp ? "10.0.0.2/24" : "10.0.0.3/24"];
        ip(p, "addr", "add", a0, "dev", "dummy0");
        ip(p, "addr", "add", a1, "dev", "dummy1");
        expect(vrf(p, "ADD", upstreamConf(vrf0, "dummy0"), "dummy0").exitCode).toBe(0);
        expect(vrf(p, "ADD", upstreamConf(vrf1, "dummy1"), "dummy1").exitCode).toBe(0);
        expect([master(p, "dummy0"), master(p, "dummy1")]).toEqual([vrf0, vrf1]);
        const fam = v6 ? "inet6" : "inet";
        for (const d of ["dummy0", "dummy1"]) {
          const l = (ipJson(["addr", "show", d], p.name) as any[])[0];
          expect(l.addr_info.filter((a: any) => a.family === fam && a.scope === "global")).toHaveLength(1);
        }
        const tables = state(p).links.filter((l) => l.kind === "vrf").map((l) => l.table);
        expect(new Set(tables).size).toBe(tables.length);
      }, T);
    }
  }

  test("handles table id conflicts: same VRF same table, different VRFs same table (strict_mode 0), same VRF other table", () => {
    const p = upstreamPod();
    expect(vrf(p, "ADD", upstreamConf("vrf0", "dummy0", { table: 1001 }), "dummy0").exitCode).toBe(0);
    ip(p, "link", "add", "dummy2", "type", "dummy");
    expect(vrf(p, "ADD", upstreamConf("vrf0", "dummy2", { table: 1001 }), "dummy2").exitCode).toBe(0);
    expect(vrf(p, "ADD", upstreamConf("vrf1", "dummy1", { table: 1001 }), "dummy1").exitCode).toBe(0);
    expect(state(p).links.filter((l) => l.kind === "vrf").map((l) => [l.name, l.table])).toEqual([["vrf0", 1001], ["vrf1", 1001]]);
    ip(p, "link", "add", "dummy3", "type", "dummy");
    const before = state(p);
    const r = vrf(p, "ADD", upstreamConf("vrf0", "dummy3", { table: 1002 }), "dummy3");
    expect(r.exitCode).toBe(1);
    expect(r.json.msg).toContain("already exist with different routing table 1001");
    expect(state(p)).toEqual(before);
  }, T);

  test("net.vrf.strict_mode=1: a table another VRF holds is refused before any change (the kernel would refuse it too)", () => {
    const p = upstreamPod();
    sh(["ip", "netns", "exec", p.name, "sysctl", "-qw", "net.vrf.strict_mode=1"]);
    expect(vrf(p, "ADD", upstreamConf("vrf0", "dummy0", { table: 1001 }), "dummy0").exitCode).toBe(0);
    const before = state(p);
    const r = vrf(p, "ADD", upstreamConf("vrf1", "dummy1", { table: 1001 }), "dummy1");
    expect([r.exitCode, r.json.code, r.json.msg]).toEqual([1, 7, "table: 1001 is already used by VRF vrf0 and net.vrf.strict_mode is 1"]);
    expect(state(p)).toEqual(before);
    // The kernel fact behind the check (docs/vrf.md).
    const k = Bun.spawnSync(["ip", "-n", p.name, "link", "add", "vrfx", "type", "vrf", "table", "1001"], { stderr: "pipe" });
    expect(k.exitCode).not.toBe(0);
    expect(k.stderr.toString()).toContain("Table is used by another VRF");
  }, T);

  test("removes the VRF only when the last interface is removed; DEL twice and DEL without the VRF succeed", () => {
    const p = upstreamPod();
    expect(vrf(p, "ADD", upstreamConf("vrf0", "dummy0"), "dummy0").exitCode).toBe(0);
    expect(vrf(p, "ADD", upstreamConf("vrf0", "dummy1"), "dummy1").exitCode).toBe(0);
    expect(vrf(p, "DEL", upstreamConf("vrf0", "dummy0"), "dummy0").exitCode).toBe(0);
    expect([master(p, "dummy0"), master(p, "dummy1")]).toEqual([undefined, "vrf0"]);
    // Twice: the interface is out already; the VRF stays for dummy1.
    expect(vrf(p, "DEL", upstreamConf("vrf0", "dummy0"), "dummy0")).toMatchObject({ exitCode: 0, stdout: "" });
    expect(linkKinds(p)).toContain("vrf0:vrf");
    expect(vrf(p, "DEL", upstreamConf("vrf0", "dummy1"), "dummy1").exitCode).toBe(0);
    expect(linkKinds(p)).not.toContain("vrf0:vrf");
    expect(vrf(p, "DEL", upstreamConf("vrf0", "dummy1"), "dummy1")).toMatchObject({ exitCode: 0, stdout: "" });
    // The interface gone while the VRF has another member (upstream fails here).
    expect(vrf(p, "ADD", upstreamConf("vrf0", "dummy0"), "dummy0").exitCode).toBe(0);
    expect(vrf(p, "ADD", upstreamConf("vrf0", "dummy1"), "dummy1").exitCode).toBe(0);
    ip(p, "link", "del", "dummy0");
    expect(vrf(p, "DEL", upstreamConf("vrf0", "dummy0"), "dummy0")).toMatchObject({ exitCode: 0, stdout: "" });
    expect(master(p, "dummy1")).toBe("vrf0");
  }, T);

  test("DEL with the netns gone succeeds", () => {
    const r = runCni({ dir: bin.dir, plugin: "vrf", command: "DEL", config: upstreamConf("vrf0", "dummy0"), netns: "/var/run/netns/nh-gone-vrf", ifname: "dummy0" });
    expect([r.exitCode, r.stdout]).toEqual([0, ""]);
  }, T);

  for (const cniVersion of ["0.4.0", "1.1.0"]) {
    test(`configures and deconfigures a VRF with CNI ${cniVersion} ADD/CHECK/DEL`, () => {
      const p = upstreamPod();
      const conf = { ...upstreamConf("vrf0", "dummy0"), cniVersion, prevResult: { cniVersion, interfaces: [{ name: "dummy0" }], ips: [{ address: "10.0.0.2/24", gateway: "10.0.0.1", interface: 0 }] } };
      const add = vrf(p, "ADD", conf, "dummy0");
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expect(vrf(p, "CHECK", { ...conf, prevResult: add.json }, "dummy0")).toMatchObject({ exitCode: 0, stdout: "" });
      // CHECK fails once the enslavement is gone.
      ip(p, "link", "set", "dummy0", "nomaster");
      const broken = vrf(p, "CHECK", { ...conf, prevResult: add.json }, "dummy0");
      expect([broken.exitCode, broken.json.msg]).toEqual([1, "failed to find dummy0 associated to vrf vrf0"]);
      expect(vrf(p, "CHECK", { ...conf, prevResult: add.json, table: 7 }, "dummy0").json.msg).toBe("VRF vrf0 has routing table 1, the config says 7");
      expect(vrf(p, "CHECK", { ...conf, prevResult: undefined }, "dummy0").json.msg).toBe("missing prevResult from earlier plugin");
      expect(vrf(p, "DEL", conf, "dummy0").exitCode).toBe(0);
      expect(linkKinds(p)).not.toContain("vrf0:vrf");
    }, T);
  }
});

describe.skipIf(!inVm)("vrf: bad input is a CNI error naming field and value, nothing changed", () => {
  const cases: [string, object, string][] = [
    ["missing vrfname", { vrfname: undefined }, "configuration is expected to have a valid vrf name (vrfname: null)"],
    ["empty vrfname", { vrfname: "" }, `configuration is expected to have a valid vrf name (vrfname: "")`],
    ["vrfname longer than 15 bytes", { vrfname: "vrf-0123456789ab" }, `vrfname: a device name is at most 15 bytes (got "vrf-0123456789ab")`],
    ["vrfname with /", { vrfname: "a/b" }, `vrfname: a device name cannot contain '/', ':' or whitespace (got "a/b")`],
    ["vrfname with :", { vrfname: "a:b" }, `(got "a:b")`],
    ["vrfname with whitespace", { vrfname: "a b" }, `(got "a b")`],
    ["table 0", { table: 0 }, "table: Too small: expected number to be >=1 (got 0)"],
    ["negative table", { table: -1 }, "(got -1)"],
    ["table above 2^32-1", { table: 4294967296 }, "(got 4294967296)"],
    ["table 253", { table: 253 }, "table: tables 253, 254 and 255 are the kernel's default, main and local tables (got 253)"],
    ["table 255", { table: 255 }, "(got 255)"],
    ["table as a string", { table: "1001" }, `table: Invalid input: expected number, received string (got "1001")`],
  ];
  test("each case in one pod; the pod's state never changes", () => {
    const p = upstreamPod();
    const before = state(p);
    for (const [label, extra, msg] of cases) {
      const { vrfName: _, ...base } = upstreamConf("vrf0", "dummy0");
      const r = vrf(p, "ADD", { ...base, vrfname: "vrf0", ...extra }, "dummy0");
      expect([label, r.exitCode, r.json?.code]).toEqual([label, 1, 7]);
      expect(r.json.msg).toContain(msg);
    }
    ip(p, "link", "add", "blue", "type", "dummy");
    const withBlue = state(p);
    const other = vrf(p, "ADD", upstreamConf("blue", "dummy0"), "dummy0");
    expect(other.json.msg).toBe(`vrfname "blue": Netlink blue is not a VRF (a dummy has this name)`);
    const noPrev = vrf(p, "ADD", { ...upstreamConf("vrf0", "dummy0"), prevResult: undefined }, "dummy0");
    expect([noPrev.exitCode, noPrev.json.msg]).toEqual([1, "missing prevResult from earlier plugin"]);
    const wrongIf = vrf(p, "ADD", upstreamConf("vrf0", "dummy1"), "dummy0");
    expect([wrongIf.json.code, wrongIf.json.msg]).toEqual([7, `prevResult.interfaces: no interface "dummy0" in the pod (it names "dummy1")`]);
    expect(state(p)).toEqual(withBlue);
    expect(withBlue.links.filter((l) => l.name !== "blue")).toEqual(before.links);
    const old = vrf(p, "ADD", { ...upstreamConf("vrf0", "dummy0"), cniVersion: "0.3.0" }, "dummy0");
    expect([old.exitCode, old.json.code]).toEqual([1, 1]);
  }, T);
});

// ------------------------------------------------------------------------------------------------
// The pod of upstream #1253: eth0 (a dummy: nothing sent there arrives anywhere) with defaults via
// 192.0.2.1 and fe80::1; net1 a macvlan over a veth whose peer sits in a router namespace with
// 198.51.100.1, 2001:db8:1::1 and 16 far addresses per family on its loopback.

const far4 = Array.from({ length: 16 }, (_, i) => `203.0.113.${i + 1}`);
const far6 = Array.from({ length: 16 }, (_, i) => `2001:db8:ff::${i + 1}`);

/** Runs `ip -batch` in `ns`: one process for many commands (each `ip` costs ~75 ms under TCG). */
function batch(ns: Netns, lines: string[]): void {
  const file = join(work, `batch-${ns.name}`);
  writeFileSync(file, lines.join("\n") + "\n");
  sh(["ip", "-n", ns.name, "-batch", file]);
  rmSync(file);
}

function lanPod(): { pod: Netns; router: Netns; master: string } {
  const pod = netns();
  const router = netns();
  const m = `nhv${router.name.slice(-8)}`;
  sh(["ip", "link", "add", m, "type", "veth", "peer", "name", "lan1", "netns", router.name]);
  hostLinks.push(m);
  sh(["ip", "link", "set", m, "up"]);
  batch(router, [
    "link set lo up", "link set lan1 up",
    "addr add 198.51.100.1/24 dev lan1", "addr add 198.51.100.2/24 dev lan1",
    "addr add 2001:db8:1::1/64 dev lan1 nodad", "addr add 2001:db8:1::2/64 dev lan1 nodad",
    ...far4.map((a) => `addr add ${a}/32 dev lo`), ...far6.map((a) => `addr add ${a}/128 dev lo nodad`),
  ]);
  batch(pod, [
    "link set lo up", "link add eth0 type dummy",
    "addr add 192.0.2.10/24 dev eth0", "addr add 2001:db8::10/64 dev eth0 nodad", "link set eth0 up",
    "route add default via 192.0.2.1 dev eth0", "route add ::/0 via fe80::1 dev eth0",
  ]);
  return { pod, router, master: m };
}

function macvlanConf(m: string, routes: object[]) {
  return {
    cniVersion: "1.1.0", name: "lan", type: "macvlan", master: m,
    ipam: { type: "static", addresses: [{ address: "198.51.100.10/24" }, { address: "2001:db8:1::10/64" }], routes },
  };
}

function macvlanAdd(pod: Netns, conf: object) {
  const r = runCni({ dir: bin.dir, plugin: "macvlan", command: "ADD", config: conf, netns: pod.path, ifname: "net1" });
  expect([r.exitCode, r.stderr]).toEqual([0, ""]);
  // As in the measurement of docs/vrf.md: the enslave flushes the global IPv6 address.
  sh(["ip", "netns", "exec", pod.name, "sysctl", "-qw", "net.ipv6.conf.net1.keep_addr_on_down=0"]);
  return r.json;
}

/** Echo requests the router has received so far (its netns's ICMP counters), per family. */
function echoes(router: Netns): { v4: number; v6: number } {
  const snmp = sh(["ip", "netns", "exec", router.name, "cat", "/proc/net/snmp"]).split("\n").filter((l) => l.startsWith("Icmp:"));
  const v4 = Number(snmp[1].split(/\s+/)[snmp[0].split(/\s+/).indexOf("InEchos")]);
  const v6 = Number(/^Icmp6InEchos\s+(\d+)/m.exec(sh(["ip", "netns", "exec", router.name, "cat", "/proc/net/snmp6"]))![1]);
  return { v4, v6 };
}

/** Pings each of `dsts` once from the pod (in parallel) through main; how many reached the router. */
async function reachedViaMain(pod: Netns, router: Netns, dsts: string[], v6: boolean): Promise<number> {
  const before = echoes(router);
  await answered(pod, dsts);
  const after = echoes(router);
  return v6 ? after.v6 - before.v6 : after.v4 - before.v4;
}

/** How many of `dsts` answer one ping from the pod (in parallel), optionally through `dev`. */
async function answered(pod: Netns, dsts: string[], dev?: string): Promise<number> {
  const runs = dsts.map((d) => Bun.spawn(["ip", "netns", "exec", pod.name, "ping", "-n", "-q", "-c1", "-W2", ...(dev ? ["-I", dev] : []), d], { stdout: "ignore", stderr: "ignore" }));
  const codes = await Promise.all(runs.map((r) => r.exited));
  return codes.filter((c) => c === 0).length;
}

const vrfConf = (prevResult: object, extra: object = {}) => ({ cniVersion: "1.1.0", name: "lan", type: "vrf", vrfname: "blue", table: 1001, prevResult, ...extra });

describe.skipIf(!inVm)("vrf: multipath routes move with their nexthops (upstream #1253), real traffic", () => {
  test("kernel facts: what an enslave does to routes and addresses (docs/vrf.md)", () => {
    const p = netns();
    for (const [d, a4, a6] of [["eth0", "192.0.2.10/24", "2001:db8::10/64"], ["net1", "198.51.100.10/24", "2001:db8:1::10/64"]]) {
      ip(p, "link", "add", d, "type", "dummy");
      ip(p, "addr", "add", a4, "dev", d);
      ip(p, "addr", "add", a6, "dev", d, "nodad");
      ip(p, "link", "set", d, "up");
    }
    ip(p, "route", "add", "default", "nexthop", "via", "192.0.2.1", "dev", "eth0", "nexthop", "via", "198.51.100.1", "dev", "net1");
    ip(p, "-6", "route", "add", "default", "via", "fe80::1", "dev", "eth0");
    ip(p, "-6", "route", "append", "default", "via", "2001:db8:1::1", "dev", "net1");
    ip(p, "route", "add", "10.5.0.0/16", "via", "198.51.100.1", "dev", "net1");
    ip(p, "link", "add", "blue", "type", "vrf", "table", "1001");
    ip(p, "link", "set", "blue", "up");
    ip(p, "link", "set", "net1", "master", "blue");
    const main4 = ipJson(["-4", "route", "show", "table", "main"], p.name) as any[];
    const main6 = ipJson(["-6", "route", "show", "table", "main", "default"], p.name) as any[];
    // 2: the multipath defaults keep a live nexthop through net1.
    for (const r of [main4.find((x) => x.dst === "default"), main6[0]]) {
      expect(r.nexthops.map((n: any) => [n.dev, n.flags ?? []])).toEqual([["eth0", []], ["net1", []]]);
    }
    // 1: the single-path route through net1 is gone everywhere; the connected route is in 1001.
    expect(main4.map((x) => x.dst)).toEqual(["default", "192.0.2.0/24"]);
    const t4 = ipJson(["-4", "route", "show", "table", "1001"], p.name) as any[];
    expect(t4.map((x) => [x.type ?? "unicast", x.dst, x.protocol])).toContainEqual(["unicast", "198.51.100.0/24", "kernel"]);
    expect(t4.map((x) => x.dst)).not.toContain("10.5.0.0/16");
    // 3: the global IPv6 address is flushed, the IPv4 one stays.
    const addrs = state(p).addrs.filter((a) => a.startsWith("net1 "));
    expect(addrs).toContain("net1 198.51.100.10/24 global");
    expect(addrs.filter((a) => a.includes("2001:db8:1::10"))).toEqual([]);
  }, T);

  test("eth0's ::/0 via fe80::1 and net1's ::/0 via 2001:db8:1::1 (one kernel multipath route), and the same in IPv4", async () => {
    const { pod, router } = lanPod();
    const prev = macvlanAdd(pod, macvlanConf(lanMaster(), [{ dst: "0.0.0.0/0", gw: "198.51.100.1" }, { dst: "::/0", gw: "2001:db8:1::1" }]));
    // Before: one multipath default per family, a leg through each device.
    expect(table(pod, "-6", "main")).toEqual([{ dst: "default", nexthops: [{ gateway: "fe80::1", dev: "eth0", weight: 1 }, { gateway: "2001:db8:1::1", dev: "net1", weight: 1 }] }]);
    expect(table(pod, "-4", "main")).toEqual([{ dst: "default", nexthops: [{ gateway: "192.0.2.1", dev: "eth0", weight: 1 }, { gateway: "198.51.100.1", dev: "net1", weight: 1 }] }]);
    // Main-table traffic reaches the router through the net1 leg for some flows.
    expect(await reachedViaMain(pod, router, far4, false)).toBeGreaterThan(0);
    expect(await reachedViaMain(pod, router, far6, true)).toBeGreaterThan(0);

    const r = runCni({ dir: bin.dir, plugin: "vrf", command: "ADD", config: vrfConf(prev), netns: pod.path, ifname: "net1" });
    expect([r.exitCode, r.stderr]).toEqual([0, ""]);
    expect(table(pod, "-6", 1001)).toEqual([{ dst: "default", gateway: "2001:db8:1::1", dev: "net1" }]);
    expect(table(pod, "-4", 1001)).toEqual([{ dst: "default", gateway: "198.51.100.1", dev: "net1" }]);
    expect(table(pod, "-6", "main")).toEqual([{ dst: "default", gateway: "fe80::1", dev: "eth0" }]);
    expect(table(pod, "-4", "main")).toEqual([{ dst: "default", gateway: "192.0.2.1", dev: "eth0" }]);
    expect(state(pod).addrs).toContain("net1 2001:db8:1::10/64 global");
    // The result says where the routes are now.
    expect(r.json.routes).toEqual([{ dst: "0.0.0.0/0", gw: "198.51.100.1", table: 1001 }, { dst: "::/0", gw: "2001:db8:1::1", table: 1001 }]);

    // Through the VRF every far address answers; through main no request reaches the router
    // (the router's own ICMP counters), and none is answered (eth0 is a dummy).
    expect(await answered(pod, far4.slice(0, 4), "blue")).toBe(4);
    expect(await answered(pod, far6.slice(0, 4), "blue")).toBe(4);
    expect(await reachedViaMain(pod, router, far4, false)).toBe(0);
    expect(await reachedViaMain(pod, router, far6, true)).toBe(0);
    expect(await answered(pod, far4.slice(0, 4))).toBe(0);
  }, T);

  test("a two-gateway gws default with weights 1 and 3 becomes one multipath route in the VRF table", () => {
    const { pod } = lanPod();
    const prev = macvlanAdd(pod, macvlanConf(lanMaster(), [
      { dst: "0.0.0.0/0", gws: [{ gw: "198.51.100.1", weight: 1 }, { gw: "198.51.100.2", weight: 3 }] },
      { dst: "::/0", gws: [{ gw: "2001:db8:1::1", weight: 1 }, { gw: "2001:db8:1::2", weight: 3 }] },
    ]));
    const r = runCni({ dir: bin.dir, plugin: "vrf", command: "ADD", config: vrfConf(prev), netns: pod.path, ifname: "net1" });
    expect([r.exitCode, r.stderr]).toEqual([0, ""]);
    expect(table(pod, "-4", 1001)).toEqual([{ dst: "default", nexthops: [{ gateway: "198.51.100.1", dev: "net1", weight: 1 }, { gateway: "198.51.100.2", dev: "net1", weight: 3 }] }]);
    expect(table(pod, "-6", 1001)).toEqual([{ dst: "default", nexthops: [{ gateway: "2001:db8:1::1", dev: "net1", weight: 1 }, { gateway: "2001:db8:1::2", dev: "net1", weight: 3 }] }]);
    expect(table(pod, "-4", "main")).toEqual([{ dst: "default", gateway: "192.0.2.1", dev: "eth0" }]);
    expect(table(pod, "-6", "main")).toEqual([{ dst: "default", gateway: "fe80::1", dev: "eth0" }]);
  }, T);

  test("a route with onlink, mtu, advmss, metric and proto keeps them all in the VRF table", () => {
    const { pod } = lanPod();
    const prev = macvlanAdd(pod, macvlanConf(lanMaster(), []));
    ip(pod, "route", "add", "10.20.0.0/16", "via", "198.51.100.1", "dev", "net1", "onlink", "mtu", "1400", "advmss", "1360", "metric", "77", "proto", "static", "src", "198.51.100.10");
    ip(pod, "route", "add", "172.16.0.0/12", "via", "198.51.100.1", "dev", "net1", "table", "100");
    const r = runCni({ dir: bin.dir, plugin: "vrf", command: "ADD", config: vrfConf(prev), netns: pod.path, ifname: "net1" });
    expect([r.exitCode, r.stderr]).toEqual([0, ""]);
    const moved = (ipJson(["-4", "route", "show", "table", "1001", "10.20.0.0/16"], pod.name) as any[]);
    expect(moved).toEqual([expect.objectContaining({ gateway: "198.51.100.1", dev: "net1", protocol: "static", metric: 77, prefsrc: "198.51.100.10", flags: ["onlink"], metrics: [{ mtu: 1400, advmss: 1360 }] })]);
    // Policy routing: a route in another table stays there.
    expect(table(pod, "-4", 100)).toEqual([{ dst: "172.16.0.0/12", gateway: "198.51.100.1", dev: "net1" }]);
  }, T);
});

/** A veth in the VM's root netns whose peer is the router's lan1 (set by lanPod). */
function lanMaster(): string {
  return hostLinks[hostLinks.length - 1];
}

describe.skipIf(!inVm)("vrf: all or nothing", () => {
  test("a fault before each step of ADD leaves links, addresses and every table exactly as before", async () => {
    const { pod } = lanPod();
    const prev = macvlanAdd(pod, macvlanConf(lanMaster(), [
      { dst: "0.0.0.0/0", gws: [{ gw: "198.51.100.1", weight: 1 }, { gw: "198.51.100.2", weight: 3 }] },
      { dst: "::/0", gw: "2001:db8:1::1" },
      { dst: "10.30.0.0/16", gw: "198.51.100.1" },
    ]));
    const before = state(pod);
    const args = (config: object) => ({
      command: "ADD", containerId: "nh-test", netns: pod.path, ifname: "net1", args: "", path: [], stdin: new Uint8Array(), config: config as Record<string, unknown>, cniVersion: "1.1.0",
    });
    const steps: string[] = [];
    for (let fault = 0; ; fault++) {
      let n = 0;
      let at = "";
      try {
        vrfAdd(args(vrfConf(prev)), (s) => {
          if (n++ === fault) {
            at = s;
            throw new Error(`injected before ${s}`);
          }
        });
      } catch (e) {
        expect((e as Error).message).toContain(`injected before ${at}`);
        expect((e as any).details ?? "").toBe("");
        steps.push(at);
        expect([at, state(pod)]).toEqual([at, before]);
        continue;
      }
      break;
    }
    // VRF create, up, enslave, address restore, 3 joins, 3 leaves.
    expect(steps.length).toBe(10);
    expect(table(pod, "-4", 1001).map((r: any) => r.dst).sort()).toEqual(["10.30.0.0/16", "default"]);
  }, 180_000);

  test("a route the kernel refuses in the VRF table: the error names the step with the kernel's text, nothing changed", () => {
    const { pod } = lanPod();
    const prev = macvlanAdd(pod, macvlanConf(lanMaster(), [{ dst: "0.0.0.0/0", gw: "198.51.100.1" }]));
    // Fine in main (eth0's address is in the same routing domain there), refused in the VRF.
    ip(pod, "-6", "route", "add", "2001:db8:70::/48", "via", "2001:db8:1::1", "dev", "net1", "src", "2001:db8::10");
    // A gateway reachable only through a device route of net1 (moved first).
    ip(pod, "route", "add", "10.50.0.0/16", "dev", "net1");
    ip(pod, "route", "add", "10.40.0.0/16", "via", "10.50.0.1", "dev", "net1");
    const before = state(pod);
    const r = runCni({ dir: bin.dir, plugin: "vrf", command: "ADD", config: vrfConf(prev), netns: pod.path, ifname: "net1" });
    expect([r.exitCode, r.json.code]).toEqual([1, 999]);
    expect(r.json.msg).toStartWith("failed to add route '2001:db8:70::/48 via [2001:db8:1::1] table 1001 metric 1024': ");
    expect(r.json.msg).toEndWith("(kernel: Invalid source address)");
    expect(state(pod)).toEqual(before);
    ip(pod, "-6", "route", "del", "2001:db8:70::/48");
    const ok = runCni({ dir: bin.dir, plugin: "vrf", command: "ADD", config: vrfConf(prev), netns: pod.path, ifname: "net1" });
    expect([ok.exitCode, ok.stderr]).toEqual([0, ""]);
    expect(table(pod, "-4", 1001).map((x: any) => x.dst).sort()).toEqual(["10.40.0.0/16", "10.50.0.0/16", "default"]);
  }, T);

  test("the process killed between steps leaves what vrf DEL and macvlan DEL clear completely", () => {
    const { pod } = lanPod();
    const macvlan = macvlanConf(lanMaster(), [{ dst: "0.0.0.0/0", gw: "198.51.100.1" }, { dst: "::/0", gw: "2001:db8:1::1" }]);
    const clean = state(pod);
    const script = join(work, "killed.ts");
    writeFileSync(script, `import { vrfAdd } from ${JSON.stringify(join(repo, "src/plugins/vrf.ts"))};
const [config, netns, kill] = [JSON.parse(process.argv[2]), process.argv[3], Number(process.argv[4])];
let n = 0;
vrfAdd({ command: "ADD", containerId: "nh-test", netns, ifname: "net1", args: "", path: [], stdin: new Uint8Array(), config, cniVersion: "1.1.0" },
  () => { if (n++ === kill) process.kill(process.pid, "SIGKILL"); });
`);
    // Killed before the enslave (the VRF exists, empty) and between the joins and the leaves
    // (the routes are in both tables).
    for (const kill of [2, 6]) {
      const prev = macvlanAdd(pod, macvlan);
      const r = Bun.spawnSync([process.execPath, script, JSON.stringify(vrfConf(prev)), pod.path, String(kill)], { stderr: "pipe" });
      expect(r.signalCode).toBe("SIGKILL");
      expect(runCni({ dir: bin.dir, plugin: "vrf", command: "DEL", config: vrfConf(prev), netns: pod.path, ifname: "net1" }).exitCode).toBe(0);
      expect(runCni({ dir: bin.dir, plugin: "macvlan", command: "DEL", config: macvlan, netns: pod.path, ifname: "net1" }).exitCode).toBe(0);
      expect([kill, state(pod)]).toEqual([kill, clean]);
    }
  }, 180_000);
});

describe.skipIf(!inVm)("vrf: two interfaces into one VRF, two VRFs", () => {
  test("net1 and net2 into blue: their defaults form one multipath route in blue's table; DEL of each, the VRF goes with the last", () => {
    const p = netns();
    for (const [d, a, gw] of [["net1", "198.51.100.10/24", "198.51.100.1"], ["net2", "192.0.2.10/24", "192.0.2.1"]]) {
      ip(p, "link", "add", d, "type", "dummy");
      ip(p, "addr", "add", a, "dev", d);
      ip(p, "link", "set", d, "up");
      ip(p, "route", "append", "default", "via", gw, "dev", d);
    }
    const conf = (ifname: string, addr: string) => vrfConf({ cniVersion: "1.1.0", interfaces: [{ name: ifname }], ips: [{ address: addr, interface: 0 }] });
    expect(runCni({ dir: bin.dir, plugin: "vrf", command: "ADD", config: conf("net1", "198.51.100.10/24"), netns: p.path, ifname: "net1" }).exitCode).toBe(0);
    expect(runCni({ dir: bin.dir, plugin: "vrf", command: "ADD", config: conf("net2", "192.0.2.10/24"), netns: p.path, ifname: "net2" }).exitCode).toBe(0);
    expect(table(p, "-4", 1001)).toEqual([{ dst: "default", nexthops: [{ gateway: "198.51.100.1", dev: "net1", weight: 1 }, { gateway: "192.0.2.1", dev: "net2", weight: 1 }] }]);
    expect(table(p, "-4", "main")).toEqual([]);
    expect(runCni({ dir: bin.dir, plugin: "vrf", command: "DEL", config: conf("net1", "198.51.100.10/24"), netns: p.path, ifname: "net1" }).exitCode).toBe(0);
    expect(linkKinds(p)).toContain("blue:vrf");
    expect(runCni({ dir: bin.dir, plugin: "vrf", command: "DEL", config: conf("net2", "192.0.2.10/24"), netns: p.path, ifname: "net2" }).exitCode).toBe(0);
    expect(linkKinds(p)).not.toContain("blue:vrf");
  }, T);

  test("two VRFs with their own (free) tables keep their routes apart", () => {
    const p = netns();
    ip(p, "route", "add", "blackhole", "10.99.0.0/16", "table", "1");
    for (const [d, a, gw] of [["net1", "198.51.100.10/24", "198.51.100.1"], ["net2", "192.0.2.10/24", "192.0.2.1"]]) {
      ip(p, "link", "add", d, "type", "dummy");
      ip(p, "addr", "add", a, "dev", d);
      ip(p, "link", "set", d, "up");
      ip(p, "route", "append", "default", "via", gw, "dev", d);
    }
    const conf = (name: string, ifname: string) => ({ cniVersion: "1.1.0", name: "n", type: "vrf", vrfname: name, prevResult: { cniVersion: "1.1.0", interfaces: [{ name: ifname }] } });
    expect(runCni({ dir: bin.dir, plugin: "vrf", command: "ADD", config: conf("red", "net1"), netns: p.path, ifname: "net1" }).exitCode).toBe(0);
    expect(runCni({ dir: bin.dir, plugin: "vrf", command: "ADD", config: conf("green", "net2"), netns: p.path, ifname: "net2" }).exitCode).toBe(0);
    // Table 1 holds a route, so the free tables are 2 and 3 (upstream would pick 1 and 2).
    expect(state(p).links.filter((l) => l.kind === "vrf").map((l) => [l.name, l.table])).toEqual([["green", 3], ["red", 2]]);
    expect(table(p, "-4", 2)).toEqual([{ dst: "default", gateway: "198.51.100.1", dev: "net1" }]);
    expect(table(p, "-4", 3)).toEqual([{ dst: "default", gateway: "192.0.2.1", dev: "net2" }]);
  }, T);
});

// ------------------------------------------------------------------------------------------------
// A runtime's view: libcni (Debian's) runs the chain and CHECKs it with the cached result, which
// keeps no `table` (libcni 1.1): macvlan's and ipvlan's CHECK must find their routes in the VRF.

const driver = process.env.NEXTHOP_LIBCNI_DRIVER ?? "";
describe.skipIf(!inVm || !existsSync(driver))("vrf: libcni chains ADD -> CHECK -> DEL -> DEL", () => {
  for (const kind of ["macvlan", "ipvlan"]) {
    // Debian's libcni (1.1.2) knows result versions up to 1.0.0; 1.1.0 is covered by the direct
    // ADD/CHECK/DEL tests above.
    for (const cniVersion of ["0.4.0", "1.0.0"]) {
      test(`${kind}+static -> vrf, cniVersion ${cniVersion}`, () => {
        const { pod } = lanPod();
        const list = join(work, `${kind}-${cniVersion}.conflist`);
        writeFileSync(list, JSON.stringify({
          cniVersion, name: `nh-${kind}`,
          plugins: [
            {
              type: kind, master: lanMaster(), ...(kind === "ipvlan" ? { mode: "l2" } : {}),
              ipam: {
                type: "static", addresses: [{ address: "198.51.100.10/24" }, { address: "2001:db8:1::10/64" }],
                routes: [{ dst: "0.0.0.0/0", gws: ["198.51.100.1", { gw: "198.51.100.2", weight: 3 }] }, { dst: "::/0", gw: "2001:db8:1::1" }],
              },
            },
            { type: "vrf", vrfname: "blue", table: 1001 },
          ],
        }));
        const drive = (cmd: string) => {
          const r = Bun.spawnSync([driver, cmd, list, pod.path, "net1", join(work, `cache-${kind}-${cniVersion}`)], {
            env: { PATH: process.env.PATH ?? "", CNI_PATH: bin.dir }, stdout: "pipe", stderr: "pipe",
          });
          return { exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
        };
        const add = drive("add");
        expect([add.exitCode, add.stderr]).toEqual([0, ""]);
        expect(table(pod, "-4", 1001)).toEqual([{ dst: "default", nexthops: [{ gateway: "198.51.100.1", dev: "net1", weight: 1 }, { gateway: "198.51.100.2", dev: "net1", weight: 3 }] }]);
        expect(table(pod, "-6", 1001)).toEqual([{ dst: "default", gateway: "2001:db8:1::1", dev: "net1" }]);
        // keep_addr_on_down is 1 here (the interface plugins set it): the address stayed.
        expect(state(pod).addrs).toContain("net1 2001:db8:1::10/64 global");
        expect(drive("check")).toMatchObject({ exitCode: 0, stderr: "" });
        if (cniVersion === "1.0.0") {
          // A nexthop missing from the VRF table fails the chain's CHECK.
          ip(pod, "-6", "route", "del", "default", "table", "1001");
          const broken = drive("check");
          expect(broken.exitCode).toBe(1);
          expect(broken.stderr).toContain("Expected Route ::/0 (table 1001)");
        }
        expect(drive("del")).toMatchObject({ exitCode: 0, stderr: "" });
        expect(drive("del")).toMatchObject({ exitCode: 0, stderr: "" });
        expect(linkKinds(pod)).toEqual(["eth0:dummy", "lo:null"]);
        expect(table(pod, "-4", "main")).toEqual([{ dst: "default", gateway: "192.0.2.1", dev: "eth0" }]);
      }, T);
    }
  }
});

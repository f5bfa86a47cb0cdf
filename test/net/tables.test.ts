// Filtered route dumps and RouteTables on this machine's kernel (docs/kernel.md, "Filtered route
// dumps"):
// - what the kernel does with RTA_TABLE / RTA_OIF in a dump request on a strict-checking socket;
// - a command's route dumps do not depend on the pod's table size: macvlan+static ADD / CHECK /
//   DEL run in this process against an empty pod and a pod holding 50 000 routes, counting the
//   dump requests every socket sends (NetlinkSocket.watchDumps, parsed from the request bytes);
// - RouteTables reads only the declared prefixes' routes out of a 50 000-route table (the
//   codec's route filter drops the others), and they are what an unfiltered read says;
// - RouteTables' view after its own writes is what a fresh read of the kernel says.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runPlugin } from "../../src/cni/skel";
import { codec } from "../../src/netlink/codec";
import { ownPlugin } from "../../src/plugins/index";
import { AF_INET, AF_INET6, AF_UNSPEC, RTM_GETROUTE, RT_TABLE_MAIN } from "../../src/netlink/constants";
import { linkByName } from "../../src/netlink/link";
import { withNetns } from "../../src/netlink/netns";
import { listRoutes, routeFromRow, type KernelRoute, type Nexthop } from "../../src/netlink/route";
import { NetlinkSocket, type DumpRequest } from "../../src/netlink/socket";
import { sameDst, type RouteKey } from "../../src/netlink/key";
import { joinNexthops, leaveNexthops, RouteTables } from "../../src/net/routes";
import { UndoLog } from "../../src/net/undo";
import { ip, net, shown } from "../lib/addr";
import { createNetns, sh, type Netns } from "../lib/netns";
import { baseConfig } from "../reliability/cases";
import { disposePlugins, makeWorld, plugins, snapshot, type World } from "../reliability/lib";

const BIG = 50_000;
const work = mkdtempSync(join(tmpdir(), "nh-tables-"));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  disposePlugins();
});

/** Loads `n` IPv4 /28s via eth0's gateway into the pod's main table with one `ip -batch`. */
function loadRoutes(pod: Netns, n: number, extra: string[] = []): void {
  const lines: string[] = [...extra];
  const base = (100 << 24) | (64 << 16);
  for (let i = 0; i < n; i++) {
    const a = (base + i * 16) >>> 0;
    lines.push(`route add ${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/28 via 192.0.2.1 dev eth0`);
  }
  const file = join(work, `${pod.name}.batch`);
  writeFileSync(file, lines.join("\n") + "\n");
  sh(["ip", "-n", pod.name, "-batch", file]);
}

const routeDump = (d: DumpRequest) => d.type === RTM_GETROUTE;

describe("the kernel filters route dumps on a strict-checking socket", () => {
  test("RTA_TABLE: one table; RTA_OIF: routes with any nexthop through the device, multipath included, both families", () => {
    using ns = createNetns();
    const ip = (...a: string[]) => sh(["ip", "-n", ns.name, ...a]);
    for (const [dev, peer, v4, v6] of [["a0", "a0p", "192.0.2.10/24", "2001:db8:1::10/64"], ["b0", "b0p", "198.51.100.10/24", "2001:db8:2::10/64"]]) {
      ip("link", "add", dev, "type", "veth", "peer", "name", peer);
      ip("addr", "add", v4, "dev", dev);
      ip("addr", "add", v6, "dev", dev, "nodad");
      ip("link", "set", dev, "up");
      ip("link", "set", peer, "up");
    }
    ip("route", "add", "10.1.0.0/16", "via", "192.0.2.1", "dev", "a0", "table", "100");
    ip("route", "add", "10.2.0.0/16", "nexthop", "via", "192.0.2.1", "dev", "a0", "nexthop", "via", "198.51.100.1", "dev", "b0");
    ip("route", "add", "10.3.0.0/16", "via", "198.51.100.1", "dev", "b0");
    ip("-6", "route", "add", "2001:db8:9::/48", "nexthop", "via", "2001:db8:2::1", "dev", "b0", "nexthop", "via", "2001:db8:1::1", "dev", "a0");
    ip("-6", "route", "add", "2001:db8:8::/48", "via", "2001:db8:2::1", "dev", "b0", "table", "100");
    const sock = NetlinkSocket.open(ns.path);
    try {
      const a0 = linkByName(sock, "a0")!.index;
      const text = (r: KernelRoute) => `${r.table} ${shown(r.dst)} type ${r.type}`;
      // Every row the kernel sent, not only the ones listRoutes keeps: what the kernel filtered.
      const sent = (family: number, filter: { table?: number; oif?: number }) => {
        sock.dump((seq) => codec.encodeRouteDump(seq, family, filter));
        const rows = codec.routes;
        return Array.from({ length: rows.count }, (_, i) => text(routeFromRow(rows, i))).sort();
      };
      const all = (family: number) => listRoutes(sock, family, { allTypes: true });
      // Table 100 alone: its route, nothing of main or local.
      expect(sent(AF_INET, { table: 100 })).toEqual(["100 10.1.0.0/16 type 1"]);
      expect(sent(AF_INET6, { table: 100 })).toEqual(["100 2001:db8:8::/48 type 1"]);
      expect(sent(AF_INET, { table: RT_TABLE_MAIN })).toEqual(all(AF_INET).filter((r) => r.table === RT_TABLE_MAIN).map(text).sort());
      // Through a0, every table: exactly the routes with a nexthop through a0, multipath ones
      // included (a0 is the second sibling of the IPv6 route), never those through b0 alone.
      for (const family of [AF_INET, AF_INET6]) {
        const through = sent(family, { oif: a0 });
        expect(through).toEqual(all(family).filter((r) => r.nexthops.some((nh) => nh.ifindex === a0)).map(text).sort());
        expect(through.some((r) => r.includes("10.3.0.0/16") || r.includes("2001:db8:8::/48") || r.includes("2001:db8:2::/64"))).toBe(false);
      }
      expect(sent(AF_INET, { oif: a0 })).toEqual(expect.arrayContaining(["100 10.1.0.0/16 type 1", "254 10.2.0.0/16 type 1"]));
      expect(sent(AF_INET6, { oif: a0 })).toEqual(expect.arrayContaining(["254 2001:db8:9::/48 type 1"]));
      // Both filters at once; and a table that was never created reads as empty.
      expect(sent(AF_INET, { table: 100, oif: a0 })).toEqual(["100 10.1.0.0/16 type 1"]);
      expect(() => sock.dump((seq) => codec.encodeRouteDump(seq, AF_INET, { table: 4242 }))).toThrow(expect.objectContaining({ errno: 2 /* ENOENT */ }));
      expect(sent(AF_UNSPEC, { table: 4242 })).toEqual([]);
      expect(listRoutes(sock, AF_INET, { table: 4242 })).toEqual([]);
      expect(sock.dumps.filter(routeDump).at(-1)).toEqual({ type: RTM_GETROUTE, family: AF_INET, table: 4242, oif: 0 });
    } finally {
      sock.close();
    }
  });
});

describe("a command's route dumps do not grow with the pod's table", () => {
  const worlds: { name: string; w: World }[] = [];
  beforeAll(() => {
    for (const [name, n] of [["empty", 0], ["big", BIG]] as const) {
      const w = makeWorld({ eth0: true });
      worlds.push({ name, w });
      // A second table and both families, so the command reads more than one (family, table).
      loadRoutes(w.pod, n, ["route add 10.99.0.0/16 via 192.0.2.1 table 100"]);
    }
  }, 600_000);
  afterAll(() => {
    for (const { w } of worlds) w.dispose();
  });

  const config = () => baseConfig("macvlan", {}, {
    addresses: [{ address: "192.0.2.30/24", gateway: "192.0.2.1" }, { address: "2001:db8:0:1::30/64", gateway: "2001:db8:0:1::1" }],
    routes: [
      // Joined with eth0's defaults (an IPv4 REPLACE with the union, an IPv6 sibling).
      { dst: "0.0.0.0/0", gws: ["192.0.2.2", "192.0.2.3"] }, { dst: "::/0", gws: ["2001:db8:0:1::2"] },
      ...Array.from({ length: 20 }, (_, i) => ({ dst: `10.200.${i}.0/24`, gw: "192.0.2.1" })),
      { dst: "10.70.0.0/16", gw: "192.0.2.4", table: 100 },
      { dst: "2001:db8:70::/48", gw: "2001:db8:0:1::1" },
    ],
  });

  /** Runs one command in this process (from the host netns, as the executable would) and returns its route dumps. */
  function run(w: World, cmd: string, conf: Record<string, unknown>): { out: string; dumps: DumpRequest[] } {
    const dumps: DumpRequest[] = [];
    const stop = NetlinkSocket.watchDumps((_, d) => {
      if (routeDump(d)) dumps.push(d);
    });
    try {
      const env = { CNI_COMMAND: cmd, CNI_CONTAINERID: "nh-tables", CNI_NETNS: w.pod.path, CNI_IFNAME: "net1", CNI_PATH: plugins() };
      const r = withNetns(w.host.path, () => runPlugin(ownPlugin("macvlan")!, env, JSON.stringify(conf)));
      if (r.exitCode !== 0) throw new Error(`${cmd}: ${r.stdout}`);
      return { out: r.stdout, dumps };
    } finally {
      stop();
    }
  }

  const shape = (d: DumpRequest) => `family ${d.family} table ${d.table}${d.oif ? " oif" : ""}`;

  test("ADD, CHECK and DEL: the same filtered dumps in an empty pod and a 50 000-route pod, each (family, table) once", () => {
    const seen: Record<string, Record<string, string[]>> = {};
    for (const { name, w } of worlds) {
      const before = JSON.stringify(snapshot(w.pod));
      const add = run(w, "ADD", config());
      const result = JSON.parse(add.out);
      expect(result.routes.length).toBeGreaterThanOrEqual(24);
      const check = run(w, "CHECK", { ...config(), prevResult: result });
      const del = run(w, "DEL", config());
      // DEL took away exactly what ADD made.
      expect(JSON.stringify(snapshot(w.pod))).toBe(before);
      seen[name] = {};
      for (const [cmd, r] of [["ADD", add], ["CHECK", check], ["DEL", del]] as const) {
        // No dump of every route: each names a table or a device.
        expect(r.dumps.filter((d) => d.table === 0 && d.oif === 0)).toEqual([]);
        // Each (family, table) at most once.
        const tables = r.dumps.filter((d) => d.table !== 0).map(shape);
        expect(new Set(tables).size).toBe(tables.length);
        seen[name][cmd] = r.dumps.map(shape);
      }
    }
    // ADD reads (IPv4, main), (IPv6, main), (IPv4, 100); CHECK the same; DEL one dump by
    // device, then the IPv4 main table, where the joined default it must rewrite is.
    const sorted = (o: Record<string, string[]>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, [...v].sort()]));
    expect(sorted(seen.empty)).toEqual({
      ADD: ["family 10 table 254", "family 2 table 100", "family 2 table 254"],
      CHECK: ["family 10 table 254", "family 2 table 100", "family 2 table 254"],
      DEL: ["family 2 table 0 oif", "family 2 table 254"],
    });
    expect(seen.big).toEqual(seen.empty);
  }, 600_000);
});

describe("RouteTables in a 50 000-route table: the codec keeps the declared prefixes only", () => {
  test("the routes of the declared prefixes, identical to an unfiltered read's, from one dump whose other rows were dropped", () => {
    const w = makeWorld({ eth0: true });
    try {
      loadRoutes(w.pod, BIG, ["route add 100.64.0.16/28 via 192.0.2.1 dev eth0 metric 50", "route add 100.64.0.16/28 tos 0x10 via 192.0.2.1 dev eth0"]);
      const sock = NetlinkSocket.open(w.pod.path);
      try {
        for (const family of [AF_INET, AF_INET6]) {
          const whole = listRoutes(sock, family, { table: RT_TABLE_MAIN, allTypes: true });
          if (family === AF_INET) expect(whole.length).toBeGreaterThan(BIG);
          // Every 997th route's prefix (the default, the aliases of 100.64.0.16/28 among them) and
          // two prefixes the table does not have.
          const keys: RouteKey[] = whole.filter((_, i) => i % 997 === 0 || (family === AF_INET && shown(whole[i].dst) === "100.64.0.16/28"));
          keys.push({ ...keys[0], dst: net(family === AF_INET ? "10.250.0.0/24" : "2001:db8:ffff::/48") }, { ...keys[0], dst: net(family === AF_INET ? "100.64.0.16/29" : "::/1") });
          const of = (k: RouteKey) => whole.filter((r) => sameDst(r.dst, k.dst));
          const kept = new Set(keys.flatMap(of));
          const tables = new RouteTables(sock).expect(keys);
          const before = sock.dumps.length;
          expect(tables.at(family, RT_TABLE_MAIN, keys[0].dst)).toEqual(of(keys[0]));
          // The read's rows: the declared prefixes' routes; every other route was dropped unparsed.
          expect(codec.routes.count).toBe(kept.size);
          expect(codec.routes.dropped).toBe(whole.length - kept.size);
          for (const k of keys) expect(tables.at(family, RT_TABLE_MAIN, k.dst)).toEqual(of(k));
          expect(sock.dumps.slice(before).filter(routeDump)).toEqual([{ type: RTM_GETROUTE, family, table: RT_TABLE_MAIN, oif: 0 }]);
          if (family === AF_INET) expect(tables.at(family, RT_TABLE_MAIN, net("100.64.0.16/28")).length).toBe(3);
        }
      } finally {
        sock.close();
      }
    } finally {
      w.dispose();
    }
  }, 600_000);
});

describe("RouteTables follows its own writes", () => {
  let ns: Netns;
  let sock: NetlinkSocket;
  let fresh: NetlinkSocket;
  let eth0 = 0, eth1 = 0;
  beforeAll(() => {
    ns = createNetns();
    const ip = (...a: string[]) => sh(["ip", "-n", ns.name, ...a]);
    for (const [dev, peer, v4, v6] of [["eth0", "p0", "192.0.2.10/24", "2001:db8:1::10/64"], ["eth1", "p1", "198.51.100.10/24", "2001:db8:2::10/64"]]) {
      ip("link", "add", dev, "type", "veth", "peer", "name", peer);
      ip("addr", "add", v4, "dev", dev);
      ip("addr", "add", v6, "dev", dev, "nodad");
      ip("link", "set", dev, "up");
      ip("link", "set", peer, "up");
    }
    sock = NetlinkSocket.open(ns.path);
    fresh = NetlinkSocket.open(ns.path);
    eth0 = linkByName(sock, "eth0")!.index;
    eth1 = linkByName(sock, "eth1")!.index;
  });
  afterAll(() => {
    sock?.close();
    fresh?.close();
    ns?.delete();
  });

  /** What a dump says of a route, in a comparable form. */
  const norm = (r: KernelRoute) => ({
    table: r.table, dst: r.dst, priority: r.priority, tos: r.tos, scope: r.scope, type: r.type, protocol: r.protocol,
    prefsrc: r.prefsrc, mtu: r.mtu, advmss: r.advmss, foreign: r.foreign,
    nexthops: r.nexthops.map((nh) => ({ gateway: nh.gateway, ifindex: nh.ifindex, weight: nh.weight, onlink: (nh.flags ?? 0) & 4 })),
  });

  /**
   * The model's routes for `key`'s prefix equal a fresh read's: one RouteTables read (the codec's
   * route filter keeping that prefix) and one unfiltered read of the whole table.
   */
  function agrees(tables: RouteTables, key: RouteKey): void {
    const mine = tables.at(key.family, key.table, key.dst).map(norm);
    const theirs = new RouteTables(fresh).at(key.family, key.table, key.dst).map(norm);
    const whole = listRoutes(fresh, key.family, { table: key.table, allTypes: true }).filter((r) => sameDst(r.dst, key.dst)).map(norm);
    expect(mine).toEqual(whole);
    expect(theirs).toEqual(whole);
  }

  const v4 = (dst: string, priority = 0): RouteKey => ({ family: AF_INET, table: RT_TABLE_MAIN, dst: net(dst), priority, tos: 0, scope: 0 });
  const v6 = (dst: string, priority = 0): RouteKey => ({ family: AF_INET6, table: RT_TABLE_MAIN, dst: net(dst), priority, tos: 0, scope: 0 });
  const hop = (gateway: string | undefined, ifindex: number, weight = 1): Nexthop => ({ gateway: gateway === undefined ? undefined : ip(gateway), ifindex, weight });

  test("IPv4: create, join (REPLACE with the union), weights, leave, the whole route gone; one read of the table", () => {
    const key = v4("10.10.0.0/16");
    // Declared up front, as the commands do: the one read materialises both prefixes.
    const tables = new RouteTables(sock).expect([key, v4("10.11.0.0/16", 100)]);
    const before = sock.dumps.length;
    const a = hop("192.0.2.1", eth0), b = hop("198.51.100.1", eth1, 3), c = hop("192.0.2.2", eth0);
    joinNexthops(tables, { key, nexthops: [a], mtu: 1400 });
    agrees(tables, key);
    joinNexthops(tables, { key, nexthops: [b] });
    agrees(tables, key);
    joinNexthops(tables, { key, nexthops: [c] });
    agrees(tables, key);
    leaveNexthops(tables, key, [a]);
    agrees(tables, key);
    leaveNexthops(tables, key, [b, c]);
    agrees(tables, key);
    expect(tables.at(AF_INET, RT_TABLE_MAIN, net("10.10.0.0/16"))).toEqual([]);
    // Another prefix of the same table: still no second read.
    joinNexthops(tables, { key: v4("10.11.0.0/16", 100), nexthops: [b] });
    agrees(tables, v4("10.11.0.0/16", 100));
    expect(sock.dumps.slice(before).filter(routeDump).map((d) => `${d.family}/${d.table}`)).toEqual(["2/254"]);
    leaveNexthops(tables, v4("10.11.0.0/16", 100), [b]);
  });

  test("IPv4: a slot with two aliases (upstream's prepend): REPLACE takes the first, a rewrite of the second deletes and appends", () => {
    const tables = new RouteTables(sock);
    const before = sock.dumps.length;
    const key = v4("10.20.0.0/16");
    const a = hop("192.0.2.1", eth0), b = hop("198.51.100.1", eth1), c = hop("192.0.2.3", eth0);
    tables.write("prepend", key, [a]);
    tables.write("prepend", key, [b]);
    agrees(tables, key);
    // b is first now; joining c REPLACEs b's route with b + c.
    joinNexthops(tables, { key, nexthops: [c] });
    agrees(tables, key);
    // a's alias is second: leaving a deletes it whole; then b leaves the first one, c remains.
    tables.write("prepend", key, [hop("198.51.100.2", eth1)]);
    agrees(tables, key);
    leaveNexthops(tables, key, [a]);
    agrees(tables, key);
    leaveNexthops(tables, key, [b]);
    agrees(tables, key);
    for (const r of new RouteTables(fresh).slot(key)) tables.remove(r, r.nexthops);
    agrees(tables, key);
    // Every write was followed without reading the table again.
    expect(sock.dumps.slice(before).filter(routeDump).length).toBe(1);
  });

  test("IPv6: create, siblings added and removed (first, middle, last), a device route beside them", () => {
    const key = v6("2001:db8:50::/48");
    const dev = v6("2001:db8:51::/48", 7);
    const tables = new RouteTables(sock).expect([key, dev]);
    const before = sock.dumps.length;
    const reads = () => sock.dumps.slice(before).filter(routeDump).length;
    const a = hop("2001:db8:1::1", eth0), b = hop("2001:db8:2::1", eth1, 2), c = hop("2001:db8:1::2", eth0);
    joinNexthops(tables, { key, nexthops: [a] });
    agrees(tables, key);
    expect(reads()).toBe(1);
    // A sibling for a one-nexthop route: the kernel now reports the first one's weight, which a
    // dump of a single path never showed, so the prefix is read again when next looked at.
    joinNexthops(tables, { key, nexthops: [b] });
    agrees(tables, key);
    expect(reads()).toBe(2);
    joinNexthops(tables, { key, nexthops: [c] });
    agrees(tables, key);
    leaveNexthops(tables, key, [b]);
    agrees(tables, key);
    expect(reads()).toBe(2);
    // Removing the first sibling: the route's reported attributes become the next one's.
    leaveNexthops(tables, key, [a]);
    agrees(tables, key);
    expect(reads()).toBe(3);
    leaveNexthops(tables, key, [c]);
    agrees(tables, key);
    joinNexthops(tables, { key: dev, nexthops: [hop(undefined, eth0)] });
    agrees(tables, dev);
    leaveNexthops(tables, dev, [hop(undefined, eth0)]);
    agrees(tables, dev);
    expect(reads()).toBe(3);
  });

  test("routes of one prefix with other metrics (and tos) stand in the kernel's order", () => {
    const four = v4("10.12.0.0/16"), six = v6("2001:db8:52::/48");
    const tables = new RouteTables(sock).expect([four, six]);
    const before = sock.dumps.length;
    for (const m of [300, 100, 200, 100]) {
      const key4 = { ...four, priority: m, tos: m === 100 && tables.slot({ ...four, priority: 100 }).length ? 16 : 0 };
      joinNexthops(tables, { key: key4, nexthops: [hop("192.0.2.1", eth0)] });
      agrees(tables, four);
    }
    for (const m of [300, 100, 200]) {
      joinNexthops(tables, { key: { ...six, priority: m }, nexthops: [hop(undefined, eth1)] });
      agrees(tables, six);
    }
    expect(sock.dumps.slice(before).filter(routeDump).length).toBe(2);
    for (const r of new RouteTables(fresh).at(AF_INET, RT_TABLE_MAIN, four.dst)) tables.remove(r, r.nexthops);
    for (const r of new RouteTables(fresh).at(AF_INET6, RT_TABLE_MAIN, six.dst)) tables.remove(r, r.nexthops);
    agrees(tables, four);
    agrees(tables, six);
  });

  test("a prefix looked at without being declared: a second read of its table, then answered from it", () => {
    const tables = new RouteTables(sock).expect([v4("10.40.0.0/16")]);
    const before = sock.dumps.length;
    const reads = () => sock.dumps.slice(before).filter(routeDump).length;
    joinNexthops(tables, { key: v4("10.40.0.0/16"), nexthops: [hop("192.0.2.1", eth0)] });
    expect(reads()).toBe(1);
    agrees(tables, v4("10.41.0.0/16"));
    expect(reads()).toBe(2);
    agrees(tables, v4("10.40.0.0/16"));
    agrees(tables, v4("10.41.0.0/16"));
    expect(reads()).toBe(2);
    // KernelState: the whole table, every type (connected and the route just written included).
    const all = tables.routes(AF_INET, RT_TABLE_MAIN).map((r) => shown(r.dst));
    expect(all).toEqual(expect.arrayContaining(["10.40.0.0/16", "192.0.2.0/24", "198.51.100.0/24"]));
    expect(tables.routes(AF_INET, 255).some((r) => r.type === 2 /* RTN_LOCAL */)).toBe(true);
    leaveNexthops(tables, v4("10.40.0.0/16"), [hop("192.0.2.1", eth0)]);
    expect(tables.routes(AF_INET, RT_TABLE_MAIN).map((r) => shown(r.dst))).not.toContain("10.40.0.0/16");
  });

  test("an undo after other writes reads the kernel again; a failed write leaves the prefix to be re-read", () => {
    const tables = new RouteTables(sock);
    const log = new UndoLog();
    const key = v4("10.30.0.0/16");
    joinNexthops(tables, { key, nexthops: [hop("192.0.2.1", eth0)] }, log);
    // Someone else changes the route behind the read's back.
    sh(["ip", "-n", ns.name, "route", "replace", "10.30.0.0/16", "nexthop", "via", "192.0.2.1", "dev", "eth0", "nexthop", "via", "198.51.100.1", "dev", "eth1"]);
    expect(log.rollback()).toEqual([]);
    // The undo took out only its own nexthop, from the route as the kernel held it.
    expect(shown(new RouteTables(fresh).slot(key).map((r) => r.nexthops.map((nh) => nh.gateway)))).toEqual([["198.51.100.1"]]);
    // A write the kernel refuses (EEXIST): the prefix is read again on the next look.
    expect(() => tables.write("create", key, [hop("192.0.2.1", eth0)])).toThrow();
    agrees(tables, key);
    sh(["ip", "-n", ns.name, "route", "del", "10.30.0.0/16"]);
  });
});

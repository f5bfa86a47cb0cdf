// One test per defect of issue 7 that the sweep files do not already pin (bad-input.test.ts
// holds the error-message ones; kill/concurrency/hostile the others).
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { ipJson, sh } from "../lib/netns";
import { baseConfig } from "./cases";
import { call, disposePlugins, makeWorld, nexthopLinks, snapshot, type World } from "./lib";

const worlds: World[] = [];
afterEach(() => {
  for (const w of worlds.splice(0)) w.dispose();
});
afterAll(() => disposePlugins());
const world = (o: Parameters<typeof makeWorld>[0] = {}) => {
  const w = makeWorld(o);
  worlds.push(w);
  return w;
};

describe("defect 1: CNI_NETNS naming the plugin's own netns", () => {
  test("DEL does not delete the host's link of that name, and prints one error object", () => {
    const w = world();
    // What a misdirected ADD would have left in the host netns.
    sh(["ip", "-n", w.host.name, "link", "add", "net1", "link", "m0", "type", "macvlan"]);
    const before = snapshot(w.host);
    const r = call(w.host, { plugin: "macvlan", command: "DEL", config: baseConfig("macvlan"), netns: "/proc/self/ns/net" });
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ code: 8, msg: "plugin's netns and netns from CNI_NETNS should not be the same" });
    expect(snapshot(w.host)).toEqual(before);
  });

  test("ADD with the path of the netns the runtime runs in: nothing lands in the host", () => {
    const w = world();
    const before = snapshot(w.host);
    const r = call(w.host, { plugin: "macvlan", command: "ADD", config: baseConfig("macvlan"), netns: w.host.path });
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stdout).code).toBe(8);
    expect(snapshot(w.host)).toEqual(before);
  });
});

describe("defect 2: the temporary name is derived from the container id and CNI_IFNAME", () => {
  test("DEL removes a device an interrupted ADD left under it (and leaves other devices alone)", () => {
    const w = world();
    const { tmpName } = require("../../src/net/attach") as typeof import("../../src/net/attach");
    const tmp = tmpName("nh-orphan", "net1");
    expect(tmp).toMatch(/^nh[0-9a-f]{12}$/);
    // What an ADD killed between creation and rename leaves: the device, down, under `tmp`.
    sh(["ip", "-n", w.host.name, "link", "add", tmp, "link", "m0", "netns", w.pod.name, "type", "macvlan"]);
    sh(["ip", "-n", w.host.name, "link", "add", "nhother", "link", "m0", "netns", w.pod.name, "type", "macvlan"]);
    expect(nexthopLinks(w.pod, [])).toEqual([tmp]);
    const r = call(w.host, { plugin: "macvlan", command: "DEL", config: baseConfig("macvlan"), netns: w.pod.path, containerId: "nh-orphan" });
    expect(r.exitCode).toBe(0);
    expect(nexthopLinks(w.pod, [])).toEqual([]);
    expect((ipJson(["link", "show"], w.pod.name) as any[]).map((l) => l.ifname).sort()).toEqual(["lo", "nhother"]);
  });

  test("the next ADD replaces such a leftover instead of failing", () => {
    const w = world();
    const { tmpName } = require("../../src/net/attach") as typeof import("../../src/net/attach");
    sh(["ip", "-n", w.host.name, "link", "add", tmpName("nh-orphan", "net1"), "link", "m0", "netns", w.pod.name, "type", "macvlan"]);
    const r = call(w.host, { plugin: "macvlan", command: "ADD", config: baseConfig("macvlan"), netns: w.pod.path, containerId: "nh-orphan" });
    expect(r.exitCode).toBe(0);
    expect(nexthopLinks(w.pod, ["net1"])).toEqual(["net1"]);
  });
});

describe("defect 5: DAD is awaited whenever the interface gets IPv6 routes through a gateway", () => {
  const v6only = (routes: unknown[]) => baseConfig("macvlan", {}, { addresses: [{ address: "2001:db8:a::10/64" }], routes });
  const tentative = (w: World) =>
    (ipJson(["-6", "addr", "show", "dev", "net1"], w.pod.name) as any[]).flatMap((l) => l.addr_info).filter((a: any) => a.tentative || a.dadfailed);

  for (const [what, routes] of [
    ["a route's gw", [{ dst: "::/0", gw: "2001:db8:a::1" }]],
    ["a route's gws", [{ dst: "::/0", gws: ["2001:db8:a::1", "2001:db8:a::2"] }]],
  ] as const) {
    test(`gateway from ${what}: no address is tentative when ADD returns`, () => {
      const w = world({ dad: true });
      const r = call(w.host, { plugin: "macvlan", command: "ADD", config: v6only([...routes]), netns: w.pod.path });
      expect(r.exitCode).toBe(0);
      expect(tentative(w)).toEqual([]);
    });

    test(`gateway from ${what}: a duplicate address fails ADD (DADFAILED) and is rolled back`, () => {
      const w = world({ dad: true });
      sh(["ip", "-n", w.lan.name, "addr", "add", "2001:db8:a::10/64", "dev", "m0p", "nodad"]);
      const before = snapshot(w.pod);
      const r = call(w.host, { plugin: "macvlan", command: "ADD", config: v6only([...routes]), netns: w.pod.path });
      expect(r.exitCode).toBe(1);
      expect(JSON.parse(r.stdout).msg).toContain("DADFAILED");
      expect(snapshot(w.pod)).toEqual(before);
    });
  }
});

describe("defect 8: differences from upstream, aligned", () => {
  test("IPv4 addresses get the broadcast address upstream's netlink sets (below /31 only)", () => {
    const w = world();
    const cfg = baseConfig("macvlan", {}, { addresses: [{ address: "198.51.100.10/24" }, { address: "203.0.113.4/31" }, { address: "192.0.2.77/32" }], routes: [] });
    expect(call(w.host, { plugin: "macvlan", command: "ADD", config: cfg, netns: w.pod.path }).exitCode).toBe(0);
    const got = (ipJson(["-4", "addr", "show", "dev", "net1"], w.pod.name) as any[]).flatMap((l) => l.addr_info).map((a: any) => [a.local, a.broadcast ?? null]);
    expect(got).toEqual([["198.51.100.10", "198.51.100.255"], ["203.0.113.4", null], ["192.0.2.77", null]]);
  });

  test("a link-scope route without gw is installed as a direct route, not through the address's gateway", () => {
    const w = world();
    const cfg = baseConfig("macvlan", {}, { routes: [{ dst: "10.9.0.0/16", scope: 253 }, { dst: "0.0.0.0/0" }] });
    const r = call(w.host, { plugin: "macvlan", command: "ADD", config: cfg, netns: w.pod.path });
    expect(r.exitCode).toBe(0);
    const routes = (ipJson(["-4", "route", "show", "10.9.0.0/16"], w.pod.name) as any[]).map((x) => ({ dst: x.dst, gateway: x.gateway, dev: x.dev, scope: x.scope }));
    expect(routes).toEqual([{ dst: "10.9.0.0/16", gateway: undefined, dev: "net1", scope: "link" }]);
    // A universe-scope route without gw still gets the gateway, as upstream.
    expect((ipJson(["-4", "route", "show", "default"], w.pod.name) as any[])[0].gateway).toBe("198.51.100.1");
  });
});

describe("defect 3: the per-netns lock", () => {
  test("a second command waits, then gives up with code 11 naming the netns; release removes the file", () => {
    const w = world();
    const { lockNetns, lockPath } = require("../../src/net/lock") as typeof import("../../src/net/lock");
    const { existsSync } = require("node:fs") as typeof import("node:fs");
    const held = lockNetns(w.pod.path)!;
    expect(existsSync(lockPath(w.pod.path))).toBe(true);
    let err: any;
    try {
      lockNetns(w.pod.path, 50);
    } catch (e) {
      err = e;
    }
    expect({ code: err?.code, names: String(err?.message).includes(w.pod.path) }).toEqual({ code: 11, names: true });
    held.release();
    expect(existsSync(lockPath(w.pod.path))).toBe(false);
    const again = lockNetns(w.pod.path, 50)!;
    again.release();
  });

  test("a netns that is gone needs no lock (DEL of a deleted pod)", () => {
    const { lockNetns } = require("../../src/net/lock") as typeof import("../../src/net/lock");
    expect(lockNetns("/var/run/netns/nh-gone-for-good", 50)).toBeUndefined();
  });
});

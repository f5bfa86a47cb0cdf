// Smoke suite for the test VM: proves the harness runs `bun test` in the guest and that the guest
// kernel has what the vrf/ipvlan suites need. Needs the VM (test/run.sh boots it for every
// *.vm.test.ts); a plain `bun test` on the host skips it.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { cleanupNetns, createNetns, hasKernelFeature, ipJson, sh } from "../lib/netns.ts";

const inVm = existsSync("/run/vmtest");

interface IpLink {
  ifname: string;
  link?: string;
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown>; info_slave_kind?: string };
}

afterAll(cleanupNetns); // file level: in a skipped describe bun lists it as an "(unnamed)" test

describe.skipIf(!inVm)("test VM guest kernel", () => {
  test("has vrf, ipvlan and dummy", () => {
    expect({
      vrf: hasKernelFeature("vrf"),
      ipvlan: hasKernelFeature("ipvlan"),
      dummy: hasKernelFeature("dummy"),
    }).toEqual({ vrf: true, ipvlan: true, dummy: true });
  }, 30_000);

  test("creates dummy, vrf (table 1001) and ipvlan-on-dummy in a netns", () => {
    using ns = createNetns();
    expect(existsSync(ns.path)).toBe(true);
    const ip = (...args: string[]) => sh(["ip", "-n", ns.name, ...args]);
    ip("link", "add", "d0", "type", "dummy");
    ip("link", "add", "blue", "type", "vrf", "table", "1001");
    ip("link", "add", "iv0", "link", "d0", "type", "ipvlan", "mode", "l2");
    ip("link", "set", "iv0", "master", "blue");

    const links = ipJson(["-d", "link", "show"], ns.name) as IpLink[];
    const byName = new Map(links.map((l) => [l.ifname, l]));
    expect([...byName.keys()].sort()).toEqual(["blue", "d0", "iv0", "lo"]);
    expect(byName.get("d0")?.linkinfo?.info_kind).toBe("dummy");
    expect(byName.get("blue")?.linkinfo).toMatchObject({ info_kind: "vrf", info_data: { table: 1001 } });
    expect(byName.get("iv0")).toMatchObject({
      link: "d0",
      master: "blue",
      linkinfo: { info_kind: "ipvlan", info_data: { mode: "l2" }, info_slave_kind: "vrf" },
    });

    ns.delete();
    expect(existsSync(ns.path)).toBe(false);
  }, 30_000); // each `ip` exec takes ~75 ms under TCG
});

// vrf through dist/nexthop on this machine's kernel (no vrf module here: only what needs no VRF,
// the protocol side). The kernel side is vrf.vm.test.ts.
import { afterAll, describe, expect, test } from "bun:test";
import { pluginDir, runCni } from "../lib/cni";

const bin = pluginDir();
afterAll(() => bin.dispose());
const run = (command: string, config: object) => runCni({ dir: bin.dir, plugin: "vrf", command, config, netns: "/var/run/netns/nh-none", ifname: "net1" });

describe("vrf protocol", () => {
  test("VERSION: 0.3.1 to 1.1.0, as upstream's VersionsStartingFrom(\"0.3.1\")", () => {
    const r = run("VERSION", { cniVersion: "1.1.0" });
    expect([r.exitCode, r.json]).toEqual([0, { cniVersion: "1.1.0", supportedVersions: ["0.3.1", "0.4.0", "1.0.0", "1.1.0"] }]);
  });

  test("STATUS and GC succeed (upstream has neither)", () => {
    for (const cmd of ["STATUS", "GC"]) expect(run(cmd, { cniVersion: "1.1.0", name: "n", type: "vrf", vrfname: "blue" })).toMatchObject({ exitCode: 0, stdout: "" });
  });

  test("an empty vrfname is refused on every command, before the netns is looked at", () => {
    for (const cmd of ["ADD", "DEL", "CHECK"]) {
      const r = run(cmd, { cniVersion: "1.0.0", name: "n", type: "vrf", vrfName: "" });
      expect([cmd, r.exitCode, r.json?.code, r.json?.msg]).toEqual([cmd, 1, 7, `configuration is expected to have a valid vrf name (vrfname: "")`]);
    }
  });

  test("0.3.0 is refused with code 1", () => {
    expect(run("ADD", { cniVersion: "0.3.0", name: "n", type: "vrf", vrfname: "blue" }).json.code).toBe(1);
  });
});

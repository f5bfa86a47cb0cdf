// ipvlan's share of the bad-input sweep (issue 7), in the VM (the host kernel has no ipvlan):
// every ipvlan-specific case and a sample of the IPAM ones (all of which bad-input.test.ts runs
// through static and macvlan; the IPAM code path is shared), each asserting exit 1, one CNI error
// object, the expected code, field and value named, host and pod netns unchanged.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { hasKernelFeature } from "../lib/netns";
import { badCases } from "./cases";
import { disposePlugins, figure, makeWorld, runBadCase, type World } from "./lib";

// Under TCG one case costs seconds (a plugin run and the `ip` snapshots), so the VM runs the cases
// whose code differs from macvlan's (mode, master, mtu, the link it creates and rolls back) and a
// sample of the shared ones; bad-input.test.ts runs the whole table through macvlan on the host.
const PICK = [
  'mode "bogus"', 'mode "l4"', "mode 5", "mtu -1", "master nosuch0", "linkInContainer a string", "ipam type unknown",
  "route gw of another family", "gateway unreachable in the kernel", "CNI_NETNS /dev/null", "CNI_NETNS the plugin's own netns",
  "CNI_IFNAME already in the pod", "ipam route priority -1", "ipam gws duplicate", 'ipam address "10.1.0.5/33"',
];
const cases = badCases(["ipvlan"]).filter((k) => PICK.some((p) => k.name === `ipvlan: ${p}`));
const can = hasKernelFeature("ipvlan");
let w: World | undefined;
let misbehaving = 0;
beforeAll(() => {
  if (can) w = makeWorld({ eth0: true });
});
afterAll(() => {
  w?.dispose();
  disposePlugins();
  if (can) figure(`bad input (ipvlan, VM): ${cases.length} cases tried, ${misbehaving} misbehaving`);
});

describe.skipIf(!can)("bad input: ipvlan", () => {
  test.each(cases.map((k) => [k.name, k] as const))("%s", (_name, k) => {
    const wrong = runBadCase(w!, k);
    if (wrong.length) misbehaving++;
    expect(wrong).toEqual([]);
  });
});

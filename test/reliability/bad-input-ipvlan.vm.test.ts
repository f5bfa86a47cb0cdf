// ipvlan's share of the bad-input sweep (issue 7), in the VM (the host kernel has no ipvlan):
// every ipvlan-specific case and a sample of the IPAM ones (all of which bad-input.test.ts runs
// through static and macvlan; the IPAM code path is shared), each asserting exit 1, one CNI error
// object, the expected code, field and value named, host and pod netns unchanged.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { hasKernelFeature } from "../lib/netns";
import { badCases } from "./cases";
import { disposePlugins, figure, makeWorld, runBadCase, type World } from "./lib";

const all = badCases(["ipvlan"]);
const ipamCases = all.filter((k) => k.name.startsWith("ipvlan: ipam "));
const cases = [...all.filter((k) => !k.name.startsWith("ipvlan: ipam ")), ...ipamCases.filter((_, i) => i % 5 === 0)];
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

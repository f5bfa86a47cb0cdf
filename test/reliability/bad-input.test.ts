// The bad-input sweep (issue 7) for static, macvlan and the protocol, through dist/nexthop run
// from a throw-away host netns: exit 1, exactly one CNI error object with the expected code, a
// message naming the field and the value as written, and for ADD the pod and host netns
// identical before and after (links, addresses, every table's routes, both families).
// ipvlan's share runs in the VM (bad-input-ipvlan.vm.test.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { badCases } from "./cases";
import { disposePlugins, figure, makeWorld, runBadCase, type World } from "./lib";

const cases = badCases(["static", "macvlan"]);
let w: World;
let misbehaving = 0;
beforeAll(() => {
  w = makeWorld({ eth0: true });
});
afterAll(() => {
  w?.dispose();
  disposePlugins();
  figure(`bad input (static, macvlan, protocol): ${cases.length} cases tried, ${misbehaving} misbehaving`);
});

describe("bad input", () => {
  test("the table has the cases the sweep promises", () => {
    expect(cases.length).toBeGreaterThanOrEqual(130);
  });
  test.each(cases.map((k) => [k.name, k] as const))("%s", (_name, k) => {
    const wrong = runBadCase(w, k);
    if (wrong.length) misbehaving++;
    expect(wrong).toEqual([]);
  });
});

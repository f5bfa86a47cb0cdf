// Concurrency (issue 7, defect 3): ADDs and DELs of two interfaces of one pod whose routes share
// keys with eth0's defaults run at the same time, round after round; every nexthop must be
// accounted for after each step (before the per-netns lock, one of two ADDs failed with
// "File exists" and one of two DELs with "Nexthop has invalid gateway"). Then 50 ADDs into 50
// pods at once, and their DELs.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { lockPath } from "../../src/net/lock";
import { createNetns, ipJson, type Netns } from "../lib/netns";
import { baseConfig } from "./cases";
import { disposePlugins, figure, finish, makeWorld, nexthopLinks, snapshot, start, type World } from "./lib";

const ROUNDS = 20;
let w: World;
beforeAll(() => {
  w = makeWorld({ eth0: true });
});
afterAll(() => {
  w?.dispose();
  disposePlugins();
});

function conf(n: number) {
  return baseConfig("macvlan", {}, {
    addresses: [{ address: `192.0.2.${20 + n}/24`, gateway: "192.0.2.1" }, { address: `2001:db8:0:1::${20 + n}/64`, gateway: "2001:db8:0:1::1" }],
    routes: [{ dst: "0.0.0.0/0", gws: [`192.0.2.${2 + n}`] }, { dst: "::/0", gws: [`2001:db8:0:1::${2 + n}`] }],
  });
}

/** The default route's nexthops per family as sorted "gateway dev" strings. */
function defaults(ns: Netns): string[] {
  return ["-4", "-6"].flatMap((f) =>
    (ipJson([f, "route", "show", "default"], ns.name) as any[]).flatMap((r) =>
      r.nexthops ? r.nexthops.map((n: any) => `${f} ${n.gateway} ${n.dev}`) : [`${f} ${r.gateway} ${r.dev}`],
    ),
  ).sort();
}

async function both(command: string): Promise<string[]> {
  const ps = [1, 2].map((n) => start(w.host, { plugin: "macvlan", command, config: conf(n), netns: w.pod.path, ifname: `net${n}`, containerId: "nh-conc" }));
  const outs = await Promise.all(ps.map(finish));
  return outs.flatMap((o, i) => (o.exitCode === 0 ? [] : [`${command} net${i + 1}: exit ${o.exitCode}: ${o.stdout}`]));
}

test(`${ROUNDS} rounds of parallel ADD and DEL of net1 and net2 joining eth0's defaults`, async () => {
  const before = snapshot(w.pod);
  const only = defaults(w.pod);
  const joined = [...only, "-4 192.0.2.3 net1", "-4 192.0.2.4 net2", "-6 2001:db8:0:1::3 net1", "-6 2001:db8:0:1::4 net2"].sort();
  const wrong: string[] = [];
  let held = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const failed = [...(await both("ADD"))];
    const afterAdd = defaults(w.pod);
    if (JSON.stringify(afterAdd) !== JSON.stringify(joined)) failed.push(`after ADD: defaults ${afterAdd.join("; ")}`);
    failed.push(...(await both("DEL")));
    const afterDel = defaults(w.pod);
    if (JSON.stringify(afterDel) !== JSON.stringify(only)) failed.push(`after DEL: defaults ${afterDel.join("; ")}`);
    if (nexthopLinks(w.pod, ["net1", "net2"]).length) failed.push(`links left: ${nexthopLinks(w.pod, ["net1", "net2"])}`);
    if (failed.length) wrong.push(`round ${round}: ${failed.join(" | ")}`);
    else held++;
  }
  expect(snapshot(w.pod)).toEqual(before);
  expect(existsSync(lockPath(w.pod.path))).toBe(false);
  figure(`concurrency: ${held} of ${ROUNDS} rounds held (parallel ADD/DEL of 2 interfaces joining eth0's defaults)`);
  expect(wrong).toEqual([]);
}, 240_000);

test("50 parallel ADDs into 50 pods, then 50 parallel DELs", async () => {
  const pods: Netns[] = [];
  try {
    for (let i = 0; i < 50; i++) pods.push(createNetns());
    const cfg = (i: number) => baseConfig("macvlan", {}, { addresses: [{ address: `10.60.${i}.10/24`, gateway: `10.60.${i}.1` }], routes: [{ dst: "0.0.0.0/0" }] });
    const adds = await Promise.all(pods.map((p, i) => finish(start(w.host, { plugin: "macvlan", command: "ADD", config: cfg(i), netns: p.path, containerId: `nh-par-${i}` }))));
    const wrong = adds.flatMap((o, i) => (o.exitCode === 0 ? [] : [`ADD ${i}: ${o.stdout}`]));
    pods.forEach((p, i) => {
      const addrs = (ipJson(["-4", "addr", "show", "dev", "net1"], p.name) as any[]).flatMap((l) => l.addr_info.map((a: any) => `${a.local}/${a.prefixlen}`));
      if (JSON.stringify(addrs) !== JSON.stringify([`10.60.${i}.10/24`])) wrong.push(`pod ${i}: net1 has ${addrs.join(",")}`);
    });
    const dels = await Promise.all(pods.map((p, i) => finish(start(w.host, { plugin: "macvlan", command: "DEL", config: cfg(i), netns: p.path, containerId: `nh-par-${i}` }))));
    wrong.push(...dels.flatMap((o, i) => (o.exitCode === 0 ? [] : [`DEL ${i}: ${o.stdout}`])));
    pods.forEach((p, i) => {
      if (nexthopLinks(p, ["net1"]).length) wrong.push(`pod ${i}: left ${nexthopLinks(p, ["net1"])}`);
    });
    figure(`concurrency: 50 parallel ADDs into 50 pods: ${adds.filter((o) => o.exitCode === 0).length} succeeded, ${wrong.length} problems`);
    expect(wrong).toEqual([]);
  } finally {
    for (const p of pods) p.delete();
  }
}, 240_000);

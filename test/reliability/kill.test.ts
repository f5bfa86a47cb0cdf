// The kill sweep (issue 7, defect 2): SIGKILL the compiled dist/nexthop macvlan ADD at steps of
// 0.5 ms across its whole duration, then DEL twice; afterwards the pod holds nothing of nexthop's
// (no CNI_IFNAME, no temporary-named device, eth0's defaults exactly as before) and the host
// master is unchanged. Then the same for DEL: kill it midway, DEL again.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { lockPath } from "../../src/net/lock";
import { baseConfig } from "./cases";
import { runPlugin } from "../../src/cni/skel";
import { withNetns } from "../../src/netlink/netns";
import { ownPlugin } from "../../src/plugins/index";
import { call, disposePlugins, figure, makeWorld, nexthopLinks, plugins, snapshot, start, type World } from "./lib";

const STEP_MS = 0.5;
/** DEL is swept more coarsely: every step needs a full ADD first. */
const DEL_STEP_MS = 2;
let w: World;
let config: Record<string, unknown>;
beforeAll(() => {
  w = makeWorld({ eth0: true });
  // Joins eth0's defaults in both families: the case where a half-done ADD would hurt most.
  config = baseConfig("macvlan", {}, {
    addresses: [{ address: "192.0.2.20/24", gateway: "192.0.2.1" }, { address: "2001:db8:0:1::20/64", gateway: "2001:db8:0:1::1" }],
    routes: [{ dst: "0.0.0.0/0", gws: ["192.0.2.2"] }, { dst: "::/0", gws: ["2001:db8:0:1::2"] }, { dst: "10.50.0.0/16", gw: "192.0.2.3" }],
  });
});
afterAll(() => {
  w?.dispose();
  disposePlugins();
});

const c = (command: string) => ({ plugin: "macvlan", command, config, netns: w.pod.path, ifname: "net1", containerId: "nh-kill" });

function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** Starts `command`, kills it `at` ms after the spawn; whether it had already exited. */
async function killAt(command: string, at: number): Promise<boolean> {
  const p = start(w.host, c(command));
  spin(at);
  p.kill(9);
  await p.exited;
  return p.signalCode !== "SIGKILL";
}

/**
 * The same command in this process, from the host netns (the code the executable runs; a DEL
 * here costs a fraction of a process start, which keeps the sweep within its time budget).
 */
function inProcess(command: string): { exitCode: number; stdout: string } {
  const env = { CNI_COMMAND: command, CNI_CONTAINERID: "nh-kill", CNI_NETNS: w.pod.path, CNI_IFNAME: "net1", CNI_PATH: plugins() };
  return withNetns(w.host.path, () => runPlugin(ownPlugin("macvlan")!, env, JSON.stringify(config)));
}

/** The median wall time of `command` through the executable. */
function duration(command: string): number {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    if (command === "DEL") inProcess("ADD");
    const t = performance.now();
    const r = call(w.host, c(command));
    times.push(performance.now() - t);
    if (r.exitCode !== 0) throw new Error(`${command} failed: ${r.stdout}`);
    if (command === "ADD") inProcess("DEL");
  }
  return times.sort((a, b) => a - b)[2];
}

/** Steps past the end of the command once it finished before the kill this many times in a row. */
const DONE_IN_A_ROW = 6;

test("SIGKILL during ADD at every 0.5 ms step, then DEL twice: nothing of nexthop's is left", async () => {
  const pod0 = snapshot(w.pod);
  const host0 = snapshot(w.host);
  const span = duration("ADD") * 1.5;
  let kills = 0;
  let survived = 0;
  let steps = 0;
  let doneInARow = 0;
  let last = 0;
  const wrong: string[] = [];
  for (let at = 0; at <= span && doneInARow < DONE_IN_A_ROW; at += STEP_MS) {
    last = at;
    const exited = await killAt("ADD", at);
    doneInARow = exited ? doneInARow + 1 : 0;
    if (!exited) kills++;
    for (let i = 0; i < 2; i++) {
      const r = inProcess("DEL");
      if (r.exitCode !== 0) wrong.push(`${at} ms: DEL ${i + 1} failed: ${r.stdout}`);
    }
    const left = nexthopLinks(w.pod, ["net1"]);
    const pod = snapshot(w.pod);
    // The host side is compared every 10th step and at the end (each snapshot costs ~4 `ip` runs).
    const host = ++steps % 10 === 0 ? snapshot(w.host) : host0;
    if (left.length || JSON.stringify(pod) !== JSON.stringify(pod0) || JSON.stringify(host) !== JSON.stringify(host0)) {
      wrong.push(`${at.toFixed(1)} ms: left ${left.join(",") || "no link"}; pod ${JSON.stringify(pod) === JSON.stringify(pod0) ? "same" : JSON.stringify(pod)}; host ${JSON.stringify(host) === JSON.stringify(host0) ? "same" : "changed"}`);
    } else if (!exited) survived++;
  }
  expect(snapshot(w.host)).toEqual(host0);
  expect(existsSync(lockPath(w.pod.path))).toBe(false);
  figure(`kill sweep ADD: ${steps} steps of ${STEP_MS} ms from 0 to ${last.toFixed(1)} ms (ADD takes ~${(span / 1.5).toFixed(0)} ms here), ${kills} SIGKILLs mid-ADD, ${survived} survived (DEL twice left nothing), ${wrong.length} left something`);
  expect(wrong).toEqual([]);
  expect(kills).toBeGreaterThan(10);
}, 300_000);

test("SIGKILL during DEL at every 2 ms step, then DEL again: nothing of nexthop's is left", async () => {
  const pod0 = snapshot(w.pod);
  const host0 = snapshot(w.host);
  const span = duration("DEL") * 1.5;
  let kills = 0;
  let steps = 0;
  let doneInARow = 0;
  const wrong: string[] = [];
  for (let at = 0; at <= span && doneInARow < DONE_IN_A_ROW; at += DEL_STEP_MS) {
    steps++;
    const add = inProcess("ADD");
    if (add.exitCode !== 0) {
      wrong.push(`${at} ms: ADD failed: ${add.stdout}`);
      continue;
    }
    const exited = await killAt("DEL", at);
    doneInARow = exited ? doneInARow + 1 : 0;
    if (!exited) kills++;
    const r = inProcess("DEL");
    if (r.exitCode !== 0) wrong.push(`${at} ms: DEL after the kill failed: ${r.stdout}`);
    const pod = snapshot(w.pod);
    if (nexthopLinks(w.pod, ["net1"]).length || JSON.stringify(pod) !== JSON.stringify(pod0)) {
      wrong.push(`${at.toFixed(1)} ms: something left: ${JSON.stringify(pod)}`);
    }
  }
  expect(snapshot(w.host)).toEqual(host0);
  figure(`kill sweep DEL: ${steps} steps of ${DEL_STEP_MS} ms, ${kills} SIGKILLs mid-DEL, ${kills - wrong.length} survived (the next DEL left nothing), ${wrong.length} left something`);
  expect(wrong).toEqual([]);
}, 300_000);

// Endurance (issue 7): ADD/DEL cycles of macvlan+static on a pod whose eth0 defaults are joined
// each time, checking that links, addresses, routes (every table, both families), this process's
// open fds and nexthop's files do not grow. The plugin runs in this process (as skel runs it in
// the executable), from inside the throw-away host netns, so a leaked socket or netns fd shows in
// /proc/self/fd. `npm test` runs NH_SOAK_CYCLES=200 by default; `npm run soak` runs 10 000.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { runPlugin } from "../../src/cni/skel";
import { ownPlugin } from "../../src/plugins/index";
import { lockPath } from "../../src/net/lock";
import { withNetns } from "../../src/netlink/netns";
import { baseConfig } from "./cases";
import { disposePlugins, figure, makeWorld, plugins, snapshot, type World } from "./lib";

const CYCLES = Number(process.env.NH_SOAK_CYCLES ?? 200);
let w: World;
beforeAll(() => {
  w = makeWorld({ eth0: true });
});
afterAll(() => {
  w?.dispose();
  disposePlugins();
});

/** Open fds of this process (after a GC: the test's own `ip` pipes close when collected). */
const fds = () => {
  Bun.gc(true);
  return readdirSync("/proc/self/fd").length;
};

test(`${CYCLES} ADD/DEL cycles joining eth0's defaults leave nothing behind`, () => {
  const macvlan = ownPlugin("macvlan")!;
  const config = JSON.stringify(baseConfig("macvlan", {}, {
    addresses: [{ address: "192.0.2.30/24", gateway: "192.0.2.1" }, { address: "2001:db8:0:1::30/64", gateway: "2001:db8:0:1::1" }],
    routes: [{ dst: "0.0.0.0/0", gws: ["192.0.2.2", "192.0.2.3"] }, { dst: "::/0", gws: ["2001:db8:0:1::2"] }, { dst: "10.70.0.0/16", gw: "192.0.2.4", table: 100 }],
  }));
  const env = (cmd: string) => ({
    CNI_COMMAND: cmd, CNI_CONTAINERID: "nh-soak", CNI_NETNS: w.pod.path, CNI_IFNAME: "net1", CNI_PATH: plugins(),
  });
  const cycle = (i: number) =>
    withNetns(w.host.path, () => {
      for (const cmd of ["ADD", "DEL"]) {
        const out = runPlugin(macvlan, env(cmd), config);
        if (out.exitCode !== 0) throw new Error(`cycle ${i} ${cmd}: ${out.stdout}`);
      }
    });
  for (let i = 0; i < 5; i++) cycle(i); // lazy start-up (libc, wasm, schemas) out of the way
  const state0 = JSON.stringify(snapshot(w.pod));
  const host0 = JSON.stringify(snapshot(w.host));
  const fd0 = fds();
  let checked = 0;
  const wrong: string[] = [];
  const t0 = performance.now();
  for (let i = 0; i < CYCLES; i++) {
    cycle(i);
    if ((i + 1) % Math.max(1, Math.floor(CYCLES / 10)) === 0 || i === CYCLES - 1) {
      checked++;
      const open = fds();
      if (open !== fd0) wrong.push(`cycle ${i}: ${open} fds open, ${fd0} at the start`);
      if (JSON.stringify(snapshot(w.pod)) !== state0) wrong.push(`cycle ${i}: pod state changed`);
    }
  }
  const secs = (performance.now() - t0) / 1000;
  if (JSON.stringify(snapshot(w.host)) !== host0) wrong.push("host state changed");
  if (existsSync(lockPath(w.pod.path))) wrong.push("lock file left");
  figure(`endurance: ${CYCLES} ADD/DEL cycles in ${secs.toFixed(1)} s (${((secs * 1000) / CYCLES).toFixed(1)} ms/cycle), ${checked} checks, leaks: links/addresses/routes ${wrong.some((x) => x.includes("state")) ? "YES" : "0"}, fds ${fds() - fd0}, files ${existsSync(lockPath(w.pod.path)) ? 1 : 0}`);
  expect(wrong).toEqual([]);
}, 3_600_000);

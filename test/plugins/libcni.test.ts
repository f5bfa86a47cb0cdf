// The round trip through libcni itself (Debian's golang-github-appc-cni-dev, built in GOPATH
// mode, offline): a macvlan+static conflist ADD -> CHECK -> DEL, so CHECK sees the prevResult
// libcni actually cached, with whatever keys libcni drops on the way.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pluginDir, repo } from "../lib/cni";
import { createNetns, ipJson, linkNames, sh, type Netns } from "../lib/netns";

const libcniSource = "/usr/share/gocode/src/github.com/containernetworking/cni/libcni";
const haveGo = Bun.which("go") !== null && existsSync(libcniSource);
if (!haveGo) console.error("\n*** SKIPPED: libcni round trip needs golang-go and golang-github-appc-cni-dev (.ci/run installs them) ***\n");

let work: string;
let driver: string;
let bin: ReturnType<typeof pluginDir>;
const made: Netns[] = [];

beforeAll(() => {
  if (!haveGo) return;
  work = mkdtempSync(join(tmpdir(), "nh-libcni-"));
  driver = join(work, "libcni-driver");
  const r = Bun.spawnSync(["go", "build", "-o", driver, "."], {
    cwd: join(repo, "test/libcni"),
    env: { ...process.env, GO111MODULE: "off", GOPATH: "/usr/share/gocode", GOCACHE: join(work, "gocache"), HOME: work },
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`go build failed: ${r.stderr.toString()}`);
  bin = pluginDir();
});
afterAll(() => {
  bin?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});
afterEach(() => {
  for (const ns of made.splice(0)) ns.delete();
});

function drive(command: string, conflist: string, netns: string) {
  const r = Bun.spawnSync([driver, command, conflist, netns, "net1", join(work, "cache")], {
    env: { PATH: process.env.PATH ?? "", CNI_PATH: bin.dir },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe.skipIf(!haveGo)("libcni round trip", () => {
  test("macvlan+static ECMP conflist: ADD, CHECK on the cached prevResult, DEL", () => {
    const pod = createNetns();
    const lan = createNetns();
    made.push(pod, lan);
    sh(["ip", "netns", "exec", pod.name, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]);
    const parent = `nhl${lan.name.slice(-8)}`;
    sh(["ip", "link", "add", parent, "type", "veth", "peer", "name", "lan1", "netns", lan.name]);
    sh(["ip", "link", "set", parent, "up"]);
    const conflist = join(work, "net.conflist");
    writeFileSync(conflist, JSON.stringify({
      cniVersion: "1.0.0",
      name: "nh-libcni",
      plugins: [{
        type: "macvlan",
        master: parent,
        ipam: {
          type: "static",
          addresses: [{ address: "198.51.100.10/24", gateway: "198.51.100.1" }, { address: "2001:db8:a::10/64" }],
          routes: [
            { dst: "0.0.0.0/0", gws: ["198.51.100.1", { gw: "198.51.100.2", weight: 2 }] },
            { dst: "::/0", gws: ["2001:db8:a::1", "2001:db8:a::2"] },
          ],
        },
      }],
    }));

    const add = drive("add", conflist, pod.path);
    expect(add.stderr).toBe("");
    expect(add.exitCode).toBe(0);
    const cached = JSON.parse(add.stdout);
    // What libcni keeps: one standard entry per nexthop.
    expect(cached.routes).toEqual([
      { dst: "0.0.0.0/0", gw: "198.51.100.1" },
      { dst: "0.0.0.0/0", gw: "198.51.100.2" },
      { dst: "::/0", gw: "2001:db8:a::1" },
      { dst: "::/0", gw: "2001:db8:a::2" },
    ]);
    const v4 = ipJson(["-4", "route", "show", "default"], pod.name) as any[];
    expect(v4).toHaveLength(1);
    expect(v4[0].nexthops.map((n: any) => [n.gateway, n.weight])).toEqual([["198.51.100.1", 1], ["198.51.100.2", 2]]);

    const check = drive("check", conflist, pod.path);
    expect([check.exitCode, check.stderr]).toEqual([0, ""]);

    // CHECK reads the cached group back as the multipath route: a missing nexthop fails it.
    sh(["ip", "-n", pod.name, "-6", "route", "del", "default", "via", "2001:db8:a::2", "dev", "net1"]);
    const broken = drive("check", conflist, pod.path);
    expect(broken.exitCode).toBe(1);
    expect(broken.stderr).toContain("Expected Route ::/0");

    const del = drive("del", conflist, pod.path);
    expect([del.exitCode, del.stderr]).toEqual([0, ""]);
    expect(linkNames(pod.name)).toEqual(["lo"]);
  });
});

// The DaemonSet installer image (dist/release/nexthop-<version>-linux-x64.oci.tar, deploy/) run
// with Debian's podman the way the DaemonSet runs it: the node's directory mounted at /host.
// The plugins it installs there must work from there (VERSION, and a macvlan+static multipath
// ADD/DEL in real netns), a second run changes nothing, and a run without the host mount fails clearly.
//
// podman options that only this test machine needs: `--runtime runc` (crun refuses the hybrid
// cgroup v1/v2 layout here) and explicit --ulimit values (the machine has no CAP_SYS_RESOURCE,
// so the runtime may only lower limits, never set podman's defaults).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, defaultRoutes, linkNames, sh } from "../lib/netns";
import { imageArchive, requireArtifacts, run, version } from "./lib";

const PODMAN = ["podman", "run", "--rm", "--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=32768:32768", "--network", "none"];
let imageId = "";
let host = "";

beforeAll(() => {
  requireArtifacts();
  const load = run(["podman", "load", "--quiet", "--input", imageArchive], { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root" } });
  expect(load.exitCode).toBe(0);
  // "Loaded image: localhost/nexthop:<version>" (podman 4 prints the name it was committed with)
  const name = load.stdout.trim().split("\n").at(-1)!.replace(/^Loaded image(\(s\))?: /, "");
  expect(name).toBe(`localhost/nexthop:${version}`);
  imageId = run(["podman", "image", "inspect", "--format", "{{.Id}}", name]).stdout.trim();
  expect(imageId).toMatch(/^[0-9a-f]{64}$/);
  host = mkdtempSync(join(tmpdir(), "nh-image-"));
});

afterAll(() => {
  if (imageId) run(["podman", "rmi", "--force", imageId]);
  if (host) rmSync(host, { recursive: true, force: true });
});

const podman = (...args: string[]) => run([...PODMAN, ...args, imageId]);

describe("installer image", () => {
  test("the image holds only /nexthop, the loader and libc, with the install entrypoint", () => {
    const cfg = JSON.parse(run(["podman", "image", "inspect", imageId]).stdout)[0];
    expect(cfg.Config.Entrypoint).toEqual(["/nexthop", "install", "--dir", "/host/opt/cni/bin"]);
    expect(cfg.Architecture).toBe("amd64");
    expect(cfg.RootFS.Layers.length).toBe(1);
    const mnt = run(["podman", "image", "mount", imageId]);
    expect(mnt.exitCode).toBe(0);
    try {
      const root = mnt.stdout.trim();
      const files: string[] = [];
      const walk = (rel: string) => {
        for (const e of readdirSync(join(root, rel))) {
          const p = `${rel}/${e}`;
          if (statSync(join(root, p)).isDirectory()) walk(p);
          else files.push(p);
        }
      };
      walk("");
      expect(files.sort()).toContain("/nexthop");
      expect(files.filter((f) => f !== "/nexthop").every((f) => /\/(ld-linux[^/]*|lib[a-z]+)\.so(\.\d+)*$/.test(f))).toBe(true);
      expect(files.some((f) => /\/(sh|bash|busybox)$/.test(f))).toBe(false);
    } finally {
      run(["podman", "image", "unmount", imageId]);
    }
  });

  test("run with the host dir mounted: the plugins appear there and work from there; a second run changes nothing", () => {
    const bin = join(host, "opt/cni/bin");
    mkdirSync(bin, { recursive: true });
    const first = podman("-v", `${host}:/host`);
    expect([first.exitCode, first.stderr]).toEqual([0, ""]);
    expect(first.stdout).toBe([
      "installed /host/opt/cni/bin/nexthop",
      ...["static", "macvlan", "ipvlan", "vrf"].map((n) => `linked /host/opt/cni/bin/${n} -> nexthop`),
    ].join("\n") + "\n");
    expect(readdirSync(bin).sort()).toEqual(["ipvlan", "macvlan", "nexthop", "static", "vrf"]);
    expect(readlinkSync(join(bin, "static"))).toBe("nexthop");
    const ino = statSync(join(bin, "nexthop")).ino;

    const ver = run([join(bin, "static")], { env: { CNI_COMMAND: "VERSION" }, stdin: '{"cniVersion":"1.1.0"}' });
    expect(ver.exitCode).toBe(0);
    expect(JSON.parse(ver.stdout).supportedVersions).toContain("1.1.0");
    // macvlan + static from the installed dir, in real netns
    using pod = createNetns();
    using lan = createNetns();
    const parent = `nhm${lan.name.slice(-8)}`;
    sh(["ip", "link", "add", parent, "type", "veth", "peer", "name", "lan1", "netns", lan.name]);
    sh(["ip", "link", "set", parent, "up"]);
    const conf = JSON.stringify({
      cniVersion: "1.1.0", name: "nh-image", type: "macvlan", master: parent,
      ipam: { type: "static", addresses: [{ address: "198.51.100.10/24" }], routes: [{ dst: "0.0.0.0/0", gws: ["198.51.100.1", "198.51.100.2"] }] },
    });
    const env = (cmd: string) => ({ CNI_COMMAND: cmd, CNI_CONTAINERID: "nh-image", CNI_NETNS: pod.path, CNI_IFNAME: "net1", CNI_PATH: bin });
    const add = run([join(bin, "macvlan")], { env: env("ADD"), stdin: conf });
    expect([add.exitCode, add.stderr]).toEqual([0, ""]);
    expect(defaultRoutes(pod.name, "-4")).toEqual([{ nexthops: [
      { gateway: "198.51.100.1", dev: "net1", weight: 1 },
      { gateway: "198.51.100.2", dev: "net1", weight: 1 },
    ] }]);
    expect(run([join(bin, "macvlan")], { env: env("DEL"), stdin: conf }).exitCode).toBe(0);
    expect(linkNames(pod.name)).toEqual(["lo"]);

    const again = podman("-v", `${host}:/host`);
    expect(again.exitCode).toBe(0);
    expect(again.stdout.trim().split("\n").every((l) => l.startsWith("unchanged /host/opt/cni/bin/"))).toBe(true);
    expect(statSync(join(bin, "nexthop")).ino).toBe(ino);
  });

  test("run without the host mount: a clear message, exit 1", () => {
    const r = podman();
    expect(r).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: "nexthop install: /host/opt/cni/bin does not exist: create it, or mount the node's CNI plugin directory there\n",
    });
  });
});
